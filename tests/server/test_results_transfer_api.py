from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.audit import act_as
from catalog.lifecycle import transition
from catalog.results import Result
from server.cli import main

HEADER = ["成果名称", "技术领域", "服务产业类型", "技术成熟度", "登记号", "适宜区域", "完成单位", "成果简介"]
# The holder account of the tests (tests/conftest.py) is 河南农业大学: the first 完成单位 of every row here.
OWN = ["河南农业大学", "示范效果好"]


def xlsx(rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "成果"
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = xlsx([HEADER, ["耐密高产玉米新品种", "TF01", "IT0103", 7, "R-1", "河南省", *OWN],
             ["高蛋白大豆新品种", "种业与生物育种", "IT0104", 8, "R-2", "黑龙江省", *OWN]])
BAD = xlsx([HEADER, ["耐密高产玉米新品种", "TF01", "IT0103", 7, "R-1", "河南省", *OWN],
            ["高蛋白大豆新品种", "TF99", "IT0104", 10, "R-2", "黑龙江省", *OWN]])


def upload(client: Any, content: bytes, name: str, **form: str) -> Any:
    return client.post("/api/results/import", data={"file": (io.BytesIO(content), name), **form},
                       content_type="multipart/form-data")


def total(client: Any) -> int:
    return int(client.get("/api/results").get_json()["total"])


def assert_error_shape(body: dict[str, Any], status: int) -> dict[str, Any]:
    err = body["error"]
    assert err["status"] == status and err["code"]
    assert err["message"]["zh"] and err["message"]["en"]
    return err


def test_import_api__good_file__creates_and_reports(as_role: Any) -> None:
    holder = as_role("result_holder")
    r = upload(holder, GOOD, "成果.xlsx")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["created"], body["rows"], body["format"]) == (2, 2, "xlsx")
    assert [o["status"] for o in body["outcomes"]] == ["created", "created"]
    assert total(holder) == 2
    again = upload(holder, GOOD, "成果.xlsx").get_json()
    assert (again["created"], again["unchanged"]) == (0, 2) and total(holder) == 2


def test_import_api__bad_rows__422_with_each_row_and_nothing_imported(as_role: Any) -> None:
    holder = as_role("result_holder")
    r = upload(holder, BAD, "成果.xlsx")
    assert r.status_code == 422
    err = assert_error_shape(r.get_json(), 422)
    assert err["code"] == "validation_failed"
    assert sorted((e["row"], e["field"]) for e in err["errors"]) == [(3, "tech_fields"), (3, "trl")]
    assert all(e["zh"] and e["en"] for e in err["errors"])
    assert err["details"]["bad_rows"] == 1
    assert total(holder) == 0


def test_import_api__good_only__imports_the_good_rows(as_role: Any) -> None:
    holder = as_role("result_holder")
    r = upload(holder, BAD, "成果.xlsx", good_only="true")
    assert r.status_code == 200
    body = r.get_json()
    assert (body["created"], body["skipped"]) == (1, 1)
    assert {e["row"] for e in body["errors"]} == {3}
    assert total(holder) == 1


def test_import_api__dry_run__saves_nothing(as_role: Any) -> None:
    holder = as_role("result_holder")
    r = upload(holder, GOOD, "成果.xlsx", dry_run="1")
    assert r.status_code == 200 and r.get_json()["created"] == 2
    assert total(holder) == 0


@pytest.mark.parametrize(("content", "name", "code"), [
    (b"<html>not a workbook</html>", "成果.xlsx", "not_xlsx"),
    (GOOD, "成果.pdf", "unsupported_format"),
    (b"", "成果.csv", "empty"),
], ids=["html-named-xlsx", "pdf", "empty"])
def test_import_api__file_not_what_it_claims__422_with_the_error_shape(as_role: Any, content: bytes, name: str,
                                                                       code: str) -> None:
    r = upload(as_role("result_holder"), content, name)
    assert r.status_code == 422
    err = assert_error_shape(r.get_json(), 422)
    assert [e["code"] for e in err["errors"]] == [code]
    assert err["errors"][0]["field"] == "file"


def test_import_api__no_file__422(as_role: Any) -> None:
    r = as_role("result_holder").post("/api/results/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert "file" in [e["field"] for e in assert_error_shape(r.get_json(), 422)["errors"]]


def test_import_api__too_large__422(app: Any, as_role: Any) -> None:
    app.config["IMPORT_MAX_BYTES"] = 1000
    r = upload(as_role("result_holder"), GOOD, "成果.xlsx")
    assert r.status_code == 422
    assert assert_error_shape(r.get_json(), 422)["errors"][0]["code"] == "file_too_large"


def test_export_csv_api__list_parameters__bom_chinese_and_rfc5987_name(app: Any, as_role: Any) -> None:
    holder = as_role("result_holder")  # the drafts are the holder's own: it reads them
    upload(holder, GOOD, "成果.xlsx")
    r = holder.get("/api/results/export.csv?tech_field=TF01&crop=&sort=name&q=大豆")
    assert r.status_code == 200
    r.get_data()
    assert app.extensions["yx_engine"].pool.checkedout() == 0  # the stream's session is closed once sent
    assert r.mimetype == "text/csv"
    disposition = r.headers["Content-Disposition"]
    assert 'filename="results_' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("成果清单_")
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.data[3:].decode("utf-8"), newline="")))
    assert [(row["成果名称"], row["技术成熟度"]) for row in rows] == [("高蛋白大豆新品种", "8")]


