"""Sign-in and sign-out, the officers' account pages, and "my devices and tokens".

Every form posts with the session's CSRF token (``server.auth`` checks it for signed-in sessions; the sign-in
form checks it here, as nobody is signed in yet). Rules come from ``catalog.account_rules``, the same as the API,
so a page and an endpoint never disagree about who may do what.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog.access import Actor
from catalog.account_rules import (
    can_manage_user,
    can_revoke_token,
    create_account,
    ensure_officer,
    ensure_token_revocable,
    ensure_user_visible,
    is_officer,
    parse_grant,
    reset_password,
    scope_name,
    update_account,
    visible_devices,
    visible_users,
)
from catalog.accounts import ROLE_NAMES, ROLES, Token, User, get_token, grants_of, revoke_token, tokens_of
from catalog.errors import CatalogError, ValidationFailed
from server.api.auth.routes import sign_in_limit
from server.auth import BadCredentials, authenticate, csrf, current_actor, sign_in_session, sign_out_session
from server.db import db_session
from server.errors import STATUS
from server.i18n import current_lang, t

PER_PAGE = 20
Page = str | tuple[str, int] | WerkzeugResponse

def role_name(role: str) -> str:
    zh, en = ROLE_NAMES.get(role, (role, role))
    return en if current_lang() == "en" else zh


def error_text(exc: CatalogError) -> list[str]:
    """What went wrong, in the page's language: each field of a validation failure, or the message."""
    en = current_lang() == "en"
    if isinstance(exc, ValidationFailed) and exc.errors:
        return [e.en if en else e.zh for e in exc.errors]
    return [exc.en if en else exc.zh]


def status_of(exc: CatalogError) -> int:
    """The page answers with the status the API gives the same error."""
    return next(s for cls, s in STATUS.items() if isinstance(exc, cls))


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never another host (an open redirect would make a fine phishing link).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.index")


def _sign_in_first() -> WerkzeugResponse:
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


# --- header ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    username: str
    display_name: str
    roles: list[str]
    officer: bool


def _header() -> dict[str, Any]:
    def signed_in() -> SignedIn | None:
        actor = current_actor()
        if actor.user_id is None:
            return None
        user = db_session().get(User, actor.user_id)
        name = user.display_name if user else actor.name
        return SignedIn(actor.name, name, [role_name(g.role) for g in actor.grants], is_officer(actor))

    return {"signed_in": signed_in, "role_name": role_name}


# --- sign-in -----------------------------------------------------------------------------------------------


def login() -> Page:
    """登录 / Sign in."""
    return render_template("login.html", next=request.args.get("next", ""), username="", errors=[])


@sign_in_limit
def login_submit() -> Page:
    """Checks the form; a failure answers 401 (counted by the failed sign-in limit, as on the API)."""
    csrf.protect()
    username = request.form.get("username", "").strip()
    try:
        user = authenticate(username, request.form.get("password", ""))
    except BadCredentials as exc:
        return render_template("login.html", next=request.form.get("next", ""), username=username,
                               errors=error_text(exc)), 401
    sign_in_session(user)
    return redirect(_safe_next(request.form.get("next")))


def logout() -> Page:
    """退出 / Sign out: a page with a button (a GET never signs anybody out)."""
    if request.method == "POST":
        sign_out_session()
        return redirect(url_for("web.index"))
    if current_actor().user_id is None:
        return redirect(url_for("web.index"))
    return render_template("logout.html")


# --- accounts ----------------------------------------------------------------------------------------------


@dataclass
class GrantRow:
    role: str
    scope: str | None
    name: str
    place: str | None


def _grant_rows(user: User) -> list[GrantRow]:
    session = db_session()
    return [GrantRow(r, s, role_name(r), scope_name(session, r, s)) for r, s in sorted(
        grants_of(user), key=lambda g: (g[0], g[1] or ""))]


def _officer() -> Actor | None:
    actor = current_actor()
    if actor.user_id is None and not actor.system:
        return None
    ensure_officer(actor)
    return actor


def accounts() -> Page:
    """账号管理 / The accounts in one's scope, and a form for a new one."""
    actor = _officer()
    if actor is None:
        return _sign_in_first()
    errors: list[str] = []
    form: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in ("username", "display_name", "role", "scope")}
        try:
            session = db_session()
            user = create_account(session, actor, form["username"], request.form.get("password", ""),
                                  form["display_name"], [(form["role"], form["scope"] or None)])
            session.commit()
            flash(t("accounts.created", username=user.username))
            return redirect(url_for("web.account", user_id=user.id))
        except CatalogError as exc:
            db_session().rollback()
            errors, status = error_text(exc), status_of(exc)
    return render_template("accounts.html", **_user_list(actor), errors=errors, form=form, roles=list(ROLES)), status


