"""The coverage dashboard in headless Chromium (SQLite and PostGIS): drill-down from the country through the map
and the tables to a plot, the map's legend, sorting and filtering, and the XLSX download against the page.

The browser signs in as the reader (a ministry officer); data: ``tests/catalog/coverage_data.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.audit import act_as
from tests.catalog.coverage_data import SEASON, Data, build
from tests.web.test_browser import follow

pytestmark = pytest.mark.browser


@pytest.fixture
def data(app: Flask) -> Data:
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        return build(s)


def figures(page: Any, table: str, key: str) -> dict[str, str]:
    """code → the data-value of column ``key`` in each row of ``table``, as the page shows them."""
    out = {}
    for row in page.locator(f"#{table} tbody tr").all():
        out[str(row.get_attribute("data-code"))] = str(row.locator(f'[data-key="{key}"]').get_attribute("data-value"))
    return out


def test_drill_down__country_to_plot(page: Any, data: Data) -> None:
    page.goto(f"/coverage?season={SEASON}")
    expect(page).to_have_url(re.compile(rf"/coverage/000000\?season={SEASON}$"))
    expect(page.locator("h1")).to_contain_text("全国")
    legend = page.locator("#coverage-map svg g.legend")
    expect(legend).to_be_visible()
    expect(legend).to_contain_text("无数据")
    expect(page.locator('#headline [data-key="plots"]')).to_have_attribute("data-value", "7")

    # 全国 → 河南 through the map, then 郑州 → 中牟 through the tables
    follow(page, '#coverage-map a.region-link[data-code="410000"]')
    expect(page.locator("h1")).to_contain_text("河南省")
    expect(page.locator(".crumbs")).to_contain_text("全国")
    expect(page.locator("#coverage-map svg g.legend")).to_be_visible()
    follow(page, '#children-table tr[data-code="410100"] a')
    expect(page.locator("h1")).to_contain_text("郑州市")
    follow(page, '#children-table tr[data-code="410122"] a')
    expect(page.locator("h1")).to_contain_text("中牟县")
    expect(page.locator('#headline [data-key="gain_pct"]')).to_have_attribute("data-value", "7.33")
    expect(page.locator("#plots-table tbody tr")).to_have_count(3)
    expect(page.locator("#review-basis")).to_contain_text("县级自测 2 块；省级复测 1 块")

    follow(page, f'#plots-table tr[data-plot="{data.plots["A"]}"] a')
    expect(page.locator("#plot-name")).to_contain_text("A")
    expect(page.locator("#measurements-table tbody tr")).to_have_count(2)
    expect(page.locator("#measurements-table tr.best")).to_contain_text("省级复测")
    follow(page, '.crumbs a:text("中牟县")')
    expect(page.locator("h1")).to_contain_text("中牟县")


def test_tables__sort_and_filter(page: Any, data: Data) -> None:
    page.goto(f"/coverage/410100?season={SEASON}")
    table = page.locator("#children-table")
    plots_header = table.locator("thead th", has_text="示范地块数").locator("button")
    plots_header.click()  # ascending
    plots_header.click()  # descending: 中牟 (3 plots) first
    expect(table.locator("tbody tr").first).to_have_attribute("data-code", "410122")
    expect(table.locator("tbody tr").nth(1)).to_have_attribute("data-code", "410184")
    page.fill('input[data-filter="children-table"]', "新郑")
    expect(table.locator("tbody tr:visible")).to_have_count(1)
    expect(table.locator("tbody tr:visible")).to_have_attribute("data-code", "410184")
    expect(page.locator('[data-count="children-table"]')).to_have_text("共 1 行")


def test_map_figure__chosen_on_change(page: Any, data: Data) -> None:
    page.goto(f"/coverage/410000?season={SEASON}")
    with page.expect_navigation():
        page.select_option("#map-figure", "completeness")
    expect(page).to_have_url(re.compile(r"map=completeness"))
    expect(page.locator("#h-map")).to_contain_text("完成率")
    expect(page.locator('#coverage-map a.region-link[data-code="410100"]')).to_have_attribute(
        "href", f"/coverage/410100?season={SEASON}&map=completeness")


def test_export__downloaded_xlsx_equals_the_page(page: Any, data: Data, tmp_path: Path) -> None:
    page.goto(f"/coverage/410000?season={SEASON}")
    shown_plots = figures(page, "children-table", "plots")
    shown_area = figures(page, "children-table", "area_mu")
    assert shown_plots["410100"] == "5" and shown_plots["410200"] == "1"
    with page.expect_download() as info:
        page.click("#export-xlsx")
    download = info.value
    assert download.suggested_filename.startswith(f"coverage-410000-{SEASON}")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    wb = load_workbook(saved, read_only=True)
    try:
        sheet = list(wb["下级区划"].iter_rows(values_only=True))
        head = list(sheet[0])
        code, plots, area = head.index("代码"), head.index("示范地块数"), head.index("示范面积（亩）")
        exported = {r[code]: r for r in sheet[1:]}
        assert set(exported) == set(shown_plots)
        for c in shown_plots:
            assert exported[c][plots] == int(shown_plots[c])
            assert exported[c][area] == pytest.approx(float(shown_area[c]))
        own = list(wb["覆盖情况"].iter_rows(values_only=True))
        assert own[1][own[0].index("示范地块数")] == int(
            str(page.locator('#headline [data-key="plots"]').get_attribute("data-value")))
    finally:
        wb.close()
    follow(page, "#print-view")
    expect(page.locator("nav.main-nav")).to_have_count(0)
    expect(page.locator('section[data-table="children"] h2')).to_have_text("下级区划")
