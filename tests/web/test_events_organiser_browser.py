"""The organiser's pages in headless Chromium: a province officer creates an event through the new-event form (a
refused form keeps what was typed and says why), then on the event page opens it, showcases a published result
found by name, takes it off again, invites a site and closes the event. A park manager and an anonymous visitor
see none of these controls, and the server refuses them too."""

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
from catalog.events import create_event, move_event, showcase_result
from tests.web.conftest import Demo, Traffic

pytestmark = pytest.mark.browser

MAIZE = "耐密高产玉米新品种郑单958"  # the one published demo result
HENAN_OFFICER = ("u_henan_officer", "correct horse battery")
PARK_MANAGER = ("u_xuchang_park", "correct horse battery")  # 河南许昌国家农业科技园区 NASTP014
TITLE = "2026年许昌市农业科技成果现场对接会"


@pytest.fixture
def accounts_and_event(app: Flask, demo: Demo) -> str:
    """The 河南 province officer, the 许昌 park's manager, and an open 河南 event showcasing the maize result."""
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        create_user(s, HENAN_OFFICER[0], HENAN_OFFICER[1], roles=[("province_officer", "410000")])
        create_user(s, PARK_MANAGER[0], PARK_MANAGER[1], roles=[("park_manager", "NASTP014")])
        event = create_event(s, {"kind": "onsite", "title": "2026年河南省农业科技成果现场对接会",
                                 "starts_on": "2026-04-16", "ends_on": "2026-04-17", "place_code": "411000",
                                 "province_code": "410000"}, "test")
        move_event(s, event, "open", "test")
        showcase_result(s, event, demo.id_of("耐密"), "test")
        return event.id


def sign_in(page: Any, account: tuple[str, str]) -> None:
    r = page.context.request.post("/api/auth/login", data={"username": account[0], "password": account[1]})
    assert r.status == 200, r.text()


def submit(page: Any, selector: str) -> Any:
    with page.expect_navigation() as nav:
        page.click(selector)
    return nav.value


