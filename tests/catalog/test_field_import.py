"""The county ledger (台账) import: plots and yields from one sheet, every bad row reported, all or nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import SYSTEM, Actor, Grant
from catalog.errors import ValidationFailed
from catalog.field import DemoPlot, YieldMeasurement
from catalog.field_import import import_ledger

HEADERS = ["县代码", "地块名称", "季别", "作物", "品种", "边界", "面积（亩）", "对照田", "测产方法", "测产日期",
           "收获面积（亩）", "鲜重（kg）", "含水率（%）", "杂质率（%）", "对照产量（kg/亩）", "对照类型"]


def box(dx: float = 0.0) -> str:
    return shapely.box(113.99 + dx, 34.70, 113.995 + dx, 34.703).wkt


GOOD = [
    ["410122", "张庄1号", "2026夏粮", "小麦", "郑麦379", box(), None, None, "实收", "2026-06-05", 3.1, 2260, 13.8,
     0.1, 650, "对照品种"],
    ["410122", "张庄1号", "2026夏粮", None, None, None, None, None, "实收", "2026-06-06", 5.75, 3392, 11.5, 2.0,
     None, None],
    ["410122", "张庄对照", "2026-summer_grain", "wheat", "周麦18", box(0.01), None, None, "实收", "2026-06-05", 1,
     600, 13, 0, None, None],
    ["410122", "李庄示范", "2026夏粮", "小麦", "百农207", None, 35, "张庄对照", "实收", "2026-06-05", 1, 700, 13, 0,
     None, "对照田"],
]


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append(headers)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _counts(session: Session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(DemoPlot)) or 0,
            session.scalar(select(func.count()).select_from(YieldMeasurement)) or 0)


def test_ledger__plots_and_yields_imported_with_published_formula(session: Session) -> None:
    report = import_ledger(session, xlsx(GOOD), "台账.xlsx", actor=SYSTEM)
    assert (report.count("plot", "created"), report.count("yield", "created")) == (3, 4)
    assert _counts(session) == (3, 4)
    zhang = session.scalar(select(DemoPlot).where(DemoPlot.name == "张庄1号"))
    assert zhang is not None and zhang.season == "2026-summer_grain" and zhang.crop == "wheat"
    values = sorted(session.scalars(select(YieldMeasurement.yield_kg_per_mu)
                                    .where(YieldMeasurement.plot_id == zhang.id)))
    assert values == [588.08, 721.61]
    li = session.scalar(select(DemoPlot).where(DemoPlot.name == "李庄示范"))
    control = session.scalar(select(DemoPlot).where(DemoPlot.name == "张庄对照"))
    assert li is not None and control is not None and li.control_plot_id == control.id
    assert li.area_m2 == pytest.approx(35 * 10000 / 15)  # no boundary: the ledger's area
    li_yield = session.scalar(select(YieldMeasurement).where(YieldMeasurement.plot_id == li.id))
    assert li_yield is not None and li_yield.baseline_type == "control_plot"
    assert li_yield.baseline_kg_per_mu == 600.0 and li_yield.gain_pct == round((700 - 600) / 600 * 100, 2)


def test_ledger__reimport_creates_no_copies(session: Session) -> None:
    import_ledger(session, xlsx(GOOD), "台账.xlsx", actor=SYSTEM)
    again = import_ledger(session, xlsx(GOOD), "台账.xlsx", actor=SYSTEM)
    assert again.count("plot", "created") == 0 and again.count("yield", "created") == 0
    assert again.count("yield", "unchanged") == 4
    assert _counts(session) == (3, 4)


BAD = [
    ["410122", "坏1", "2026夏粮", "小麦", None, None, 10, None, "实收", "2026-06-05", 3.1, 2260, 113.8, 0.1, None,
     None],
    ["410122", "坏2", "2026夏粮", "榴莲", None, None, 10, None, None, None, None, None, None, None, None, None],
    ["410122", "坏3", "2026冬季", "小麦", None, "POINT (1 2)", None, None, None, None, None, None, None, None, None,
     None],
    ["410122", "坏4", "2026夏粮", "小麦", None, None, 10, "不存在", "实收", "2026-06-05", 0, 100, 13, 0, None, None],
]


def test_ledger__every_bad_row_and_field_reported_nothing_written(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        import_ledger(session, xlsx(GOOD + BAD), "台账.xlsx", actor=SYSTEM)
    found = {(e.row, e.code) for e in info.value.errors}
    assert {(6, "out_of_range"), (7, "unknown_code"), (8, "invalid"), (8, "invalid_boundary"),
            (9, "not_found"), (9, "out_of_range")} <= found, found
    assert all(e.zh and e.en and e.row for e in info.value.errors)
    moisture = next(e for e in info.value.errors if e.row == 6)
    assert "1.138" in moisture.zh or "含水率" in moisture.zh
    assert _counts(session) == (0, 0)


def test_ledger__good_only_imports_the_good_rows(session: Session) -> None:
    report = import_ledger(session, xlsx(GOOD + BAD), "台账.xlsx", actor=SYSTEM, good_only=True)
    assert _counts(session) == (3, 4)
    assert report.errors and {o.row for o in report.outcomes if o.status == "skipped"} == {6, 7, 8, 9}


def test_ledger__dry_run_writes_nothing(session: Session) -> None:
    report = import_ledger(session, xlsx(GOOD), "台账.xlsx", actor=SYSTEM, dry_run=True)
    assert report.count("plot", "created") == 3
    assert _counts(session) == (0, 0)


def test_ledger__county_option_and_scope(session: Session) -> None:
    headers = HEADERS[1:]
    rows = [r[1:] for r in GOOD[:1]]
    officer = Actor("officer", "u1", (Grant("county_officer", "410122"),), "import")
    report = import_ledger(session, xlsx(rows, headers), "l.xlsx", actor=officer, county="410122")
    assert report.count("plot", "created") == 1
    other = Actor("other", "u2", (Grant("county_officer", "410102"),), "import")
    with pytest.raises(ValidationFailed) as info:
        import_ledger(session, xlsx([["另一块", *r[1:]] for r in rows], headers), "l.xlsx", actor=other,
                      county="410122")
    assert info.value.errors[0].code == "forbidden"


def test_ledger__missing_required_column(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        import_ledger(session, xlsx([["410122", "x"]], ["县代码", "地块名称"]), "l.xlsx", actor=SYSTEM)
    assert {e.field for e in info.value.errors} == {"season", "crop"}


def test_cli__field_import(db_url: str, tmp_path: Path) -> None:
    from server import create_app
    from server.cli import main

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "t"})
    path = tmp_path / "台账.xlsx"
    path.write_bytes(xlsx(GOOD + BAD))
    result = app.test_cli_runner().invoke(main, ["field", "import", str(path)])
    assert result.exit_code == 1 and "未导入任何数据" in result.output
    result = app.test_cli_runner().invoke(main, ["field", "import", str(path), "--good-only"])
    assert result.exit_code == 0, result.output
    assert "plot_created=3 " in result.output and "yield_created=4 " in result.output
    app.extensions["yx_engine"].dispose()
