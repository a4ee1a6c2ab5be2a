from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant, operator
from catalog.errors import ValidationFailed
from catalog.lifecycle import transition
from catalog.result_import import import_results
from catalog.results import Result

OPERATOR = operator("test")
HOLDER = Actor("holder", "u-holder", (Grant("result_holder", "河南省农业科学院"),), channel="import")
PARTNER = Actor("partner", "u-partner", (Grant("result_holder", "中国农业大学"),), channel="import")

HEADER = ["成果名称", "成果简介", "完成单位", "项目编号", "技术领域", "服务产业类型", "技术成熟度", "登记号",
          "适宜区域", "电子邮箱", "关键指标"]
GOOD = ["耐密高产玉米新品种郑单1002", "适宜黄淮海夏播区", "河南省农业科学院；中国农业大学", "2018YFD0100100",
        "TF01", "IT0103", 7, "REG-001", "河南省；130100", "a@example.cn", "增产：8.5%（区域试验）"]


def xlsx(rows: list[list[Any]], sheet: str = "成果") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_text(rows: list[list[Any]]) -> str:
    return "\r\n".join(",".join(str(c) for c in row) for row in rows) + "\r\n"


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Result)) or 0


def row(**changes: Any) -> list[Any]:
    values = dict(zip(HEADER, GOOD, strict=True))
    values.update(changes)
    return [values[h] for h in HEADER]


BAD_FILE = [
    HEADER,
    row(),                                                             # 2: good
    row(成果名称="B", 登记号="REG-003", 技术成熟度=12, 技术领域="TF99"),     # 3: two bad fields
    row(成果名称="", 登记号="REG-004"),                                   # 4: no name
    row(成果名称="D", 登记号="REG-005", 适宜区域="鼓楼区"),                 # 5: ambiguous region
    row(成果名称="E", 登记号="REG-006", 电子邮箱="not-an-email"),          # 6: bad e-mail
]


def test_import__file_with_bad_rows__imports_nothing_and_reports_each_bad_row_and_field(session: Session) -> None:
    before = count(session)
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, xlsx(BAD_FILE), "成果.xlsx", actor=OPERATOR)
    found = {(e.row, e.field, e.code) for e in exc.value.errors}
    assert found == {
        (3, "trl", "out_of_range"), (3, "tech_fields", "unknown_code"), (4, "name", "required"),
        (5, "suitable_regions", "ambiguous_division"), (6, "contact_email", "invalid"),
    }
    assert all(e.zh and e.en for e in exc.value.errors)
    assert "技术成熟度" in next(e.zh for e in exc.value.errors if e.field == "trl")
    assert "320106" in next(e.zh for e in exc.value.errors if e.code == "ambiguous_division")
    assert exc.value.context["bad_rows"] == 4
    session.flush()
    assert count(session) == before


def test_import__good_only__imports_only_the_good_rows(session: Session) -> None:
    report = import_results(session, xlsx(BAD_FILE), "成果.xlsx", actor=OPERATOR, good_only=True)
    assert (report.created, report.skipped) == (1, 4)
    assert sorted({e.row for e in report.errors}) == [3, 4, 5, 6]
    assert count(session) == 1
    assert session.scalar(select(Result.name)) == GOOD[0]


def test_import__good_only_with_no_good_row__is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed):
        import_results(session, xlsx([HEADER, row(技术成熟度=0)]), "a.xlsx", actor=OPERATOR, good_only=True)
    assert count(session) == 0


def test_import__names_and_codes__resolve_through_code_lists_and_divisions(session: Session) -> None:
    header = ["成果名称", "技术领域", "服务产业类型", "作物", "成果形式", "成果所处阶段", "技术成熟度", "适宜区域",
              "来源", "所属省份", "转化方式", "关键指标", "专利"]
    data = ["盐碱地水稻插秧机", "种业与生物育种；tf03", "蔬菜、食用菌与花卉、IT0103", "玉米", "装备", "成熟应用", "7级",
            "河北省、南京市鼓楼区、130100", "地方", "河北", "许可；合作实施",
            "增产：8.5%（区域试验）；节本：120元/亩", "ZL201810123456.7"]
    report = import_results(session, xlsx([header, data]), "a.xlsx", actor=OPERATOR)
    assert report.created == 1
    r = session.scalars(select(Result)).one()
    assert r.codes_of("tech_field") == ["TF01", "TF03"]
    assert r.codes_of("industry_type") == ["IT04", "IT0103"]
    assert r.codes_of("crop") == ["maize"]
    assert (r.form, r.stage, r.trl, r.source, r.source_province) == ("equipment", "mature", 7, "local", "130000")
    assert sorted(r.region_codes) == ["130000", "130100", "320106"]
    assert r.codes_of("transfer_mode") == ["licence", "cooperation"]
    assert r.key_figures == [
        {"name": "增产", "value": 8.5, "unit": "%", "evidence": "区域试验"},
        {"name": "节本", "value": 120.0, "unit": "元/亩", "evidence": None},
    ]
    assert r.ip == {"patents": ["ZL201810123456.7"]}


