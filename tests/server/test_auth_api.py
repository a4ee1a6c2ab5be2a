"""Sign-in: web sessions (CSRF), API tokens, the failed sign-in limit, and what the database keeps of secrets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Session

from catalog.accounts import Token, User
from catalog.db import Base
from tests.server.test_error_shape import assert_shape

PW = "correct horse battery"


def login(client: Any, username: str, password: str = PW) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_login__right_password__session_cookie_serves_me(client, accounts):
    resp = login(client, "u_county_officer")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["username"] == "u_county_officer" and body["csrf_token"]
    assert "password" not in resp.get_data(as_text=True)
    me = client.get("/api/auth/me").get_json()
    assert me["username"] == "u_county_officer"
    assert me["roles"] == [{"role": "county_officer", "scope": "410102", "scope_name": "中原区",
                            "name": {"zh": "县级管理员", "en": "County officer"}}]


def test_login__wrong_password_or_unknown_user__401_and_no_session(client, accounts):
    assert_shape(login(client, "u_agent", "wrong password!"), 401, "bad_credentials")
    assert_shape(login(client, "nobody", PW), 401, "bad_credentials")
    assert_shape(client.get("/api/auth/me"), 401, "unauthorized")


def test_logout__ends_the_session(client, accounts):
    token = login(client, "u_agent").get_json()["csrf_token"]
    assert client.get("/api/auth/me").status_code == 200
    assert client.post("/api/auth/logout", headers={"X-CSRFToken": token}).status_code == 204
    assert_shape(client.get("/api/auth/me"), 401, "unauthorized")


def test_me__bearer_token__user_without_csrf_token(as_role):
    me = as_role("agent").get("/api/auth/me").get_json()
    assert me["username"] == "u_agent" and "csrf_token" not in me


def test_rate_limit__sixth_failed_sign_in__429_even_with_the_right_password(client, accounts):
    for _ in range(5):
        assert login(client, "u_agent", "wrong password!").status_code == 401
    resp = login(client, "u_agent")
    assert_shape(resp, 429, "too_many_requests")
    # the budget is per address and username, and shared by every endpoint that takes a password
    assert_shape(client.post("/api/auth/tokens", json={"username": "u_agent", "password": PW, "name": "x"}), 429,
                 "too_many_requests")
    assert login(client, "u_reviewer").status_code == 200


def test_rate_limit__successful_sign_ins__not_counted(app, accounts):
    for _ in range(8):  # a fresh browser each time (a signed-in one would need its CSRF token to sign in again)
        assert login(app.test_client(), "u_agent").status_code == 200
    for _ in range(5):
        assert login(app.test_client(), "u_agent", "wrong password!").status_code == 401
    assert login(app.test_client(), "u_agent").status_code == 429


def test_api_token__issued_once__listed_without_secret__revoked_refused(client, accounts):
    resp = client.post("/api/auth/tokens", json={"username": "u_reviewer", "password": PW, "name": "脚本"})
    assert resp.status_code == 201
    new = resp.get_json()
    secret = new["secret"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/auth/me", headers=bearer).get_json()["username"] == "u_reviewer"

    listed = client.get("/api/auth/tokens", headers=bearer).get_json()
    assert {t["name"] for t in listed} == {"tests", "脚本"}
    assert secret not in str(listed) and all("secret" not in t for t in listed)

    assert client.delete(f"/api/auth/tokens/{new['id']}", headers=bearer).status_code == 204
    assert_shape(client.get("/api/auth/me", headers=bearer), 401, "invalid_token")


def test_api_token__wrong_password__401_and_none_issued(client, accounts, app):
    resp = client.post("/api/auth/tokens", json={"username": "u_reviewer", "password": "nope nope nope", "name": "x"})
    assert_shape(resp, 401, "bad_credentials")
    with Session(app.extensions["yx_engine"]) as s:
        assert s.scalars(select(Token.name).join(User, User.id == Token.user_id)
                         .where(User.username == "u_reviewer")).all() == ["tests"]


def test_api_token__someone_elses__404_and_still_live(client, accounts, as_role):
    mine = client.post("/api/auth/tokens", json={"username": "u_reviewer", "password": PW, "name": "x"}).get_json()
    assert_shape(as_role("ministry_officer").delete(f"/api/auth/tokens/{mine['id']}"), 404, "not_found")
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {mine['secret']}"}).status_code == 200


def test_disabled_account__token_and_web_session_refused_at_next_request(app, accounts, as_role):
    agent_session = app.test_client()
    assert login(agent_session, "u_agent").status_code == 200
    assert agent_session.get("/api/auth/me").status_code == 200
    assert as_role("agent").get("/api/auth/me").status_code == 200

    agent_id = as_role("agent").get("/api/auth/me").get_json()["id"]
    assert as_role("county_officer").patch(f"/api/users/{agent_id}", json={"active": False}).status_code == 200

    assert_shape(as_role("agent").get("/api/auth/me"), 401, "invalid_token")
    assert_shape(agent_session.get("/api/auth/me"), 401, "unauthorized")
    assert_shape(login(app.test_client(), "u_agent"), 401, "bad_credentials")

    assert as_role("county_officer").patch(f"/api/users/{agent_id}", json={"active": True}).status_code == 200
    assert as_role("agent").get("/api/auth/me").status_code == 200  # the token itself was never revoked


def test_csrf__session_write_without_token_refused__with_token_done(app, client, accounts):
    app.config["WTF_CSRF_ENABLED"] = True
    token = login(client, "u_province_officer").get_json()["csrf_token"]
    new = {"username": "zz_city", "password": "a long password", "roles": [{"role": "city_officer",
                                                                           "scope": "410300"}]}
    assert_shape(client.post("/api/users", json=new), 400, "csrf_failed")
    assert_shape(client.post("/api/users", json=new, headers={"X-CSRFToken": "forged"}), 400, "csrf_failed")
    assert client.get("/api/users?q=zz_city").get_json()["total"] == 0  # the refused write changed nothing
    assert client.post("/api/users", json=new, headers={"X-CSRFToken": token}).status_code == 201


def test_csrf__bearer_write__needs_no_csrf_token(app, as_role):
    app.config["WTF_CSRF_ENABLED"] = True
    new = {"username": "zz_city", "password": "a long password", "roles": [{"role": "city_officer",
                                                                           "scope": "410300"}]}
    assert as_role("province_officer").post("/api/users", json=new).status_code == 201


def _text_values(session: Session) -> list[str]:
    """Every value of every text-like column (strings, text, JSON) of every table."""
    out: list[str] = []
    for table in Base.metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, String | Text | JSON) or
                isinstance(getattr(c.type, "impl", None), String | Text | JSON)]
        if cols:
            out.extend(str(v) for row in session.execute(select(*cols)) for v in row if v is not None)
    return out


def test_passwords_and_secrets__not_recoverable_from_the_database(app, client, accounts, as_role):
    password = "Zhengzhou-2025-secret"
    resp = as_role("province_officer").post("/api/users", json={
        "username": "zz_agent", "password": password, "roles": [{"role": "agent", "scope": "410184"}]})
    assert resp.status_code == 201
    uid = resp.get_json()["id"]
    new_password = "Another-2025-secret"
    assert as_role("province_officer").post(f"/api/users/{uid}/password",
                                            json={"password": new_password}).status_code == 204
    secret = client.post("/api/devices", json={"username": "zz_agent", "password": new_password,
                                               "name": "平板"}).get_json()["secret"]
    with Session(app.extensions["yx_engine"]) as s:
        values = _text_values(s)
        user = s.scalars(select(User).where(User.username == "zz_agent")).one()
        assert user.password_hash.startswith("$argon2id$")
    assert len(values) > 1000  # the scan did read the database (reference data included)
    for plain in (password, new_password, secret, secret.split("_", 1)[1]):
        assert [v for v in values if plain in v] == []
