"""Sign-in and sign-out pages, the officers' account pages and "my devices and tokens": as HTML through the test
client (both engines), and once in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.accounts_helpers import PW, accounts_page, accounts_server, csrf_of, post_form, sign_in

__all__ = ["accounts_page", "accounts_server"]  # fixtures, used by name


def page_of(resp: Any, status: int = 200) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)[:800]
    assert resp.mimetype == "text/html"
    return str(resp.get_data(as_text=True))


def usernames(html: str) -> set[str]:
    return set(re.findall(r'data-username="([^"]+)"', html))


def user_id(client: Any, as_role: Any, role: str) -> str:
    return str(as_role(role).get("/api/auth/me").get_json()["id"])


def test_login_page__csrf_form__signs_in_and_header_shows_who(client, accounts):
    html = page_of(client.get("/login"))
    assert 'name="csrf_token"' in html and 'type="password"' in html
    resp = sign_in(client, "u_city_officer", next_url="/codelists")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/codelists")
    header = page_of(client.get("/codelists"))
    assert "u_city_officer" in header and "市级管理员" in header
    assert 'href="/accounts"' in header and 'action="/logout"' in header and 'href="/login' not in header


def test_login_page__english__labels_and_roles_in_english(client, accounts):
    sign_in(client, "u_agent")
    html = page_of(client.get("/devices?lang=en"))
    assert "County extension agent" in html and "Sign out" in html and "Field-kit devices" in html
    assert 'href="/accounts"' not in html  # agents manage no accounts


def test_login_page__without_csrf_token__refused(client, accounts):
    resp = client.post("/login", data={"username": "u_agent", "password": PW})
    assert resp.status_code == 400
    assert client.get("/api/auth/me").status_code == 401


def test_login_page__wrong_password__401_message__locked_after_five(client, accounts):
    html = page_of(sign_in(client, "u_agent", "wrong password"), 401)
    assert "用户名或密码错误" in html and 'value="u_agent"' in html
    for _ in range(4):
        assert sign_in(client, "u_agent", "wrong password").status_code == 401
    locked = page_of(sign_in(client, "u_agent"), 429)
    assert "请求过于频繁" in locked


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_page__next_elsewhere__goes_home(client, accounts, target):
    resp = sign_in(client, "u_agent", next_url=target)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_logout__get_asks__post_signs_out(client, accounts):
    sign_in(client, "u_agent")
    html = page_of(client.get("/logout"))
    assert 'method="post"' in html
    assert client.get("/api/auth/me").status_code == 200  # a GET signs nobody out
    assert client.post("/logout", data={}).status_code == 400  # no token: refused
    assert client.post("/logout", data={"csrf_token": csrf_of(html)}).status_code == 302
    assert client.get("/api/auth/me").status_code == 401
    assert 'href="/login' in page_of(client.get("/codelists"))


def test_accounts_page__anonymous__sent_to_sign_in(client):
    resp = client.get("/accounts")
    assert resp.status_code == 302 and "/login?next=/accounts" in resp.headers["Location"]
    assert client.get("/devices").status_code == 302


@pytest.mark.parametrize("role", ["agent", "park_manager", "result_holder", "reviewer"])
def test_accounts_page__not_an_officer__403(client, accounts, role):
    sign_in(client, f"u_{role}")
    page_of(client.get("/accounts"), 403)


def test_accounts_page__province_officer__lists_its_province(client, accounts):
    sign_in(client, "u_province_officer")
    html = page_of(client.get("/accounts"))
    assert usernames(html) == {"u_province_officer", "u_city_officer", "u_county_officer", "u_agent"}
    assert "中原区" in html and "共 4 个账号" in html
    assert usernames(page_of(client.get("/accounts?q=agent"))) == {"u_agent"}


def test_accounts_page__create_below__done__above__refused_and_nothing_written(client, accounts):
    sign_in(client, "u_city_officer")
    form = {"username": "xz_agent", "display_name": "新郑推广员", "password": "a long password", "role": "agent",
            "scope": "410184"}
    resp = post_form(client, "/accounts", form)
    assert resp.status_code == 302 and "/accounts/" in resp.headers["Location"]
    html = page_of(client.get(resp.headers["Location"]))
    assert "已新建账号 xz_agent" in html and "新郑市" in html

    refused = page_of(post_form(client, "/accounts", {**form, "username": "hn_officer", "role": "province_officer",
                                                      "scope": "410000"}), 403)
    assert "只能授予本辖区以下的角色" in refused and 'value="hn_officer"' in refused
    invalid = page_of(post_form(client, "/accounts", {**form, "username": "bad", "scope": "410100"}), 422)
    assert "410100" in invalid
    taken = page_of(post_form(client, "/accounts", {**form, "username": "u_agent"}), 409)
    assert "已被使用" in taken
    assert usernames(page_of(client.get("/accounts"))) >= {"xz_agent"}
    assert not {"hn_officer", "bad"} & usernames(page_of(client.get("/accounts")))


def test_account_page__disable_reset_roles__through_forms(app, client, accounts, as_role):
    agent = user_id(client, as_role, "agent")
    sign_in(client, "u_county_officer")
    url = f"/accounts/{agent}"

    assert post_form(client, url, {"action": "add_role", "role": "park_manager", "scope": "NASTP014"}).status_code \
        == 403  # the 许昌 park is not in 中原区
    assert post_form(client, url, {"action": "rename", "display_name": "中原区推广员"}).status_code == 302
    assert "中原区推广员" in page_of(client.get(url))

    assert post_form(client, url, {"action": "password", "password": "the new password"}).status_code == 302
    fresh = app.test_client()
    assert fresh.post("/api/auth/login", json={"username": "u_agent", "password": "the new password"}
                      ).status_code == 200

    resp = post_form(client, url, {"action": "disable"})
    assert resp.status_code == 302
    assert "账号已停用" in page_of(client.get(url))
    assert as_role("agent").get("/api/auth/me").status_code == 401
    assert fresh.get("/api/auth/me").status_code == 401  # its web session too
    assert post_form(client, url, {"action": "enable"}).status_code == 302
    assert as_role("agent").get("/api/auth/me").status_code == 200


def test_account_page__out_of_scope__404__peer__read_only(client, accounts, as_role):
    other = user_id(client, as_role, "other_agent")
    sign_in(client, "u_province_officer")
    page_of(client.get(f"/accounts/{other}"), 404)
    assert post_form(client, f"/accounts/{other}", {"action": "disable"}, page="/accounts").status_code == 404
    own = user_id(client, as_role, "province_officer")
    html = page_of(client.get(f"/accounts/{own}"))
    assert "只能查看" in html and 'value="disable"' not in html


def test_devices_page__agent_lists_and_revokes_its_device(client, accounts):
    device = client.post("/api/devices", json={"username": "u_agent", "password": PW, "name": "中原区平板"}).get_json()
    sign_in(client, "u_agent")
    html = page_of(client.get("/devices"))
    assert 'data-name="中原区平板"' in html and 'data-name="tests"' in html  # the device and the API token
    resp = post_form(client, f"/devices/{device['id']}/revoke", {}, page="/devices")
    assert resp.status_code == 302
    assert "已撤销：中原区平板" in page_of(client.get("/devices"))
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {device['secret']}"}).status_code == 401


def test_devices_page__officer_revokes_agent_device__outsider_404(app, client, accounts):
    device = client.post("/api/devices", json={"username": "u_agent", "password": PW, "name": "平板"}).get_json()
    outsider = app.test_client()
    sign_in(outsider, "u_other_agent")
    assert 'data-name="平板"' not in page_of(outsider.get("/devices"))
    assert post_form(outsider, f"/devices/{device['id']}/revoke", {}, page="/devices").status_code == 404
    sign_in(client, "u_city_officer")
    assert 'data-name="平板"' in page_of(client.get("/devices"))
    assert post_form(client, f"/devices/{device['id']}/revoke", {}, page="/devices").status_code == 302


@pytest.mark.browser
def test_browser__officer_signs_in_creates_an_account_and_signs_out(accounts_page):
    page = accounts_page
    page.goto("/accounts")
    assert "/login" in page.url
    page.fill("input[name=username]", "u_province_officer")
    page.fill("input[name=password]", PW)
    page.click("form.stack-form button[type=submit]")
    page.wait_for_url("**/accounts")
    assert page.locator(".user-menu").inner_text().count("省级管理员") == 1

    form = page.locator("#new-account form")
    form.locator("input[name=username]").fill("xz_agent")
    form.locator("input[name=password]").fill("a long password")
    form.locator("select[name=role]").select_option("agent")
    form.locator("input[name=scope]").fill("410184")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/accounts/*")
    assert "新郑市" in page.locator("main").inner_text()

    page.locator(".user-menu button").click()
    page.wait_for_url("**/")
    assert page.locator(".user-menu a[href^='/login']").count() == 1