def test_import__same_file_twice__creates_no_duplicates(session: Session) -> None:
    content = xlsx([HEADER, row(), row(成果名称="第二个成果", 登记号="", 项目编号="2019YFD0200200")])
    first = import_results(session, content, "a.xlsx", actor=OPERATOR)
    session.flush()
    assert (first.created, count(session)) == (2, 2)
    again = import_results(session, content, "a.xlsx", actor=OPERATOR)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert count(session) == 2


def test_import__changed_row__updates_the_editable_record_and_leaves_the_locked_one(session: Session) -> None:
    import_results(session, xlsx([HEADER, row(), row(成果名称="已审核成果", 登记号="REG-002")]), "a.xlsx",
                   actor=OPERATOR)
    locked = session.scalars(select(Result).where(Result.registration_no == "REG-002")).one()
    locked.codes  # noqa: B018  (loaded before the lifecycle check reads them)
    transition(session, locked, "submit", "t")
    transition(session, locked, "approve", "t")
    editable = session.scalars(select(Result).where(Result.registration_no == "REG-001")).one()
    version = editable.version

    changed = xlsx([HEADER, row(成果简介="新的简介"), row(成果名称="已审核成果", 登记号="REG-002", 成果简介="改了")])
    report = import_results(session, changed, "a.xlsx", actor=OPERATOR)
    assert (report.created, report.updated, report.locked) == (0, 1, 1)
    assert [o.status for o in report.outcomes] == ["updated", "locked"]
    assert editable.summary == "新的简介" and editable.version == version + 1
    assert locked.summary == "适宜黄淮海夏播区" and locked.state == "reviewed"
    assert count(session) == 2


def test_import__no_registration_number__keys_on_project_number_and_name(session: Session) -> None:
    import_results(session, xlsx([HEADER, row(登记号="")]), "a.xlsx", actor=OPERATOR)
    report = import_results(session, xlsx([HEADER, row(登记号="", 技术成熟度=8)]), "a.xlsx", actor=OPERATOR)
    assert report.updated == 1 and count(session) == 1
    # The registration number filled in later belongs to the same record.
    report = import_results(session, xlsx([HEADER, row(登记号="REG-9")]), "a.xlsx", actor=OPERATOR)
    assert report.updated == 1 and count(session) == 1
    assert session.scalar(select(Result.registration_no)) == "REG-9"


def test_import__two_rows_for_one_result__are_reported(session: Session) -> None:
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, xlsx([HEADER, row(), row(成果简介="另一行")]), "a.xlsx", actor=OPERATOR)
    assert [(e.row, e.code) for e in exc.value.errors] == [(3, "duplicate_row")]


def test_import__gb18030_csv__imports_and_says_which_encoding(session: Session) -> None:
    content = csv_text([HEADER, row(完成单位="河南省农业科学院", 适宜区域="河南省", 关键指标="")]).encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # the file really is not UTF-8
    report = import_results(session, content, "成果.csv", actor=OPERATOR)
    assert (report.created, report.encoding, report.format) == (1, "gb18030", "csv")
    r = session.scalars(select(Result)).one()
    assert (r.name, r.institutions, r.region_codes) == (GOOD[0], ["河南省农业科学院"], ["410000"])


def test_import__utf8_csv_with_bom_and_quoted_fields__imports(session: Session) -> None:
    text = csv_text([HEADER]) + '"玉米,新品种","简介有""引号""",河南省农业科学院,P1,TF01,IT0103,7,,,,\r\n'
    report = import_results(session, b"\xef\xbb\xbf" + text.encode("utf-8"), "a.csv", actor=OPERATOR)
    assert (report.created, report.encoding) == (1, "utf-8-sig")
    assert session.scalars(select(Result)).one().summary == '简介有"引号"'


