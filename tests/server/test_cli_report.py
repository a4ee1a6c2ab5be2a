"""``yuanxian report coverage``: the coverage of a scope and season written as XLSX (one sheet per table, real
numbers) and as CSV (one UTF-8-with-BOM file per table), on the hand-computed data set of the coverage tests."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.audit import act_as
from catalog.db import make_engine
from server.cli import main
from tests.catalog.coverage_data import SEASON, build


@pytest.fixture
def run(app, db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    with act_as(Session(engine), operator("test")) as s, s.begin():
        build(s)
    engine.dispose()
    runner = app.test_cli_runner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), terminal_width=200)

    return invoke


def test_report_coverage__xlsx_one_sheet_per_table_with_real_numbers(run, tmp_path: Path) -> None:
    out = tmp_path / "henan.xlsx"
    result = run("report", "coverage", "--scope", "410000", "--season", SEASON, "--output", str(out))
    assert result.exit_code == 0, result.output
    wb = load_workbook(out, read_only=True)
    try:
        assert {"概况", "覆盖情况", "下级区划", "站点", "增产", "耕地质量", "目标进度", "缺口-站点"} \
            <= set(wb.sheetnames)
        rows = list(wb["覆盖情况"].iter_rows(values_only=True))
        head, henan = rows[0], dict(zip(rows[0], rows[1], strict=True))
        assert "审核层级：省级复测（地块）" in head
        assert (henan["代码"], henan["示范地块数"], henan["示范面积（亩）"]) == ("410000", 6, 210)
        assert (henan["计划地块数"], henan["完成地块数（计划县）"], henan["按期"], henan["逾期"]) == (6, 4, 3, 1)
        assert henan["完成率（%）"] == pytest.approx(66.67)
        assert (henan["审核层级：县级自测（地块）"], henan["审核层级：省级复测（地块）"]) == (4, 1)
        g_rows = list(wb["增产"].iter_rows(values_only=True))
        gains = [dict(zip(g_rows[0], r, strict=True)) for r in g_rows[1:]]
        ck = next(g for g in gains
                  if g["代码"] == "410000" and g["作物"] == "玉米" and g["对照类型"] == "对照品种(CK)")
        assert (ck["地块数"], ck["面积（亩）"], ck["面积加权增产（%）"]) == (2, 40, 9.0)
        assert isinstance(ck["面积加权增产（%）"], int | float)  # a number, not text
        assert "县级自测 4 块" in ck["审核层级"]
    finally:
        wb.close()


def test_report_coverage__csv_with_bom_one_file_per_table(run, tmp_path: Path) -> None:
    out = tmp_path / "china.csv"
    result = run("report", "coverage", "--season", SEASON, "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, result.output
    figures = tmp_path / "china_figures.csv"
    raw = figures.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with figures.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert (rows[0]["代码"], rows[0]["示范地块数"], rows[0]["计划地块数"]) == ("000000", "7", "12")
    with (tmp_path / "china_targets.csv").open(encoding="utf-8-sig", newline="") as f:
        targets = {r["目标"]: r for r in csv.DictReader(f)}
    assert float(targets["耕地质量提升核心示范面积"]["当前值"]) == 60


def test_report_coverage__bad_season_is_refused_with_zh_and_en(run, tmp_path: Path) -> None:
    result = run("report", "coverage", "--season", "autumn", "--output", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1
    assert "season" in result.output and "季别" in result.output
    assert not (tmp_path / "x.xlsx").exists()
