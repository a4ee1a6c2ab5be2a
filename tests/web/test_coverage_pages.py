"""The coverage dashboard as HTML (Flask test client, SQLite and PostGIS): scoping, every level of the drill-down,
the plot page, and the XLSX export's numbers against the page's.

Data: the hand-computed set of ``tests/catalog/coverage_data.py`` (season 2026-autumn_grain). Its figures, in 亩:
中牟 410122 has plots A 30, B 10, C 20 (H is C's control plot, J deleted, I of 2025), all three with an approved
measurement, gains +8 (A, its province re-test), +12, +4 → area-weighted (30·8 + 10·12 + 20·4) / 60 = +7.33 %, and a
plan of 4 plots → 75 %; 新郑 410184 has D 40 (rejected) and E 50; 兰考 410225 F 60; so 河南 6 plots, 210 亩, 5 with an
approved measurement; 河北 (大名 130425) G 100 亩.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.audit import act_as
from server.i18n import MESSAGES
from tests.catalog.coverage_data import SEASON, Data, build

Q = f"?season={SEASON}"


@pytest.fixture
def data(app: Flask) -> Data:
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        return build(s)


def page(client: Any, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:800]
    return str(r.get_data(as_text=True))


def rows(html: str, table_id: str) -> dict[str, dict[str, str]]:
    """code → {data-key: data-value} of the rows of one table."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    out = {}
    for code, row in re.findall(r'<tr data-code="([^"]+)">(.*?)</tr>', body, re.S):
        out[code] = dict(re.findall(r'data-key="([a-z_]+)" data-value="([^"]*)"', row))
    return out


def headline(html: str) -> dict[str, str]:
    body = html.split('id="headline"', 1)[1].split("</dl>", 1)[0]
    return dict(re.findall(r'data-key="([a-z_]+)" data-value="([^"]*)"', body))


def test_coverage__anonymous__sent_to_sign_in(client: Any) -> None:
    r = client.get("/coverage")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_coverage__not_an_officer__403(as_role: Any, data: Data) -> None:
    for role in ("agent", "park_manager", "reviewer"):
        assert as_role(role).get(f"/coverage/410000{Q}").status_code == 403, role


def test_coverage__officers__land_on_their_own_scope(as_role: Any) -> None:
    for role, scope in (("ministry_officer", "000000"), ("province_officer", "410000"),
                        ("city_officer", "410100"), ("county_officer", "410102")):
        r = as_role(role).get("/coverage?season=" + SEASON)
        assert r.status_code == 302 and r.headers["Location"] == f"/coverage/{scope}{Q}", role


def test_coverage__province_officer__reads_its_province_only(as_role: Any, data: Data) -> None:
    henan = as_role("province_officer")
    for scope in ("410000", "410100", "410122", "IC1-410184"):
        assert henan.get(f"/coverage/{scope}{Q}").status_code == 200, scope
    for scope in ("000000", "130000", "130425", "KC-150422"):
        r = henan.get(f"/coverage/{scope}{Q}")
        assert r.status_code == 404, scope
        assert "130425" not in r.get_data(as_text=True) or scope == "130425"
    for url in ("/coverage/130000/export.xlsx", "/coverage/130000/print", f"/coverage/plots/{data.plots['G']}"):
        assert henan.get(url + Q).status_code == 404, url
    assert henan.get(f"/coverage/plots/{data.plots['A']}").status_code == 200
    # the breadcrumb does not offer the country to a province officer
    html = page(henan, f"/coverage/410122{Q}")
    assert 'href="/coverage/000000' not in html and 'href="/coverage/410000' in html


def test_coverage__county_officer__not_the_county_next_door(as_role: Any, data: Data) -> None:
    assert as_role("county_officer").get(f"/coverage/410102{Q}").status_code == 200
    assert as_role("county_officer").get(f"/coverage/410122{Q}").status_code == 404
    assert as_role("county_officer").get(f"/coverage/plots/{data.plots['A']}").status_code == 404


def test_country__provinces_with_hand_computed_figures(as_role: Any, data: Data) -> None:
    html = page(as_role("ministry_officer"), f"/coverage/000000{Q}")
    provinces = rows(html, "children-table")
    assert provinces["410000"]["plots"] == "6" and float(provinces["410000"]["area_mu"]) == 210.0
    assert provinces["410000"]["measured_plots"] == "5"
    assert provinces["130000"]["plots"] == "1" and float(provinces["130000"]["area_mu"]) == 100.0
    assert headline(html)["plots"] == "7" and float(headline(html)["area_mu"]) == 310.0
    # the map: one link per province to its drill-down, and a legend
    assert 'class="region-link" data-code="410000"' in html and f'href="/coverage/410000{Q}&amp;map=area"' in html
    assert '<g class="legend">' in html and "无数据" in html and "南海诸岛" in html
    assert re.search(r'<tr data-target="variety_demo_area">', html)


def test_each_level__renders_down_to_the_plot(as_role: Any, data: Data) -> None:
    c = as_role("ministry_officer")
    province = page(c, f"/coverage/410000{Q}")
    assert set(rows(province, "children-table")) >= {"410100", "410200"}  # 郑州, 开封 (兰考 lies there)
    city = page(c, f"/coverage/410100{Q}")
    counties = rows(city, "children-table")
    assert counties["410122"]["plots"] == "3" and counties["410184"]["plots"] == "2"
    county = page(c, f"/coverage/410122{Q}")
    h = headline(county)
    assert (h["plots"], float(h["area_mu"]), h["gain_pct"], h["completeness"]) == ("3", 60.0, "7.33", "75.0")
    plots = re.findall(r'<tr data-plot="([^"]+)">', county)
    assert sorted(plots) == sorted(data.plots[k] for k in "ABC")  # not the control H, deleted J, 2025's I
    assert "县级自测 2 块；省级复测 1 块" in county
    site = page(c, f"/coverage/IC1-410184{Q}")
    assert headline(site)["plots"] == "2" and headline(site)["results_landed"] == "1"
    plot = page(c, f"/coverage/plots/{data.plots['A']}")
    assert 'id="plot-name">A' in plot and "省级复测" in plot and "超出所在县" in plot
    assert plot.count('class="best"') == 1  # the province re-test is the one counted
    sheets = re.findall(r'class="sheet-link" href="(/yields/[^/"]+/sheet)"', plot)
    assert len(sheets) == plot.count("<tr data-yield=")  # each measurement links to its printable sheet
    assert c.get(sheets[0]).status_code == 200


