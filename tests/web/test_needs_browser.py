"""Needs pages in headless Chromium: a park manager posts a need, reads its matches and their reasons, finds
the park on the result page, closes the need; refusals say why; English; a phone screen. SQLite and PostGIS."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import create_user
from catalog.audit import act_as
from tests.web.conftest import Traffic

PARK = ("u_park", "correct horse battery")
MAIZE = "耐密高产玉米新品种郑单958"  # the published demo result: maize, land SC0102, suitable in 410102 (郑州) …


@pytest.fixture
def park_page(app: Flask, open_page: Any) -> Any:
    """A browser page signed in as the manager of the 许昌 park (NASTP014)."""
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        create_user(s, PARK[0], PARK[1], "许昌园区管委会", roles=[("park_manager", "NASTP014")])

    def make(**options: Any) -> Any:
        page = open_page(anonymous=True, **options)
        r = page.context.request.post("/api/auth/login", data={"username": PARK[0], "password": PARK[1]})
        assert r.status == 200, r.text()
        return page

    return make


def post_need(page: Any, **fields: str) -> None:
    page.goto("/needs")
    with page.expect_navigation():
        page.get_by_role("link", name="发布需求").click()
    expect(page.locator("select[name=site_id]")).to_have_value("NASTP014")
    page.fill("input[name=title]", fields.get("title", "引进耐旱耐密的夏玉米新品种"))
    page.fill("textarea[name=problem]", fields.get("problem", "岗坡旱地多，常遇伏旱，希望引进耐密、抗倒伏的玉米品种。"))
    page.check("input[name=crops][value=maize]")
    page.check("input[name=land_scenarios][value=SC0102]")
    page.fill("input[name=area_mu]", fields.get("area_mu", "30000"))
    with page.expect_navigation():
        page.get_by_role("button", name="发布").click()


def test_need_to_matches__reasons__result_page_lists_the_park__close(park_page: Any) -> None:
    page = park_page()
    post_need(page)
    expect(page.locator("h1")).to_have_text("引进耐旱耐密的夏玉米新品种")
    expect(page.locator(".flash")).to_have_text("需求已发布")
    expect(page.locator("#need-state")).to_have_text("待对接")
    expect(page.locator(".fields")).to_contain_text("30,000 亩")
    match = page.locator("#matches li.match").first
    expect(match.locator("h3")).to_have_text(MAIZE)
    reasons = match.locator(".reason")
    expect(reasons.filter(has_text="同为玉米")).to_have_count(1)
    expect(reasons.filter(has_text="耕地场景：干旱半干旱耕地")).to_have_count(1)
    expect(reasons.filter(has_text="适宜区域在河南省其他地方")).to_have_count(1)  # 郑州, not 许昌
    expect(reasons.filter(has_text="技术成熟度 8 级")).to_have_count(1)
    expect(reasons.filter(has_text="文字相近：")).to_contain_text("耐密")
    # only published results are matched: the submitted 大豆 and the withdrawn wheat result are not there
    expect(page.locator("#matches li.match")).to_have_count(1)

    with page.expect_navigation():
        match.get_by_role("link", name=MAIZE).click()
    sites = page.locator("#needing-sites li.match")
    expect(sites).to_have_count(1)
    expect(sites.first).to_contain_text("河南许昌国家农业科技园区")
    expect(sites.first.locator(".reason").filter(has_text="同为玉米")).to_have_count(1)
    with page.expect_navigation():
        sites.first.get_by_role("link", name="引进耐旱耐密的夏玉米新品种").click()

    page.locator("form:has(input[name=action][value=close]) input[name=comment]").fill("已对接郑州的品种")
    with page.expect_navigation():
        page.get_by_role("button", name="关闭需求").click()
    expect(page.locator("#need-state")).to_have_text("已关闭")
    expect(page.get_by_role("button", name="重新打开")).to_be_visible()
    page.goto("/needs?state=closed")
    expect(page.locator(".needs-list li")).to_have_count(1)


def test_new_need__bad_area__the_form_says_why_and_keeps_the_input(park_page: Any, traffic: Traffic) -> None:
    page = park_page()
    post_need(page, area_mu="很多")
    expect(page.locator(".form-errors")).to_contain_text("面积应为大于 0")
    assert traffic.errors and all("422" in e for e in traffic.errors), traffic.errors  # the page answers 422
    traffic.errors.clear()
    expect(page.locator("input[name=title]")).to_have_value("引进耐旱耐密的夏玉米新品种")
    expect(page.locator("input[name=crops][value=maize]")).to_be_checked()
    page.goto("/needs")
    expect(page.locator(".needs-list li")).to_have_count(0)


def test_need_page__english_and_a_phone_screen(park_page: Any, page: Any) -> None:
    phone = park_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    post_need(phone)
    url = phone.url
    phone.goto(url + "?lang=en")
    expect(phone.locator("#matches h2")).to_have_text("Matching results")
    expect(phone.locator("#matches .reason").filter(has_text="both Maize")).to_have_count(1)
    box = phone.locator("#matches li.match").first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # no sideways scrolling
    # the reader (a ministry officer) reads the open need, but may not post or change it
    page.goto("/needs")
    expect(page.get_by_role("link", name="发布需求")).to_have_count(0)
    with page.expect_navigation():
        page.get_by_role("link", name="引进耐旱耐密的夏玉米新品种").click()
    expect(page.locator("#need-actions")).to_have_count(0)
    expect(page.locator("#matches li.match")).to_have_count(1)


def test_needs__signed_out__sent_to_sign_in(open_page: Any) -> None:
    page = open_page(anonymous=True)
    page.goto("/needs")
    assert "/login" in page.url
    page.goto("/results")
    expect(page.get_by_role("link", name="需求对接")).to_have_count(0)
