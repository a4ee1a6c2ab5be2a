"""Yield review in headless Chromium: a county officer opens the queue from the menu, a rejection without a comment
is refused, the self-test is approved, the printable sheet shows the computation and the panel's signature lines;
the province officer then finds the province re-test in its queue and rejects it with a comment. SQLite and PostGIS.

Figures, by hand: 3 points of 0.1 亩 with 60, 62 and 60 kg at 14 % moisture, 1 % impurity, wheat standard 13 %:
each 60 kg point weighs 60 × 0.99 × 0.86 ÷ 0.87 = 58.72 kg at standard moisture (587.17 kg/亩), the 62 kg point
60.67 kg; in all 178.11 kg over 0.300 亩 = 593.70 kg/亩; against the check variety's 540 kg/亩: +53.70 kg, +9.94 %.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant, operator
from catalog.accounts import create_user
from catalog.audit import act_as
from catalog.field_rules import apply_plot, apply_yield

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
AGENT = Actor("新郑推广员", grants=(Grant("agent", "410102"),), channel="sync")
POINT = {"area_mu": 0.1, "moisture": 0.14, "impurity": 0.01}


def follow(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


@pytest.fixture
def measured(app: Flask) -> dict[str, str]:
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        for name, role, scope in (("u_zy_county", "county_officer", "410102"),
                                  ("u_ha_province", "province_officer", "410000")):
            create_user(s, name, PASSWORD, roles=[(role, scope)])
        plot = apply_plot(s, AGENT, {"name": "中原区郑麦379示范田", "county_code": "410102", "crop": "wheat",
                                     "variety": "郑麦379", "season": "2026-summer_grain",
                                     "farmer_name": "王建国"}).record
        common = {"plot_id": plot.id, "method": "harvest", "measured_on": "2026-06-04",
                  "baseline_type": "check_variety", "baseline_kg_per_mu": 540,
                  "samples": [{**POINT, "fresh_kg": 60}, {**POINT, "fresh_kg": 62}, {**POINT, "fresh_kg": 60}]}
        county = apply_yield(s, AGENT, {**common, "panel": ["李明（县农技中心）", "赵华（县种子站）", "孙平"]}).record
        province = apply_yield(s, AGENT, {**common, "level": "province", "measured_on": "2026-06-06",
                                          "panel": ["周强（省农科院）", "吴芳（省农技总站）", "郑伟"]}).record
        return {"county": county.id, "province": province.id}


def signed_in_as(open_page: Callable[..., Any], username: str) -> Any:
    page = open_page(anonymous=True)
    r = page.context.request.post("/api/auth/login", data={"username": username, "password": PASSWORD})
    assert r.status == 200, r.text()
    return page


def test_review__queue_approve_and_the_printable_sheet(open_page: Callable[..., Any], measured: dict[str, str],
                                                       traffic: Any) -> None:
    page = signed_in_as(open_page, "u_zy_county")
    page.goto("/")
    follow(page, '.user-menu a:has-text("测产审核")')
    expect(page.locator("h1")).to_have_text("测产审核")
    row = page.locator(f'.review-row[data-yield="{measured["county"]}"]')
    expect(row).to_be_visible()
    expect(page.locator(".review-row")).to_have_count(1)  # the province re-test is not the county officer's
    expect(row.locator(".yield-value")).to_have_text("593.70")
    with page.expect_navigation() as refused:
        row.locator(".reject-form button").click()  # no comment
    assert refused.value.status == 422  # the API's status for the same refusal
    expect(page.locator(".form-errors")).to_contain_text("退回须填写意见")
    assert traffic.errors and all("422" in e for e in traffic.errors), traffic.errors  # the refused page only
    traffic.errors.clear()
    row = page.locator(f'.review-row[data-yield="{measured["county"]}"]')
    with page.expect_navigation():
        row.locator(".approve-form button").click()
    expect(page.locator(".flash")).to_contain_text("已审核通过")
    expect(page.locator(".review-row")).to_have_count(0)
    follow(page, '.review-states a:has-text("已审核")')
    follow(page, f'.review-row[data-yield="{measured["county"]}"] a.sheet-link')

    expect(page.locator("h1")).to_have_text("测产结果表（验收单）")
    expect(page.locator(".site-header")).to_have_count(0)  # printable: no navigation
    expect(page.locator(".review-state")).to_contain_text("已审核（锁定）")
    expect(page.locator(".place")).to_contain_text("河南省 郑州市 中原区")
    expect(page.locator(".crop")).to_have_text("小麦 · 郑麦379")
    expect(page.locator("tr.sample")).to_have_count(3)
    second = page.locator("tr.sample").nth(1).locator("td")
    expect(second.nth(5)).to_have_text("60.67")   # at standard moisture
    expect(second.nth(6)).to_have_text("606.74")  # the point's own kg/亩: 60.67 ÷ 0.1
    expect(page.locator(".total-kg")).to_have_text("178.11")
    expect(page.locator(".total-mu")).to_have_text("0.300")
    expect(page.locator(".steps")).to_contain_text("标准含水率：13.0 %")
    expect(page.locator(".result-step")).to_have_text("亩产 = 178.11 kg ÷ 0.300 亩 = 593.70 kg/亩")
    expect(page.locator(".stored-yield")).to_have_text("593.70 kg/亩")
    expect(page.locator(".gain")).to_have_text("+53.70 kg/亩，+9.94 %")
    expect(page.locator("tr.member")).to_have_count(3)
    expect(page.locator(".signatures")).to_contain_text("赵华（县种子站）")
    page.emulate_media(media="print")
    expect(page.locator(".signatures")).to_be_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"


def test_review__province_rejects_its_retest_with_a_comment(open_page: Callable[..., Any],
                                                            measured: dict[str, str], app: Flask) -> None:
    county = signed_in_as(open_page, "u_zy_county")
    county.goto("/review")
    with county.expect_navigation():
        county.locator(f'.review-row[data-yield="{measured["county"]}"] .approve-form button').click()
    page = signed_in_as(open_page, "u_ha_province")
    page.goto("/review?level=province")
    row = page.locator(f'.review-row[data-yield="{measured["province"]}"]')
    expect(row).to_contain_text("省级复测")
    row.locator("textarea[name=comment]").fill("复测日期早于收获，请核实")
    with page.expect_navigation():
        row.locator(".reject-form button").click()
    expect(page.locator(".flash")).to_contain_text("已退回")
    follow(page, '.review-states a:has-text("已退回")')
    expect(page.locator(".review-comment")).to_have_text("复测日期早于收获，请核实")