def chart_bars(html: str, css: str) -> dict[str, float]:
    """Bar label → value of one chart."""
    svg = html.split(f'class="chart {css}"', 1)[1].split("</svg>", 1)[0]
    return {label: float(v) for v, label in re.findall(r'data-value="([^"]+)"><title>([^：<]+)：', svg)}


def test_charts__by_season_crop_and_scenario_match_the_figures(as_role: Any, data: Data) -> None:
    c = as_role("ministry_officer")
    henan = page(c, f"/coverage/410000{Q}")
    assert chart_bars(henan, "area-by-season") == {"2025年秋粮": pytest.approx(25.0),
                                                   "2026年秋粮": pytest.approx(210.0)}
    assert chart_bars(henan, "measured-by-season") == {"2025年秋粮": 0.0, "2026年秋粮": 5.0}
    # 河南's variety plots by crop: maize A, B, C (+8, +12, +4 over 60 亩) → +7.33; soybean E +6
    assert chart_bars(henan, "gain-by-crop") == {"玉米": pytest.approx(440 / 60), "大豆": pytest.approx(6.0)}
    assert chart_bars(henan, "land-by-scenario") == {"盐碱地": pytest.approx(60.0)}
    site = page(c, f"/coverage/IC1-410184{Q}")  # 新郑: D and E
    assert chart_bars(site, "area-by-season")["2026年秋粮"] == pytest.approx(90.0)


def test_dashboard__season_and_map_choices(as_role: Any, data: Data) -> None:
    c = as_role("ministry_officer")
    html = page(c, f"/coverage/410000{Q}&map=completeness")
    assert '<option value="completeness" selected>' in html and f'<option value="{SEASON}" selected>' in html
    assert '<option value="2025-autumn_grain"' in html
    r = c.get("/coverage/410000?season=autumn")
    assert r.status_code == 422 and 'data-field="season" data-code="invalid_season"' in r.get_data(as_text=True)
    assert c.get(f"/coverage/999999{Q}").status_code == 404


def test_export__xlsx_numbers_equal_the_page(as_role: Any, data: Data) -> None:
    c = as_role("ministry_officer")
    html = page(c, f"/coverage/410100{Q}")
    shown = rows(html, "children-table")
    r = c.get(f"/coverage/410100/export.xlsx{Q}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data), read_only=True)
    try:
        assert {"概况", "覆盖情况", "下级区划", "站点", "增产", "目标进度", "缺口-站点"} <= set(wb.sheetnames)
        sheet = list(wb["下级区划"].iter_rows(values_only=True))
        head = list(sheet[0])
        col = {name: head.index(name) for name in ("代码", "示范地块数", "示范面积（亩）", "有已审核测产的地块数",
                                                   "完成率（%）", "成果落地数")}
        exported = {row[col["代码"]]: row for row in sheet[1:]}
        assert set(exported) == set(shown)
        for code, figures in shown.items():
            row = exported[code]
            assert row[col["示范地块数"]] == int(figures["plots"])
            assert row[col["示范面积（亩）"]] == pytest.approx(float(figures["area_mu"]))
            assert row[col["有已审核测产的地块数"]] == int(figures["measured_plots"])
            assert row[col["成果落地数"]] == int(figures["results_landed"])
            done = figures["completeness_pct"]
            assert row[col["完成率（%）"]] == (pytest.approx(float(done)) if done else None)
        assert isinstance(exported["410122"][col["示范面积（亩）"]], int | float)  # numbers, not text
        basis = dict(wb["概况"].iter_rows(values_only=True))["审核层级"]
        assert f"审核层级：{basis}" in html
    finally:
        wb.close()


def test_print__tables_without_navigation(as_role: Any, data: Data) -> None:
    html = page(as_role("ministry_officer"), f"/coverage/410122/print{Q}")
    assert 'class="main-nav"' not in html and "print.css" in html and "site.js" not in html
    assert "中牟县覆盖情况报告" in html and 'data-table="plots"' in html and "<h2>增产</h2>" in html
    assert "审核层级：县级自测 2 块；省级复测 1 块" in html


def test_nav__officers_see_the_dashboard_link(as_role: Any, data: Data) -> None:
    assert 'href="/coverage"' in page(as_role("province_officer"), "/results")
    assert 'href="/coverage"' not in page(as_role("agent"), "/results")


def test_coverage_templates__use_only_known_message_keys() -> None:
    import server

    folder = Path(server.__file__).parent / "templates" / "coverage"
    found = [m for f in folder.glob("*.html") for m in re.findall(r"\bt\('([a-z_.]+)'(\s*~)?", f.read_text("utf-8"))]
    keys = {k for k, joined in found if not joined}
    prefixes = {k for k, joined in found if joined}
    assert keys and keys <= set(MESSAGES), keys - set(MESSAGES)
    assert all(any(m.startswith(p) for m in MESSAGES) for p in prefixes), prefixes
