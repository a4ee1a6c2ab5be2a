"""The field kit's web UI (``fieldkit serve``) in headless Chromium on a phone-sized screen: enrol, walk a plot's
boundary with a simulated GPS, record a yield that computes as it is typed, sync with the real server over HTTP,
read the result listings offline. SQLite and PostGIS (through ``db_url``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from catalog.field import DemoPlot, YieldMeasurement
from fieldkit.store import Store
from fieldkit.web import create_app
from gis import geodesic_area
from gis.area import m2_to_mu
from gis.formats import walk_to_boundary
from tests.sync.helpers import settle

pytestmark = pytest.mark.browser

# Waits go through locators (expect), never page-evaluated strings: the pages' CSP forbids eval, as it should.
# A walk around a field in 中原区 (410102), the agent's county: corners and points between, (lon, lat).
WALK = [(113.6000, 34.7500), (113.6010, 34.7500), (113.6020, 34.7500), (113.6020, 34.7510), (113.6020, 34.7520),
        (113.6010, 34.7520), (113.6000, 34.7520), (113.6000, 34.7510)]


@pytest.fixture
def kit_url(live_server: str, accounts: Any, tmp_path: Path) -> Iterator[str]:
    """``fieldkit serve`` of a fresh kit pointed at the live server, on 127.0.0.1 and a free port."""
    home = tmp_path / "kit"
    Store(home / "fieldkit.db").set_meta(server=live_server)
    server = make_server("127.0.0.1", 0, create_app(home), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kit-ui", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def phone(browser: Any, kit_url: str) -> Iterator[Any]:
    """A phone's browser that lets the page locate it; any request off 127.0.0.1 or script error fails the test."""
    context = browser.new_context(base_url=kit_url, locale="zh-CN", viewport={"width": 390, "height": 844},
                                  is_mobile=True, permissions=["geolocation"],
                                  geolocation={"longitude": WALK[0][0], "latitude": WALK[0][1], "accuracy": 50})
    foreign: list[str] = []
    errors: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert foreign == [] and errors == [], (foreign, errors)


def at(page: Any, lon: float, lat: float, accuracy: float) -> None:
    page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": accuracy})


def test_kit_ui__enrol_walk_a_plot_record_a_yield_sync_and_read_results(phone: Any, app: Flask,
                                                                       tmp_path: Path) -> None:
    page = phone
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "尚未登记" in page.locator("main").inner_text()

    page.goto("/sync")
    page.fill("#enrol-form input[name=username]", "u_agent")
    page.fill("#enrol-form input[name=password]", "correct horse battery")
    with page.expect_navigation():
        page.click("#enrol-form button[type=submit]")
    assert "已登记" in page.locator(".facts").inner_text()

    page.goto("/plots/new")
    page.fill("input[name=name]", "东风村玉米示范田")
    page.select_option("select[name=crop]", "maize")
    page.select_option("select[name=season]", "2026-autumn_grain")
    assert page.locator('input[name=boundary_source][value=walk]').is_checked()  # the walk is the default
    page.click("#walk-start")
    expect(page.locator("#walk-accuracy")).to_contain_text("50")
    assert "精度不足" in page.locator("#walk-message").inner_text()  # the first fix (±50 m) is not recorded
    assert page.locator("#walk-count").inner_text() == "0"
    fixes = []
    for n, (lon, lat) in enumerate(WALK, start=1):
        at(page, lon, lat, 4)
        expect(page.locator("#walk-count")).to_have_text(str(n))
        fixes.append({"lon": lon, "lat": lat, "accuracy_m": 4})
    at(page, WALK[-1][0], WALK[-1][1] + 0.000001, 4)  # standing still: no new vertex
    at(page, 113.61, 34.76, 40)  # a poor fix on the way back: not recorded
    expect(page.locator("#walk-accuracy")).to_contain_text("40")
    assert page.locator("#walk-count").inner_text() == str(len(WALK))
    live_mu = float(page.locator("#walk-area").inner_text())
    page.click("#walk-stop")
    page.screenshot(path=str(tmp_path / "kit-walk.png"), full_page=True)
    with page.expect_navigation():
        page.click("#plot-save")

    expected_mu = m2_to_mu(geodesic_area(walk_to_boundary(fixes).geometry))
    shown = float(page.locator(".plot-area strong").inner_text().replace(",", ""))
    assert shown == pytest.approx(expected_mu, abs=0.01) and live_mu == pytest.approx(expected_mu, rel=0.01)
    assert page.locator(".plot-map svg .plot").count() == 1 and page.locator(".county-map svg").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "kit-plot.png"), full_page=True)

    with page.expect_navigation():
        page.click("a:has-text('记录测产')")
    page.fill("input[name=s0_area_mu]", "0.1")
    page.fill("input[name=s0_fresh_kg]", "800")
    page.fill("input[name=s0_moisture]", "20")
    page.fill("input[name=s0_impurity]", "1")
    expect(page.locator("#yield-problems")).to_contain_text("合理上限")
    assert page.locator("#yield-value").inner_text() == "—"
    page.fill("input[name=s0_fresh_kg]", "80")  # the typo mended: 0.1 亩, 80 kg, 20 %, 1 % at 14 % → 736.7
    expect(page.locator("#yield-value")).to_have_text("736.7")
    assert page.locator("#yield-problems").inner_text() == ""
    page.click("#add-row")
    assert expected_mu > 10 and page.locator(".sample-row").count() == 6  # 5 points (梅花形) from 10 亩, one more
    page.screenshot(path=str(tmp_path / "kit-yield.png"), full_page=True)
    with page.expect_navigation():
        page.click("#yield-save")
    assert page.locator(".yield-value").inner_text() == "736.7"

    page.goto("/sync")
    assert "2 条" in page.locator("#waiting").inner_text()
    page.click("#sync-now")
    page.wait_for_selector("#sync-done", timeout=60_000)  # the page refreshes itself while the sync runs
    assert "发送 2" in page.locator("#sync-done").inner_text()
    with Session(app.extensions["yx_engine"]) as s:
        [plot] = s.scalars(select(DemoPlot).where(DemoPlot.name == "东风村玉米示范田")).all()
        [y] = s.scalars(select(YieldMeasurement).where(YieldMeasurement.plot_id == plot.id)).all()
        assert plot.county_code == "410102" and m2_to_mu(plot.area_m2 or 0) == pytest.approx(expected_mu, abs=0.01)
        assert y.yield_kg_per_mu == 736.74 and not (plot.flags or {}).get("outside_county")
        settle(s)

    page.goto("/results")
    page.fill("#q", "玉米")
    with page.expect_navigation():
        page.press("#q", "Enter")
    assert page.locator(".result-item strong").all_inner_texts() == ["耐密高产玉米新品种郑单958"]
    with page.expect_navigation():
        page.click(".result-item a")
    assert "河南省农业科学院" in page.locator("main").inner_text()