def test_export_xlsx_api__workbook_with_group_sheets(as_role: Any) -> None:
    holder = as_role("result_holder")
    upload(holder, GOOD, "成果.xlsx")
    r = holder.get("/api/results/export.xlsx?sort=name")
    assert r.status_code == 200
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert "适宜区域" in wb.sheetnames
    main_sheet = wb["成果"]
    header = [c.value for c in main_sheet[1]]
    trl = [row[header.index("技术成熟度")] for row in main_sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(trl) == [7, 8]


def test_template_api__xlsx_and_csv(client: Any) -> None:
    r = client.get("/api/results/template.xlsx")
    assert r.status_code == 200
    assert "填写说明" in openpyxl.load_workbook(io.BytesIO(r.data)).sheetnames
    assert unquote(r.headers["Content-Disposition"].split("UTF-8''")[1]) == "成果导入模板.xlsx"
    r = client.get("/api/results/template.csv")
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf\xe6\x88\x90\xe6\x9e\x9c")  # BOM + 成果


# --------------------------------------------------------------------------------------------------- access


def publish(app: Any, name: str) -> None:
    """Take the result called ``name`` through review to published, as the test operator."""
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        result = s.scalars(select(Result).where(Result.name == name)).one()
        for step in ("submit", "approve", "publish"):
            transition(s, result, step, "test")


def test_import_api__holder_row_of_another_institution__forbidden_per_row_and_nothing_imported(
        as_role: Any) -> None:
    other = xlsx([HEADER, ["耐密高产玉米新品种", "TF01", "IT0103", 7, "R-1", "河南省", *OWN],
                  ["高蛋白大豆新品种", "TF01", "IT0104", 8, "R-2", "黑龙江省", "中国农业大学；河南农业大学", "简介"]])
    holder = as_role("result_holder")
    r = upload(holder, other, "成果.xlsx")
    assert r.status_code == 422
    err = assert_error_shape(r.get_json(), 422)
    assert [(e["row"], e["field"], e["code"]) for e in err["errors"]] == [(3, "institutions", "forbidden")]
    assert all(e["zh"] and e["en"] for e in err["errors"])
    assert total(holder) == 0 and total(as_role("other_holder")) == 0 and total(as_role("ministry_officer")) == 0
    # Only the good rows: the holder's own row is imported, the other institution's row still is not.
    body = upload(holder, other, "成果.xlsx", good_only="true").get_json()
    assert (body["created"], body["skipped"]) == (1, 1)
    assert [e["code"] for e in body["errors"]] == ["forbidden"]
    assert total(holder) == 1 and total(as_role("other_holder")) == 0


def test_import_api__anonymous__401_and_nothing_imported(client: Any, as_role: Any) -> None:
    r = upload(client, GOOD, "成果.xlsx")
    assert r.status_code == 401
    assert assert_error_shape(r.get_json(), 401)["code"] == "unauthorized"
    assert total(as_role("result_holder")) == 0


def test_export_api__anonymous__only_published_results(app: Any, client: Any, as_role: Any) -> None:
    upload(as_role("result_holder"), GOOD, "成果.xlsx")
    publish(app, "高蛋白大豆新品种")
    r = client.get("/api/results/export.csv?sort=name")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.data[3:].decode("utf-8"), newline="")))
    assert [row["成果名称"] for row in rows] == ["高蛋白大豆新品种"]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/api/results/export.xlsx?sort=name").data))["成果"]
    col = [c.value for c in sheet[1]].index("成果名称")
    assert [row[col] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["高蛋白大豆新品种"]
    # Asking for the drafts by name finds none of them either.
    r = client.get("/api/results/export.csv?state=draft")
    assert r.status_code == 200 and "耐密高产玉米新品种" not in r.data.decode("utf-8-sig")
    # The holder's export still has both.
    r = as_role("result_holder").get("/api/results/export.csv?sort=name")
    assert len(list(csv.DictReader(io.StringIO(r.data[3:].decode("utf-8"), newline="")))) == 2


# ------------------------------------------------------------------------------------------------------ CLI


def test_cli_import__bad_rows__exits_non_zero_and_imports_nothing(app: Any, as_role: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(BAD)
    result = app.test_cli_runner().invoke(main, ["results", "import", str(path)])
    assert result.exit_code == 1
    assert "TF99" in result.output and "3" in result.output
    assert total(as_role("result_holder")) == 0


def test_cli_import__good_only_then_again__reports_counts(app: Any, as_role: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(BAD)
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["results", "import", str(path), "--good-only"])
    assert result.exit_code == 0, result.output
    assert "created=1 updated=0 unchanged=0 locked=0 skipped=1 errors=2" in result.output
    result = runner.invoke(main, ["results", "import", str(path), "--good-only", "--dry-run"])
    assert "created=0 updated=0 unchanged=1" in result.output
    assert total(as_role("result_holder")) == 1


def test_cli_export_and_template__write_files(app: Any, as_role: Any, tmp_path: Path) -> None:
    upload(as_role("result_holder"), GOOD, "成果.xlsx")
    runner = app.test_cli_runner()
    out = tmp_path / "清单.csv"
    result = runner.invoke(main, ["results", "export", str(out), "--tech-field", "TF01", "--q", "玉米"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_bytes()[3:].decode("utf-8"))))
    assert [r["成果名称"] for r in rows] == ["耐密高产玉米新品种"]
    out = tmp_path / "清单.xlsx"
    assert runner.invoke(main, ["results", "export", str(out), "--state", "draft"]).exit_code == 0
    assert openpyxl.load_workbook(out)["成果"].max_row == 3
    template = tmp_path / "模板.xlsx"
    assert runner.invoke(main, ["results", "template", str(template)]).exit_code == 0
    assert "代码-技术领域" in openpyxl.load_workbook(template).sheetnames
    assert runner.invoke(main, ["results", "export", str(tmp_path / "x.pdf")]).exit_code != 0