def test_province_officer__creates_event_by_form__showcases_and_closes_it(
        open_page: Callable[..., Any], accounts_and_event: str, traffic: Traffic) -> None:
    page = open_page(anonymous=True, viewport={"width": 390, "height": 844})  # a phone
    sign_in(page, HENAN_OFFICER)
    page.goto("/events")
    form = page.locator(".event-form")
    page.click("#new-event summary")
    expect(page.locator("#new-event")).to_contain_text("河南省的省级活动")
    expect(form.locator('input[name="kind"][value="onsite"]')).to_be_checked()
    form.locator('input[name="starts_on"]').fill("2026-05-20")
    form.locator('input[name="ends_on"]').fill("2026-05-21")
    form.locator('input[name="place_code"]').fill("411000")
    form.locator('input[name="address"]').fill("许昌市建安区农业科技园区会展中心")
    form.locator('textarea[name="description"]').fill("面向许昌市各县区的成果对接。")

    # No title: refused with the reason beside the field, what was typed kept, the API's status.
    assert submit(page, ".event-form button").status == 422
    expect(page.locator(".form-errors")).to_contain_text("请填写活动名称")
    expect(page.locator("#err-title")).to_contain_text("请填写活动名称")
    expect(page.locator("#new-event")).to_have_attribute("open", "")
    expect(form.locator('input[name="place_code"]')).to_have_value("411000")
    expect(form.locator('input[name="address"]')).to_have_value("许昌市建安区农业科技园区会展中心")
    expect(form.locator('input[name="starts_on"]')).to_have_value("2026-05-20")
    expect(form.locator('textarea[name="description"]')).to_have_value("面向许昌市各县区的成果对接。")
    assert page.locator(f'.event-list :text("{TITLE}")').count() == 0  # nothing written
    assert all("422" in e for e in traffic.errors), traffic.errors  # the refused page is the only error
    traffic.errors.clear()

    form.locator('input[name="title"]').fill(TITLE)
    submit(page, ".event-form button")
    expect(page.locator(".flash")).to_have_text("已新建活动")
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator(".event-facts")).to_contain_text("河南省 › 许昌市")
    expect(page.locator(".result-badges").first).to_contain_text("筹备中")
    expect(page.locator(".showcased-results li")).to_have_count(0)

    submit(page, '.step-form button:text("开始活动")')
    expect(page.locator(".flash")).to_have_text("活动状态：进行中")
    expect(page.locator(".result-badges").first).to_contain_text("进行中")
    expect(page.locator(".step-form button")).to_have_text(["结束活动"])

    # Showcase the maize result found by name, with its stand.
    page.fill('.showcase-search input[name="q"]', "郑单")
    submit(page, ".showcase-search button")
    candidate = page.locator(".candidates li", has_text=MAIZE)
    expect(page.locator(".candidates li")).to_have_count(1)
    candidate.locator('input[name="note"]').fill("B区5号展位")
    submit(page, f'.candidates li:has-text("{MAIZE}") .showcase-form button')
    expect(page.locator(".flash")).to_have_text(f"已展示：{MAIZE}")
    expect(page.locator(".showcased-results li")).to_have_count(1)
    expect(page.locator(".showcased-results")).to_contain_text("B区5号展位")
    expect(page.locator(".candidates li")).to_have_count(0)  # on show: no longer offered
    # The public showcase lists it, with none of the organiser's controls.
    page.goto(page.url.split("#")[0].split("?")[0] + "/showcase")
    expect(page.locator(".showcase-item h3")).to_have_text(MAIZE)
    assert page.locator(".showcase form, .showcase button").count() == 0
    page.go_back()

    submit(page, f'.showcased-results li:has-text("{MAIZE}") .unshowcase-form button')
    expect(page.locator(".flash")).to_have_text(f"已取消展示：{MAIZE}")
    expect(page.locator(".showcased-results li")).to_have_count(0)

    # Invite the 许昌 park by its name; an unknown name is refused with the reason.
    page.fill('.invite-form input[name="site"]', "不存在的园区")
    assert submit(page, ".invite-form button").status == 422
    expect(page.locator(".form-errors")).to_contain_text("没有这个编号或名称的园区或县")
    expect(page.locator('.invite-form input[name="site"]')).to_have_value("不存在的园区")
    traffic.errors.clear()
    page.fill('.invite-form input[name="site"]', "河南许昌国家农业科技园区")
    submit(page, ".invite-form button")
    expect(page.locator(".flash")).to_have_text("已邀请：河南许昌国家农业科技园区")
    expect(page.locator('.taking-part li[data-site-id="NASTP014"]')).to_contain_text("主办方邀请")

    submit(page, '.step-form button:text("结束活动")')
    expect(page.locator(".result-badges").first).to_contain_text("已结束")
    expect(page.locator("#organise")).to_contain_text("活动已结束")
    for gone in (".step-form", ".showcase-search", ".invite-form", ".uninvite-form"):
        assert page.locator(gone).count() == 0, gone

    page.goto("/events?lang=en")
    expect(page.locator("#new-event summary")).to_have_text("New event")


def test_park_manager__sees_no_organiser_controls__and_is_refused(
        open_page: Callable[..., Any], accounts_and_event: str, traffic: Traffic) -> None:
    page = open_page(anonymous=True)
    sign_in(page, PARK_MANAGER)
    page.goto("/events")
    expect(page.locator(".event-list")).to_contain_text("2026年河南省农业科技成果现场对接会")
    assert page.locator("#new-event").count() == 0
    page.goto(f"/events/{accounts_and_event}")
    expect(page.locator("#my-site")).to_contain_text("河南许昌国家农业科技园区")  # its own forms are there
    for control in ("#organise", ".step-form", ".unshowcase-form", ".showcase-form", ".invite-form"):
        assert page.locator(control).count() == 0, control
    token = page.locator('.register-form input[name="csrf_token"]').get_attribute("value")
    r = page.context.request.post(f"/events/{accounts_and_event}/steps",
                                  form={"csrf_token": token, "action": "close"})
    assert r.status == 403  # the server decides, not the page
    page.goto(f"/events/{accounts_and_event}")
    expect(page.locator(".result-badges").first).to_contain_text("进行中")


def test_anonymous__sees_no_organiser_controls(open_page: Callable[..., Any], accounts_and_event: str) -> None:
    page = open_page(anonymous=True)
    page.goto("/events")
    assert page.locator("#new-event").count() == 0
    page.goto(f"/events/{accounts_and_event}")
    expect(page.locator(".showcased-results li")).to_have_count(1)
    for control in ("#organise", ".step-form", ".unshowcase-form", ".invite-form"):
        assert page.locator(control).count() == 0, control
    r = page.context.request.post("/events", form={"kind": "online", "title": "x"}, max_redirects=0)
    assert r.status == 302 and "/login" in r.headers["location"]
