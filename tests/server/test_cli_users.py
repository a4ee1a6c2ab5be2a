"""``yuanxian users ...`` through the app's CLI runner: accounts made, listed, disabled, reset, re-roled; audited as
the operator."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import User, check_password, issue_token
from catalog.audit import AuditEntry, act_as
from server.cli import main

PW = "a long password"


def run(app: Any, *args: str, input: str | None = None) -> Any:  # noqa: A002
    return app.test_cli_runner().invoke(main, ["users", *args], input=input)


def user(app: Any, username: str) -> User | None:
    with Session(app.extensions["yx_engine"]) as s:
        found = s.scalars(select(User).where(User.username == username)).one_or_none()
        if found is not None:
            found.roles  # noqa: B018  (loaded before the session closes)
        return found


def roles(app: Any, username: str) -> set[tuple[str, str | None]]:
    found = user(app, username)
    assert found is not None
    return {(g.role, g.scope) for g in found.roles}


def test_create__password_from_stdin__several_roles_audited_as_operator(app):
    result = run(app, "create", "zz", "--role", "agent:410184", "--role", "reviewer", "--display-name", "郑州",
                 "--password-stdin", input=f"{PW}\n")
    assert result.exit_code == 0, result.output
    assert "agent:410184" in result.output and PW not in result.output
    created = user(app, "zz")
    assert created is not None and created.display_name == "郑州" and check_password(created, PW)
    assert roles(app, "zz") == {("agent", "410184"), ("reviewer", None)}
    with Session(app.extensions["yx_engine"]) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity == "user_account",
                                                   AuditEntry.entity_id == created.id)).one()
    assert entry.actor.startswith("cli:") and entry.channel == "cli" and entry.after["password_hash"] == "***"


def test_create__prompted_password_confirmed(app):
    result = run(app, "create", "zz", "--role", "ministry_officer", input=f"{PW}\n{PW}\n")
    assert result.exit_code == 0, result.output
    assert check_password(user(app, "zz"), PW)  # type: ignore[arg-type]


def test_create__bad_scope_short_password_or_unknown_role__exit_1_nothing_written(app):
    bad_scope = run(app, "create", "zz", "--role", "agent:410000", "--password", PW)
    assert bad_scope.exit_code == 1 and "410000" in bad_scope.output
    short = run(app, "create", "zz", "--role", "agent:410184", "--password", "short")
    assert short.exit_code == 1 and "password" in short.output
    unknown = run(app, "create", "zz", "--role", "wizard", "--password", PW)
    assert unknown.exit_code == 2 and "wizard" in unknown.output
    assert user(app, "zz") is None


def test_list__active_by_default__all_with_flag(app):
    run(app, "create", "zz_a", "--role", "agent:410184", "--password", PW)
    run(app, "create", "zz_b", "--role", "province_officer:410000", "--password", PW)
    assert run(app, "disable", "zz_b").exit_code == 0
    listed = run(app, "list").output
    assert "zz_a" in listed and "zz_b" not in listed and "县农技推广员" in listed
    everyone = run(app, "list", "--all").output
    assert "zz_b" in everyone and "停用" in everyone
    assert "zz_b" not in run(app, "list", "--all", "--role", "agent").output


def test_disable__token_refused__enable__accepted(app):
    run(app, "create", "zz", "--role", "agent:410184", "--password", PW)
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        found = s.scalars(select(User).where(User.username == "zz")).one()
        _token, secret = issue_token(s, found, "device", "平板")
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/auth/me", headers=bearer).status_code == 200
    assert run(app, "disable", "zz").exit_code == 0
    assert client.get("/api/auth/me", headers=bearer).status_code == 401
    assert run(app, "enable", "zz").exit_code == 0
    assert client.get("/api/auth/me", headers=bearer).status_code == 200


def test_reset_password__new_one_works(app):
    run(app, "create", "zz", "--role", "agent:410184", "--password", PW)
    result = run(app, "reset-password", "zz", "--password-stdin", input="another long one\n")
    assert result.exit_code == 0, result.output
    found = user(app, "zz")
    assert found is not None and check_password(found, "another long one") and not check_password(found, PW)


def test_grant_and_revoke_role(app):
    run(app, "create", "zz", "--role", "agent:410184", "--password", PW)
    assert run(app, "grant-role", "zz", "park_manager:NASTP014").exit_code == 0
    assert roles(app, "zz") == {("agent", "410184"), ("park_manager", "NASTP014")}
    assert run(app, "revoke-role", "zz", "agent:410184").exit_code == 0
    assert roles(app, "zz") == {("park_manager", "NASTP014")}
    missing = run(app, "revoke-role", "zz", "agent:410184")
    assert missing.exit_code == 1 and roles(app, "zz") == {("park_manager", "NASTP014")}
    last = run(app, "revoke-role", "zz", "park_manager:NASTP014")  # an account keeps at least one role
    assert last.exit_code == 1 and roles(app, "zz") == {("park_manager", "NASTP014")}


def test_unknown_user__exit_1(app):
    result = run(app, "disable", "nobody")
    assert result.exit_code == 1 and "nobody" in result.output


def test_tokens_listed_and_revoked(app):
    run(app, "create", "zz", "--role", "agent:410184", "--password", PW)
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        token, secret = issue_token(s, s.scalars(select(User).where(User.username == "zz")).one(), "device", "平板")
        token_id = token.id
    assert token_id in run(app, "tokens", "zz").output
    assert run(app, "revoke-token", token_id).exit_code == 0
    assert "已撤销" in run(app, "tokens", "zz").output
    assert app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_seed_demo__one_account_per_role__printed_password_signs_in(app):
    from catalog.account_rules import validate_grant
    from catalog.accounts import ROLES
    from catalog.demo import DEMO_PASSWORD
    from catalog.results import Result
    from catalog.sites import SiteDivision

    runner = app.test_cli_runner()
    first = runner.invoke(main, ["seed", "demo", "--results", "30", "--seed", "5", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output and "/login" in first.output
    again = runner.invoke(main, ["seed", "demo", "--results", "30", "--seed", "5", "--if-empty"])
    assert again.exit_code == 0 and "demo_agent" in again.output  # printed when the data is already there too

    with Session(app.extensions["yx_engine"]) as s:
        demo = list(s.scalars(select(User).where(User.username.startswith("demo_"))))
        grants = [(g.role, g.scope) for u in demo for g in u.roles]
        assert sorted(r for r, _ in grants) == sorted(ROLES)  # one account per role, none twice
        assert all(validate_grant(s, r, sc) == [] for r, sc in grants)
        scopes = dict(grants)
        assert s.scalar(select(SiteDivision.site_id).where(SiteDivision.division_code == scopes["agent"]))
        assert s.scalar(select(Result.id).where(Result.lead_institution == scopes["result_holder"]))
    client = app.test_client()
    for u in demo:
        resp = app.test_client().post("/api/auth/login", json={"username": u.username, "password": DEMO_PASSWORD})
        assert resp.status_code == 200, u.username
    assert client.post("/api/auth/login", json={"username": "demo_agent", "password": "x" * 12}).status_code == 401
