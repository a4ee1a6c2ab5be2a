"""Accounts: officers see the accounts of their area and manage only those strictly below their scope."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.accounts import User
from tests.server.test_error_shape import assert_shape

PW = "correct horse battery"


def user_count(app: Any) -> int:
    with Session(app.extensions["yx_engine"]) as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def uid(as_role: Any, role: str) -> str:
    return str(as_role(role).get("/api/auth/me").get_json()["id"])


# (who creates, role, scope, expected status). 410102 中原区 and 410184 新郑市 lie in 郑州 (4101) in 河南 (41);
# 411082 长葛市 in 许昌; NASTP014 is the 许昌 park (河南), NASTP001 the 嘉兴 park (浙江).
CREATE_CASES = [
    ("ministry_officer", "ministry_officer", None, 201),
    ("ministry_officer", "result_holder", "中国农业大学", 201),
    ("ministry_officer", "reviewer", None, 201),
    ("ministry_officer", "province_officer", "130000", 201),
    ("province_officer", "city_officer", "410300", 201),
    ("province_officer", "county_officer", "411082", 201),
    ("province_officer", "agent", "410184", 201),
    ("province_officer", "park_manager", "NASTP014", 201),
    ("province_officer", "reviewer", "410000", 201),
    ("province_officer", "province_officer", "410000", 403),  # a peer, not below
    ("province_officer", "city_officer", "130100", 403),  # another province
    ("province_officer", "park_manager", "NASTP001", 403),
    ("province_officer", "reviewer", None, 403),  # national reviewers are the ministry's
    ("province_officer", "result_holder", "河南农业大学", 403),  # institutions are not placed: the ministry's
    ("province_officer", "ministry_officer", None, 403),
    ("city_officer", "county_officer", "410184", 201),
    ("city_officer", "agent", "410102", 201),
    ("city_officer", "agent", "411082", 403),
    ("city_officer", "city_officer", "410100", 403),
    ("city_officer", "province_officer", "410000", 403),
    ("county_officer", "agent", "410102", 201),
    ("county_officer", "agent", "410184", 403),
    ("county_officer", "county_officer", "410102", 403),
    ("agent", "agent", "410102", 403),
    ("park_manager", "agent", "410102", 403),
    ("result_holder", "result_holder", "河南农业大学", 403),
    ("reviewer", "reviewer", "410000", 403),
]


@pytest.mark.parametrize("creator, role, scope, status", CREATE_CASES,
                         ids=[f"{c}-{r}-{s}" for c, r, s, _ in CREATE_CASES])
def test_create_user__only_below_own_scope(app, as_role, creator, role, scope, status):
    before = user_count(app)
    resp = as_role(creator).post("/api/users", json={"username": "new_one", "password": "a long password",
                                                     "display_name": "新账号", "roles": [{"role": role,
                                                                                        "scope": scope}]})
    assert resp.status_code == status, resp.get_json()
    if status == 201:
        body = resp.get_json()
        assert body["username"] == "new_one" and body["roles"][0]["role"] == role and body["manageable"]
        assert "password" not in resp.get_data(as_text=True)
        assert user_count(app) == before + 1
    else:
        assert_shape(resp, status, "forbidden")
        assert user_count(app) == before


# (roles, expected field error code): a failed write changes nothing.
INVALID_CASES = [
    ([{"role": "agent", "scope": "410000"}], "invalid"),  # a province is no county
    ([{"role": "agent"}], "required"),
    ([{"role": "city_officer", "scope": "999900"}], "invalid"),
    ([{"role": "park_manager", "scope": "IC1-410184"}], "invalid"),  # a county site, not a park
    ([{"role": "ministry_officer", "scope": "410000"}], "invalid"),
    ([{"role": "wizard", "scope": None}], "invalid"),
    ([], "invalid"),
]


@pytest.mark.parametrize("roles, code", INVALID_CASES, ids=[str(r) for r, _ in INVALID_CASES])
def test_create_user__bad_roles__422_and_nothing_written(app, as_role, roles, code):
    before = user_count(app)
    resp = as_role("ministry_officer").post("/api/users", json={"username": "new_one", "password": "a long password",
                                                                "roles": roles})
    err = assert_shape(resp, 422, "validation_failed")
    assert {e["code"] for e in err["errors"]} == {code}
    assert user_count(app) == before


def test_create_user__short_password_or_taken_name__refused(app, as_role):
    officer = as_role("province_officer")
    grant = [{"role": "agent", "scope": "410102"}]
    err = assert_shape(officer.post("/api/users", json={"username": "x1", "password": "short", "roles": grant}),
                       422, "validation_failed")
    assert err["errors"][0]["field"] == "password"
    assert_shape(officer.post("/api/users", json={"username": "u_agent", "password": PW, "roles": grant}), 409,
                 "conflict")
    assert_shape(officer.post("/api/users", json={"username": "a b", "password": PW, "roles": grant}), 422,
                 "validation_failed")


def test_list_users__province_officer__accounts_of_its_province_only(as_role):
    body = as_role("province_officer").get("/api/users?per_page=50").get_json()
    names = {u["username"] for u in body["items"]}
    assert names == {"u_province_officer", "u_city_officer", "u_county_officer", "u_agent"}
    assert body["total"] == 4
    assert {u["username"]: u["manageable"] for u in body["items"]}["u_province_officer"] is False


def test_list_users__county_officer__its_county(as_role):
    names = {u["username"] for u in as_role("county_officer").get("/api/users").get_json()["items"]}
    assert names == {"u_county_officer", "u_agent"}


def test_list_users__ministry__everyone_paginated(as_role):
    body = as_role("ministry_officer").get("/api/users?per_page=3&page=2").get_json()
    assert body["total"] == 10 and body["pages"] == 4 and len(body["items"]) == 3


def test_list_users__filters(as_role):
    ministry = as_role("ministry_officer")
    assert {u["username"] for u in ministry.get("/api/users?role=agent").get_json()["items"]} == {
        "u_agent", "u_other_agent"}
    assert ministry.get("/api/users?q=holder").get_json()["total"] == 2


@pytest.mark.parametrize("role", ["agent", "park_manager", "result_holder", "reviewer"])
def test_list_users__not_an_officer__403(as_role, role):
    assert_shape(as_role(role).get("/api/users"), 403, "forbidden")


def test_list_users__anonymous__401(client):
    assert_shape(client.get("/api/users"), 401, "unauthorized")


def test_user_outside_scope__404_for_reads_and_writes(as_role):
    officer, other = as_role("province_officer"), uid(as_role, "other_agent")
    assert_shape(officer.get(f"/api/users/{other}"), 404, "not_found")
    assert_shape(officer.patch(f"/api/users/{other}", json={"active": False}), 404, "not_found")
    assert_shape(officer.post(f"/api/users/{other}/password", json={"password": "a long password"}), 404,
                 "not_found")
    assert as_role("other_agent").get("/api/auth/me").status_code == 200  # still active


def test_user_seen_but_not_below__403(app, as_role):
    ministry = as_role("ministry_officer")
    peer = ministry.post("/api/users", json={"username": "peer", "password": PW, "roles": [
        {"role": "province_officer", "scope": "410000"}]}).get_json()
    officer = as_role("province_officer")
    got = officer.get(f"/api/users/{peer['id']}").get_json()
    assert got["username"] == "peer" and got["manageable"] is False
    assert_shape(officer.patch(f"/api/users/{peer['id']}", json={"active": False}), 403, "forbidden")
    # an agent of 河南 who is also an agent in 河北: seen by 河南's officer, not managed by it
    both = ministry.post("/api/users", json={"username": "both", "password": PW, "roles": [
        {"role": "agent", "scope": "410102"}, {"role": "agent", "scope": "130102"}]}).get_json()
    assert_shape(officer.patch(f"/api/users/{both['id']}", json={"display_name": "x"}), 403, "forbidden")
    assert officer.get(f"/api/users/{both['id']}").get_json()["display_name"] == "both"


def test_patch_roles__within_scope__replaced(as_role):
    officer, agent = as_role("city_officer"), uid(as_role, "agent")
    resp = officer.patch(f"/api/users/{agent}", json={"roles": [{"role": "agent", "scope": "410102"},
                                                                {"role": "agent", "scope": "410184"}]})
    assert resp.status_code == 200
    assert sorted(g["scope_name"] for g in resp.get_json()["roles"]) == ["中原区", "新郑市"]
    # taking the agent away to 许昌 is beyond the 郑州 officer; nothing changes
    assert_shape(officer.patch(f"/api/users/{agent}", json={"roles": [{"role": "agent", "scope": "411082"}]}), 403,
                 "forbidden")
    assert len(officer.get(f"/api/users/{agent}").get_json()["roles"]) == 2
    # nor may it raise the agent above itself
    assert_shape(officer.patch(f"/api/users/{agent}", json={"roles": [{"role": "city_officer",
                                                                        "scope": "410100"}]}), 403, "forbidden")


def test_patch_self__name_only(as_role):
    officer = as_role("province_officer")
    me = uid(as_role, "province_officer")
    assert officer.patch(f"/api/users/{me}", json={"display_name": "河南省厅"}).get_json()["display_name"] == "河南省厅"
    assert_shape(officer.patch(f"/api/users/{me}", json={"active": False}), 403, "forbidden")
    assert_shape(officer.patch(f"/api/users/{me}", json={"roles": [{"role": "province_officer",
                                                                     "scope": "130000"}]}), 403, "forbidden")
    assert_shape(officer.post(f"/api/users/{me}/password", json={"password": "a long password"}), 403, "forbidden")


def test_reset_password__old_refused_new_accepted_sessions_ended(app, as_role):
    agent = uid(as_role, "agent")
    browser = app.test_client()
    assert browser.post("/api/auth/login", json={"username": "u_agent", "password": PW}).status_code == 200
    assert as_role("county_officer").post(f"/api/users/{agent}/password",
                                          json={"password": "the new password"}).status_code == 204
    assert_shape(browser.get("/api/auth/me"), 401, "unauthorized")
    fresh = app.test_client()
    assert fresh.post("/api/auth/login", json={"username": "u_agent", "password": PW}).status_code == 401
    assert fresh.post("/api/auth/login", json={"username": "u_agent",
                                               "password": "the new password"}).status_code == 200


def test_reset_password__too_short__422(as_role):
    agent = uid(as_role, "agent")
    assert_shape(as_role("county_officer").post(f"/api/users/{agent}/password", json={"password": "short"}), 422,
                 "validation_failed")
