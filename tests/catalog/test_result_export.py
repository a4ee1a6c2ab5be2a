from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import SYSTEM
from catalog.errors import ValidationFailed
from catalog.lifecycle import transition
from catalog.result_export import (
    csv_export,
    export_ids,
    template_csv,
    template_headers,
    write_template_xlsx,
    write_xlsx,
)
from catalog.result_import import import_results
from catalog.result_io import content_disposition
from catalog.results import Result
from catalog.search import SearchQuery
from tests.catalog.factories import make_result


@pytest.fixture
def results(session: Session) -> list[Result]:
    maize = make_result(
        session, "耐密高产玉米新品种郑单1002", trl=7, form="variety", crops=["maize"], registration_no="REG-1",
        institutions=["河南省农业科学院", "中国农业大学"], suitable_regions=["410000", "320106"],
        key_figures=[{"name": "增产", "value": 8.5, "unit": "%", "evidence": "区域试验"}],
        ip={"patents": ["ZL201810123456.7"], "approvals": ["国审玉20200001"]},
        summary='适宜黄淮海夏播区，耐密"抗倒"\n机收', tech_fields=["TF01", "TF03"])
    soy = make_result(session, "高蛋白大豆新品种中黄301", trl=8, crops=["soybean"], industry_types=["IT0104"],
                      contact_name="=HYPERLINK(\"http://x\")")
    transition(session, soy, "submit", "t")
    session.flush()
    return [maize, soy]


def export_csv(session: Session, query: SearchQuery) -> bytes:
    return b"".join(csv_export(session, export_ids(session, query), query.actor))


def test_csv_export__opens_in_excel__bom_crlf_chinese_numbers_and_quoting(session: Session,
                                                                         results: list[Result]) -> None:
    raw = export_csv(session, SearchQuery(actor=SYSTEM, sort="name"))
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "").replace('\n机收', "")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["成果名称"] for r in rows] == ["耐密高产玉米新品种郑单1002", "高蛋白大豆新品种中黄301"]
    maize = rows[0]
    assert maize["技术成熟度"] == "7"
    assert maize["技术领域"] == "TF01；TF03" and maize["技术领域（名称）"] == "种业与生物育种；作物栽培与丰产增效"
    assert maize["成果简介"] == '适宜黄淮海夏播区，耐密"抗倒"\n机收'
    assert maize["适宜区域（名称）"] == "河南省；鼓楼区"
    assert maize["关键指标"] == "增产：8.5%（区域试验）"
    assert maize["状态"] == "草稿" and rows[1]["状态"] == "已提交"
    assert rows[1]["联系人"].startswith("'=")  # a formula in the data is shown, never run
    assert maize["创建时间"] == (results[0].created_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
                              .strftime("%Y-%m-%d %H:%M:%S"))


def test_csv_export__takes_the_list_filters(session: Session, results: list[Result]) -> None:
    rows = list(csv.DictReader(io.StringIO(
        export_csv(session, SearchQuery(actor=SYSTEM, filters={"state": ["submitted"]}))[3:].decode("utf-8"))))
    assert [r["成果名称"] for r in rows] == ["高蛋白大豆新品种中黄301"]
    out = export_csv(session, SearchQuery(actor=SYSTEM, q="玉米"))
    rows = list(csv.DictReader(io.StringIO(out[3:].decode("utf-8"))))
    assert [r["成果名称"] for r in rows] == ["耐密高产玉米新品种郑单1002"]


