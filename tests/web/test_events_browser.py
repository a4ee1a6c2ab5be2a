"""Matchmaking pages in headless Chromium: the event page shows its showcased results (linking the result pages)
and the sites taking part; the online exhibition's showcase is public; a park manager registers its park and an
intent on the event page and follows it on the intents page's timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import create_user
from catalog.audit import act_as
from catalog.events import create_event, move_event, register_site, showcase_result
from tests.web.conftest import Demo, Traffic

pytestmark = pytest.mark.browser

MAIZE = "耐密高产玉米新品种郑单958"  # the published demo result
PARK_MANAGER = ("u_xuchang_park", "correct horse battery")  # 河南许昌国家农业科技园区 NASTP014


@pytest.fixture
def events(app: Flask, demo: Demo) -> dict[str, str]:
    """An open 河南 on-site event showcasing the maize result, with 临泉 park taking part; a national online
    exhibition showcasing it too; the 许昌 park's manager."""
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        create_user(s, PARK_MANAGER[0], PARK_MANAGER[1], roles=[("park_manager", "NASTP014")])
        onsite = create_event(s, {"kind": "onsite", "title": "2026年河南省农业科技成果现场对接会",
                                  "starts_on": "2026-04-16", "ends_on": "2026-04-17", "place_code": "411000",
                                  "address": "许昌市建安区", "province_code": "410000", "organiser": "河南省农业农村厅",
                                  "description": "面向全省农业科技园区和创新型县的成果现场对接。"}, "test")
        move_event(s, onsite, "open", "test")
        showcase_result(s, onsite, demo.id_of("耐密"), "test", note="A区3号展位")
        register_site(s, onsite, "NASTP218", "test", via="invited")
        online = create_event(s, {"kind": "online", "title": "2026年国家科技计划农业成果网络展会",
                                  "starts_on": "2026-09-01", "ends_on": "2026-09-30"}, "test")
        showcase_result(s, online, demo.id_of("耐密"), "test")
        return {"onsite": onsite.id, "online": online.id}


def follow(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_event_page__shows_showcased_results_and_sites__links_to_result(
        open_page: Callable[..., Any], events: dict[str, str]) -> None:
    page = open_page(anonymous=True)
    page.goto("/events")
    expect(page.locator(".event-list")).to_contain_text("2026年河南省农业科技成果现场对接会")
    follow(page, f'.event-list li[data-event-id="{events["onsite"]}"] h2 a')
    expect(page.locator("h1")).to_have_text("2026年河南省农业科技成果现场对接会")
    expect(page.locator(".event-facts")).to_contain_text("河南省 › 许昌市")
    expect(page.locator(".result-badges").first).to_contain_text("进行中")
    expect(page.locator(".showcased-results li")).to_have_count(1)
    expect(page.locator(".showcased-results")).to_contain_text("A区3号展位")
    expect(page.locator(".taking-part")).to_contain_text("安徽临泉国家农业科技园区")
    expect(page.locator(".taking-part")).to_contain_text("主办方邀请")
    assert page.locator(".register-form").count() == 0  # anonymous: a sign-in link instead of the forms
    follow(page, f".showcased-results a:text('{MAIZE}')")
    expect(page.locator("h1")).to_have_text(MAIZE)


def test_online_exhibition__public_printable_showcase(open_page: Callable[..., Any], events: dict[str, str]) -> None:
    page = open_page(anonymous=True)
    page.goto(f"/events/{events['online']}/showcase")
    expect(page.locator("h1")).to_have_text("2026年国家科技计划农业成果网络展会")
    expect(page.locator(".showcase-item")).to_have_count(1)
    expect(page.locator(".showcase-item h3")).to_have_text(MAIZE)
    expect(page.locator(".showcase-item")).to_contain_text("许可")  # its transfer modes
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".print-only")).to_be_visible()
    page.goto(f"/events/{events['online']}/showcase?lang=en")
    expect(page.locator(".result-badges").first).to_contain_text("Online exhibition")


def test_park_manager__registers_park_and_intent__sees_it_on_the_timeline(
        open_page: Callable[..., Any], events: dict[str, str], traffic: Traffic) -> None:
    page = open_page(anonymous=True, viewport={"width": 390, "height": 844})  # a phone
    r = page.context.request.post("/api/auth/login", data={"username": PARK_MANAGER[0], "password": PARK_MANAGER[1]})
    assert r.status == 200, r.text()
    page.goto(f"/events/{events['onsite']}")
    expect(page.locator("#my-site")).to_contain_text("河南许昌国家农业科技园区")
    page.fill('.register-form input[name="contact"]', "王主任 0374-1234567")
    follow(page, ".register-form button")
    expect(page.locator(".flash")).to_have_text("已报名")
    expect(page.locator(".taking-part")).to_contain_text("河南许昌国家农业科技园区")

    page.fill('.intent-form input[name="on"]', "2026-04-16")
    page.fill('.intent-form textarea[name="note"]', "现场洽谈玉米新品种许可")
    follow(page, ".intent-form button")
    expect(page.locator(".flash")).to_have_text("已登记对接意向")
    intent = page.locator(".intent-list li.intent").first
    expect(intent).to_contain_text(MAIZE)
    expect(intent.locator(".timeline-step")).to_have_count(1)
    expect(intent.locator(".timeline-step")).to_contain_text("2026-04-16")
    expect(intent.locator(".timeline-step")).to_contain_text("现场洽谈玉米新品种许可")

    # A step out of order is refused with the reason, and the timeline keeps its one step.
    intent.locator("details.next-step summary").click()
    intent.locator('input[name="step"][value="dropped"]').check()
    with page.expect_navigation() as nav:
        intent.locator(".step-form button").click()
    assert nav.value.status == 422  # the API's status for the same refusal
    expect(page.locator(".form-errors")).to_contain_text("放弃须填写原因")
    intent = page.locator(".intent-list li.intent").first
    expect(intent.locator(".timeline-step")).to_have_count(1)
    assert all("422" in e for e in traffic.errors), traffic.errors  # the refused page is the only error
    traffic.errors.clear()

    intent.locator('input[name="step"][value="contact"]').check()
    intent.locator('.step-form input[name="on"]').fill("2026-04-28")
    intent.locator('.step-form textarea[name="note"]').fill("赴郑州对接许可条件")
    with page.expect_navigation():
        intent.locator(".step-form button").click()
    expect(page.locator(".flash")).to_have_text("已记录：已联系")
    intent = page.locator(".intent-list li.intent").first
    expect(intent.locator(".badge")).to_have_text("已联系")
    expect(intent.locator(".timeline-step")).to_have_count(2)
    expect(intent.locator(".timeline-step").nth(1)).to_contain_text("赴郑州对接许可条件")
    # The event page lists the intent for the park.
    page.goto(f"/events/{events['onsite']}")
    expect(page.locator("#my-site")).to_contain_text("已联系")