def _user_list(actor: Actor) -> dict[str, Any]:
    session = db_session()
    q = (request.args.get("q") or "").strip()[:64]
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    query = visible_users(actor)
    if q:
        query = query.where(or_(User.username.ilike(f"%{q}%"), User.display_name.ilike(f"%{q}%")))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page, pages)
    users = list(session.scalars(query.order_by(User.username).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    rows = [(u, _grant_rows(u), u.id != actor.user_id and can_manage_user(session, actor, u)) for u in users]
    return {"rows": rows, "total": total, "page": page, "pages": pages, "q": q}


def account(user_id: str) -> Page:
    """一个账号：姓名、状态、角色、重置密码 / One account: name, state, roles, password reset."""
    actor = _officer()
    if actor is None:
        return _sign_in_first()
    session = db_session()
    user = ensure_user_visible(session, actor, session.get(User, user_id), user_id)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            message = _change(actor, user, request.form.get("action", ""))
            session.commit()
            flash(message)
            return redirect(url_for("web.account", user_id=user.id))
        except CatalogError as exc:
            session.rollback()
            errors, status = error_text(exc), status_of(exc)
            user = session.get(User, user_id) or user
    manageable = user.id != actor.user_id and can_manage_user(session, actor, user)
    return render_template("account.html", user=user, grants=_grant_rows(user), manageable=manageable,
                           errors=errors, roles=list(ROLES)), status


def _change(actor: Actor, user: User, action: str) -> str:
    session, form = db_session(), request.form
    if action == "rename":
        update_account(session, actor, user, display_name=form.get("display_name", "").strip()[:64] or user.username)
        return t("account.saved")
    if action in ("disable", "enable"):
        update_account(session, actor, user, active=action == "enable")
        return t("account.enabled" if action == "enable" else "account.disabled_msg")
    if action == "password":
        reset_password(session, actor, user, form.get("password", ""))
        return t("account.password_reset")
    if action == "add_role":
        grant = (form.get("role", ""), form.get("scope", "").strip() or None)
        update_account(session, actor, user, grants=[*grants_of(user), grant])
        return t("account.role_added")
    if action == "remove_role":
        grant = parse_grant(form.get("grant", ""))
        update_account(session, actor, user, grants=[g for g in grants_of(user) if g != grant])
        return t("account.role_removed")
    raise ValidationFailed([], en=f"Unknown action {action}", zh="未知操作")


# --- devices and tokens ------------------------------------------------------------------------------------


def devices() -> Page:
    """我的设备与令牌 / My devices and API tokens (and, for officers, the devices of the agents below)."""
    actor = current_actor()
    if actor.user_id is None:
        return _sign_in_first()
    session = db_session()
    me = session.get(User, actor.user_id)
    mine = tokens_of(session, me, "api") if me else []
    seen = list(session.scalars(visible_devices(actor).order_by(Token.created_at.desc(), Token.id)))
    owners = {uid: name for uid, name in session.execute(
        select(User.id, User.username).where(User.id.in_({t.user_id for t in seen})))}
    rows = [(d, owners.get(d.user_id, ""), d.revoked_at is None and can_revoke_token(session, actor, d))
            for d in seen]
    tokens = [(t, actor.name, t.revoked_at is None) for t in mine]
    return render_template("devices.html", devices=rows, tokens=tokens)


def revoke(token_id: str) -> Page:
    actor = current_actor()
    if actor.user_id is None:
        return _sign_in_first()
    session = db_session()
    token = ensure_token_revocable(session, actor, get_token(session, token_id), token_id)
    revoke_token(token, actor.name)
    session.commit()
    flash(t("devices.revoked", name=token.name))
    return redirect(url_for("web.devices"))


def register(bp: Blueprint) -> None:
    """Adds the pages to the site's blueprint (so they share its security headers) and the header's helpers."""
    bp.add_url_rule("/login", "login", login, methods=["GET"])
    bp.add_url_rule("/login", "login_submit", login_submit, methods=["POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["GET", "POST"])
    bp.add_url_rule("/accounts", "accounts", accounts, methods=["GET", "POST"])
    bp.add_url_rule("/accounts/<user_id>", "account", account, methods=["GET", "POST"])
    bp.add_url_rule("/devices", "devices", devices)
    bp.add_url_rule("/devices/<token_id>/revoke", "revoke", revoke, methods=["POST"])
    bp.app_context_processor(_header)