def test_xlsx_export__real_numbers_datetimes_and_one_sheet_per_repeated_group(session: Session,
                                                                              results: list[Result]) -> None:
    buf = io.BytesIO()
    assert write_xlsx(session, export_ids(session, SearchQuery(actor=SYSTEM, sort="name")), buf, SYSTEM) == 2
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert wb.sheetnames[:5] == ["成果", "完成单位", "适宜区域", "关键指标", "知识产权"]
    main = wb["成果"]
    header = [c.value for c in main[1]]
    row = dict(zip(header, [c.value for c in main[2]], strict=True))
    assert row["技术成熟度"] == 7 and isinstance(row["技术成熟度"], int)
    created = results[0].created_at
    created = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
    assert isinstance(row["创建时间"], dt.datetime)
    assert abs(row["创建时间"] - (created + dt.timedelta(hours=8)).replace(tzinfo=None)) < dt.timedelta(seconds=1)
    assert row["成果形式（名称）"] == "品种"

    rid = results[0].id
    assert [(r[0], r[2], r[3]) for r in wb["完成单位"].iter_rows(min_row=2, values_only=True)] == [
        (rid, 1, "河南省农业科学院"), (rid, 2, "中国农业大学"), (results[1].id, 1, "中国农业科学院作物科学研究所")]
    assert sorted((r[2], r[3], r[5]) for r in wb["适宜区域"].iter_rows(min_row=2, values_only=True)) == [
        ("320106", "鼓楼区", "江苏省"), ("410000", "河南省", "河南省")]
    figure = next(wb["关键指标"].iter_rows(min_row=2, values_only=True))
    assert figure[3:] == ("增产", 8.5, "%", "区域试验") and isinstance(figure[4], float)
    assert sorted(r[2:] for r in wb["知识产权"].iter_rows(min_row=2, values_only=True)) == [
        ("专利", "ZL201810123456.7"), ("审定登记号", "国审玉20200001")]
    soy = dict(zip(header, [c.value for c in main[3]], strict=True))
    assert soy["联系人"].startswith("'=")
    assert main.cell(row=3, column=header.index("联系人") + 1).data_type == "s"


def test_xlsx_export__imports_back_unchanged(session: Session, results: list[Result]) -> None:
    buf = io.BytesIO()
    write_xlsx(session, export_ids(session, SearchQuery(actor=SYSTEM, filters={"state": ["draft"]})), buf,
               SYSTEM)
    before = session.scalar(select(func.count()).select_from(Result))
    report = import_results(session, buf.getvalue(), "成果清单.xlsx", actor=SYSTEM)
    assert (report.unchanged, report.created, report.updated, report.warnings) == (1, 0, 0, [])
    assert session.scalar(select(func.count()).select_from(Result)) == before


def test_export__more_results_than_the_cap__is_refused(session: Session, results: list[Result]) -> None:
    with pytest.raises(ValidationFailed) as exc:
        export_ids(session, SearchQuery(actor=SYSTEM), max_rows=1)
    assert exc.value.errors[0].code == "too_many_rows"


def test_template__filled_in_with_openpyxl__imports(session: Session) -> None:
    buf = io.BytesIO()
    write_template_xlsx(session, buf)
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert {"成果", "填写说明", "代码-技术领域", "代码-成果形式", "代码-行政区划"} <= set(wb.sheetnames)
    assert [c.value for c in wb["成果"][1]] == template_headers()
    assert wb["成果"].max_row == 1  # no example row to be imported by mistake
    codes = [r[0] for r in wb["代码-技术领域"].iter_rows(min_row=2, values_only=True)]
    assert "TF01" in codes and "TF0201" in codes
    help_rows = {r[0]: r for r in wb["填写说明"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert help_rows["成果名称"][2] == "必填" and help_rows["技术领域"][5] == "见“代码-技术领域”"

    ws = wb["成果"]
    col = {c.value: c.column for c in ws[1]}
    for header, value in {"成果名称": "模板导入的成果", "技术领域": "种业与生物育种", "技术成熟度": 6,
                          "成果形式": "品种", "适宜区域": "河北省", "登记号": "T-1"}.items():
        ws.cell(row=2, column=col[header], value=value)
    filled = io.BytesIO()
    wb.save(filled)
    report = import_results(session, filled.getvalue(), "成果导入模板.xlsx", actor=SYSTEM)
    assert report.created == 1
    r = session.scalars(select(Result).where(Result.registration_no == "T-1")).one()
    assert (r.name, r.trl, r.form, r.region_codes, r.codes_of("tech_field")) == (
        "模板导入的成果", 6, "variety", ["130000"], ["TF01"])


def test_template_csv__is_the_header_row_with_a_bom() -> None:
    raw = template_csv()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\r\n")
    assert raw[3:].decode("utf-8").strip().split(",") == template_headers()


def test_content_disposition__chinese_name_per_rfc5987_with_ascii_fallback() -> None:
    value = content_disposition("成果清单_20250101-0900.xlsx", "results_20250101-0900.xlsx")
    assert value == ('attachment; filename="results_20250101-0900.xlsx"; '
                     "filename*=UTF-8''%E6%88%90%E6%9E%9C%E6%B8%85%E5%8D%95_20250101-0900.xlsx")
