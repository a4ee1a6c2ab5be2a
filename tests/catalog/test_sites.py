"""Site lists as shipped, and completing a county list from an official CSV or XLSX file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from catalog.county_names import CountyNames, short_forms
from catalog.divisions import Division
from catalog.errors import ValidationFailed
from catalog.site_import import import_sites
from catalog.sites import Site, SiteDivision, SiteList, list_counts, load_sites


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["国家乡村振兴重点帮扶县名单"])  # a title line above the header, as official files have
    ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def site_ids(session, list_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(session.scalars(select(Site.id).where(Site.list_id == list_id)))


# --------------------------------------------------------------------------------------------------- shipped


def test_site_lists__known_and_expected_counts(session):
    lists = {sl.id: sl for sl in session.scalars(select(SiteList))}
    counts = list_counts(session)
    assert {k: (lists[k].expected_count, counts[k][0]) for k in lists} == {
        "NASTP": (None, 305), "IC1": (52, 28), "IC2": (92, 62), "KC": (160, 94),
    }
    assert not any(sl.complete for sl in lists.values())
    assert all("Missing" in (sl.source or "") or "missing" in (sl.source or "") for sl in lists.values())


def test_parks__cancelled_and_failed__kept_inactive(session):
    inactive = session.scalars(select(Site).where(Site.kind == "park", Site.active.is_(False))).all()
    assert sorted({s.status for s in inactive}) == ["cancelled", "failed_acceptance"]
    assert len(inactive) == 8 and list_counts(session)["NASTP"] == (305, 297)
    assert session.get(Site, "NASTP057").status == "cancelled"  # 宁夏银川, 2021


def test_park__named_after_prefecture__linked_to_the_prefecture(session):
    links = session.scalars(select(SiteDivision.division_code).where(SiteDivision.site_id == "NASTP001")).all()
    assert links == ["330400"]  # 浙江嘉兴 → 嘉兴市
    assert session.get(Division, "330400").level == "prefecture"


def test_park__without_place_code__kept_without_link(session):
    park = session.get(Site, "NASTP009")  # 重庆渝北: 渝北区 no longer exists
    assert park is not None and park.place_code is None and park.active
    assert session.scalar(select(func.count()).select_from(SiteDivision).where(SiteDivision.site_id == "NASTP009")) == 0


def test_county_sites__linked_to_their_county(session):
    site = session.get(Site, "KC-150422")  # 巴林左旗
    assert (site.kind, site.province_code, site.place_code) == ("key_county", "150000", "150422")
    assert session.get(Site, "IC1-320583").status == "accepted"  # 昆山市 passed the 2022 acceptance


def test_load_sites__run_again__no_duplicates(session):
    before = session.scalar(select(func.count()).select_from(Site))
    links = session.scalar(select(func.count()).select_from(SiteDivision))
    load_sites(session)
    assert session.scalar(select(func.count()).select_from(Site)) == before
    assert session.scalar(select(func.count()).select_from(SiteDivision)) == links


# --------------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(("province", "name", "prefecture", "codes", "how"), [
    ("北京市", "朝阳区", None, ("110105",), "name"),
    ("辽宁", "朝阳县", None, ("211321",), "name"),
    ("江苏", "鼓楼区", None, ("320106", "320302"), "name"),  # 南京 and 徐州
    ("江苏省", "鼓楼区", "徐州市", ("320302",), "name"),
    ("江苏", "鼓楼区", "徐州", ("320302",), "name"),
    ("广西壮族自治区", "横县", None, ("450181",), "former_name"),  # 横州市 since 2021
    ("福建", "沙县", None, ("350405",), "former_name"),  # 沙县区 since 2021
    ("重庆", "渝北区", None, ("500157",), "former_name"),
    ("江苏", "昆山", None, ("320583",), "short_name"),
    ("辽宁", "阜新县", None, ("210921",), "short_name"),  # 阜新蒙古族自治县
    ("湖南", "湖南省临澧(县)", None, ("430724",), "name"),
    ("江苏", "苏州市 昆山市", None, ("320583",), "name"),
    ("广东", "东莞", None, ("441900",), "short_name"),
    ("江苏", "不存在县", None, (), None),
])
def test_county_names__match_within_province(session, province, name, prefecture, codes, how):
    names = CountyNames(session)
    match = names.match(names.province(province), name, prefecture)
    assert (match.codes, match.how) == (codes, how)


def test_short_forms__keep_two_characters_at_least():
    assert short_forms("阜新蒙古族自治县") == {"阜新", "阜新县"}
    assert short_forms("沙县区") == {"沙县"}
    assert short_forms("城区") == set()


# --------------------------------------------------------------------------------------------------- import

HEADER = ["省份", "地市", "县名", "批次"]
GOOD = [
    ["江苏省", "苏州市", "昆山市", "1"],  # already on IC1
    ["浙江", "", "嘉善", "1"],  # short form of 嘉善县
    ["广西", "", "横县", "1"],  # former name of 横州市
    ["江苏", "徐州市", "鼓楼区", "1"],  # ambiguous in 江苏, decided by the prefecture
]
BAD = [
    ["江苏", "", "鼓楼区", "1"],  # ambiguous: 南京 and 徐州
    ["江苏", "", "不存在县", "1"],
    ["火星", "", "某县", "1"],
    ["湖南", "", "", "1"],
]


def test_import__bad_rows__every_one_reported_and_nothing_imported(session, tmp_path):
    before = site_ids(session, "IC1")
    path = write_csv(tmp_path / "ic1.csv", HEADER, GOOD + BAD)
    with pytest.raises(ValidationFailed) as exc:
        import_sites(session, path, "IC1")
    got = [(e.row, e.field, e.code) for e in exc.value.errors]
    assert got == [(6, "name", "ambiguous"), (7, "name", "unmatched"), (8, "province", "unknown_province"),
                   (9, "name", "required")]
    assert all(e.zh and e.en for e in exc.value.errors)
    assert "320106" in exc.value.errors[0].en and "徐州市" in exc.value.errors[0].zh
    assert site_ids(session, "IC1") == before


def test_import__good_only__imports_the_good_rows(session, tmp_path):
    path = write_csv(tmp_path / "ic1.csv", HEADER, GOOD + BAD)
    report = import_sites(session, path, "IC1", good_only=True)
    assert len(report.errors) == 4
    assert [(r.code, r.how, r.action) for r in report.imported] == [
        ("320583", "name", "unchanged"), ("330421", "short_name", "created"),
        ("450181", "former_name", "created"), ("320302", "name", "created"),
    ]
    assert {"IC1-330421", "IC1-450181", "IC1-320302"} <= site_ids(session, "IC1")
    assert report.list_count == 31 and not report.list_complete
    assert session.get(SiteDivision, ("IC1-450181", "450181")) is not None


def test_import__same_file_twice__no_duplicates(session, tmp_path):
    path = write_csv(tmp_path / "ic1.csv", HEADER, GOOD + [GOOD[1]])
    first = import_sites(session, path, "IC1")
    assert [r.action for r in first.imported] == ["unchanged", "created", "created", "created", "duplicate"]
    after_first = site_ids(session, "IC1")
    second = import_sites(session, path, "IC1")
    assert [r.action for r in second.imported] == ["unchanged"] * 4 + ["duplicate"]
    assert site_ids(session, "IC1") == after_first and len(after_first) == 31


def test_import__xlsx_with_title_and_english_headers(session, tmp_path):
    path = write_xlsx(tmp_path / "kc.xlsx", ["province", "prefecture", "name"], [
        ["甘肃省", "定西市", "岷县"], ["甘肃省", None, "东乡族自治县"], ["青海", "果洛藏族自治州", "玛多"],
    ])
    report = import_sites(session, path, "KC")
    assert [(r.row, r.code) for r in report.imported] == [(4, "621126"), (5, "622926"), (6, "632626")]
    assert report.list_count == 97
    assert session.get(Site, "KC-632626").name == "玛多县"


def test_import__list_reaches_expected_count__becomes_complete(session, tmp_path):
    have = {s.place_code for s in session.scalars(select(Site).where(Site.list_id == "IC1"))}
    counties = session.scalars(
        select(Division).where(Division.province_code == "370000", Division.county_equivalent.is_(True),
                               Division.valid_to.is_(None)).order_by(Division.code)
    ).all()
    names = CountyNames(session)
    rows = [["山东省", c.name, "1"] for c in counties
            if c.code not in have and len(names.match("370000", c.name).codes) == 1][:24]
    report = import_sites(session, write_csv(tmp_path / "more.csv", ["省份", "县名", "批次"], rows), "IC1")
    assert report.list_count == 52 and report.list_complete
    assert session.get(SiteList, "IC1").complete


def test_import__gb18030_csv_from_excel(session, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", ["省份", "县名"], [["甘肃省", "岷县"]], encoding="gb18030")
    assert [r.code for r in import_sites(session, path, "KC").imported] == ["621126"]


def test_import__missing_name_column__refused(session, tmp_path):
    path = write_csv(tmp_path / "x.csv", ["省份", "备注"], [["甘肃省", "岷县"]])
    with pytest.raises(ValidationFailed) as exc:
        import_sites(session, path, "KC")
    assert [(e.field, e.code) for e in exc.value.errors] == [("name", "missing_column")]


def test_import__into_park_list__refused(session, tmp_path):
    path = write_csv(tmp_path / "x.csv", ["省份", "县名"], [["甘肃省", "岷县"]])
    with pytest.raises(ValidationFailed) as exc:
        import_sites(session, path, "NASTP")
    assert exc.value.errors[0].code == "not_a_county_list"
