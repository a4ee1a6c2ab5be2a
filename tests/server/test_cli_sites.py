"""``yuanxian sites import`` and ``yuanxian sites lists`` against a real database."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from catalog.sites import Site
from server.cli import main


@pytest.fixture
def run(app):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), terminal_width=200)

    return invoke


def sites_on(db_url: str, list_id: str) -> int:
    engine = make_engine(db_url)
    with Session(engine) as s:
        n = s.scalar(select(func.count()).select_from(Site).where(Site.list_id == list_id)) or 0
    engine.dispose()
    return n


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([["省份", "地市", "县名"], *rows])
    return path


GOOD = [["甘肃省", "定西市", "岷县"], ["青海省", "", "玛多县"]]
BAD = [["江苏省", "", "鼓楼区"], ["甘肃省", "", "无此县"]]


def test_sites_import__bad_rows__reported_nothing_saved_exit_1(run, db_url, tmp_path):
    result = run("sites", "import", str(write_csv(tmp_path / "kc.csv", GOOD + BAD)), "--list", "KC")
    assert result.exit_code == 1
    assert "ambiguous" in result.output and "unmatched" in result.output and "无此县" in result.output
    assert sites_on(db_url, "KC") == 94


def test_sites_import__good_only__saves_good_rows_exit_0(run, db_url, tmp_path):
    result = run("sites", "import", str(write_csv(tmp_path / "kc.csv", GOOD + BAD)), "--list", "KC", "--good-only")
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "ambiguous" in result.output
    assert sites_on(db_url, "KC") == 96


def test_sites_import__good_only_but_no_good_row__exit_1(run, db_url, tmp_path):
    result = run("sites", "import", str(write_csv(tmp_path / "kc.csv", BAD)), "--list", "KC", "--good-only")
    assert result.exit_code == 1
    assert sites_on(db_url, "KC") == 94


def test_sites_import__dry_run__reports_but_saves_nothing(run, db_url, tmp_path):
    result = run("sites", "import", str(write_csv(tmp_path / "kc.csv", GOOD)), "--list", "KC", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "621126" in result.output
    assert sites_on(db_url, "KC") == 94


def test_sites_import__xlsx_twice__no_duplicates(run, db_url, tmp_path):
    wb = Workbook()
    wb.active.append(["省份", "县名", "批次"])
    wb.active.append(["甘肃省", "岷县", 2])  # not yet on IC2
    path = tmp_path / "ic2.xlsx"
    wb.save(path)
    before = sites_on(db_url, "IC2")
    assert run("sites", "import", str(path), "--list", "IC2").exit_code == 0
    second = run("sites", "import", str(path), "--list", "IC2")
    assert second.exit_code == 0 and "unchanged" in second.output
    assert sites_on(db_url, "IC2") == before + 1


def test_sites_import__unknown_list__exit_nonzero(run, tmp_path):
    result = run("sites", "import", str(write_csv(tmp_path / "kc.csv", GOOD)), "--list", "NOPE")
    assert result.exit_code != 0


def test_sites_lists__shows_known_and_expected(run):
    result = run("sites", "lists")
    assert result.exit_code == 0, result.output
    assert "KC" in result.output and "160" in result.output and "94" in result.output