def test_import__dry_run__reports_and_writes_nothing(session: Session) -> None:
    report = import_results(session, xlsx([HEADER, row()]), "a.xlsx", actor=OPERATOR, dry_run=True)
    assert report.created == 1 and report.dry_run
    assert count(session) == 0


def test_import__unknown_column__is_ignored_with_a_warning(session: Session) -> None:
    report = import_results(session, xlsx([[*HEADER, "备注"], [*row(), "随便写"]]), "a.xlsx", actor=OPERATOR)
    assert report.created == 1
    assert [(w.field, w.code) for w in report.warnings] == [("备注", "ignored_column")]


@pytest.mark.parametrize(("content", "name", "code"), [
    (b"this is not a workbook", "成果.xlsx", "not_xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "成果.xlsx", "not_xlsx"),
    (xlsx([HEADER, row()]), "成果.csv", "not_csv"),
    (b"name\r\nx\r\n", "成果.txt", "unsupported_format"),
    (b"name\r\nx\r\n", "成果.xls", "unsupported_format"),
    (xlsx([["成果简介"], ["x"]]), "a.xlsx", "missing_column"),
    (xlsx([HEADER]), "a.xlsx", "empty"),
    (b"\x00\x01\x02binary", "a.csv", "not_csv"),
    ("成果名称,技术领域\r\n甲,TF01\r\n".encode("utf-16-le"), "a.csv", "not_csv"),
], ids=["text-named-xlsx", "xls-named-xlsx", "xlsx-named-csv", "txt", "xls", "no-name-column", "empty",
        "binary-csv", "utf16-without-bom"])
def test_import__file_that_cannot_be_read__is_refused_with_a_clear_code(session: Session, content: bytes, name: str,
                                                                      code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, content, name, actor=OPERATOR)
    assert code in [e.code for e in exc.value.errors]
    assert count(session) == 0


def test_import__more_rows_than_the_cap__is_refused(session: Session) -> None:
    content = xlsx([HEADER, row(), row(成果名称="2", 登记号="R2"), row(成果名称="3", 登记号="R3")])
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, content, "a.xlsx", actor=OPERATOR, max_rows=2)
    assert exc.value.errors[0].code == "too_many_rows"
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, content, "a.xlsx", actor=OPERATOR, max_bytes=100)
    assert exc.value.errors[0].code == "file_too_large"
    assert count(session) == 0


# ------------------------------------------------------------------------------------------------ access


def test_import__holder__creates_its_own_and_refuses_another_institutions_row(session: Session) -> None:
    # GOOD's first institution is 河南省农业科学院; 中国农业大学 is only its second.
    other = row(成果名称="别家的成果", 登记号="REG-010", 完成单位="中国农业大学；河南省农业科学院")
    content = xlsx([HEADER, row(), other])
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, content, "a.xlsx", actor=HOLDER)
    assert [(e.row, e.field, e.code) for e in exc.value.errors] == [(3, "institutions", "forbidden")]
    assert count(session) == 0
    report = import_results(session, content, "a.xlsx", actor=HOLDER, good_only=True)
    assert (report.created, report.skipped) == (1, 1)
    assert session.scalars(select(Result)).one().lead_institution == "河南省农业科学院"


def test_import__second_institution__may_not_change_the_lead_institutions_result(session: Session) -> None:
    import_results(session, xlsx([HEADER, row()]), "a.xlsx", actor=OPERATOR)
    session.flush()
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, xlsx([HEADER, row(成果简介="改了")]), "a.xlsx", actor=PARTNER)
    assert [(e.row, e.code) for e in exc.value.errors] == [(2, "forbidden")]
    assert session.scalars(select(Result)).one().summary == "适宜黄淮海夏播区"
    # The holder itself updates it.
    assert import_results(session, xlsx([HEADER, row(成果简介="改了")]), "a.xlsx", actor=HOLDER).updated == 1


def test_import__holder__may_not_hand_its_result_to_another_institution(session: Session) -> None:
    import_results(session, xlsx([HEADER, row()]), "a.xlsx", actor=HOLDER)
    session.flush()
    with pytest.raises(ValidationFailed) as exc:
        import_results(session, xlsx([HEADER, row(完成单位="中国农业大学")]), "a.xlsx", actor=HOLDER)
    assert [(e.row, e.code) for e in exc.value.errors] == [(2, "forbidden")]
    assert session.scalars(select(Result)).one().lead_institution == "河南省农业科学院"
