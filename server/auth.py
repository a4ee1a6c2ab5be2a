"""Who is asking: an API or device bearer token, or a signed-in web session; CSRF for sessions; a limit on
failed sign-ins.

Every request gets ``g.actor`` (catalog.access.Actor). A disabled account or a revoked token is refused at its
next request: both are looked up on every request, nothing is cached in the cookie but the user id and a
stamp of the password (so a password reset ends other sessions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request, session
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from catalog.access import ANONYMOUS, Actor, Grant
from catalog.accounts import User, check_password, get_user, user_for_secret
from catalog.errors import CatalogError, NotFound
from server.db import db_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_LIMIT = "5 per 10 minutes"

csrf = CSRFProtect()


def _sign_in_key() -> str:
    body = request.get_json(silent=True) if request.is_json else request.form
    username = str((body or {}).get("username", "")).strip().lower()
    return f"{request.remote_addr}|{username}"


limiter = Limiter(key_func=_sign_in_key, default_limits=[], headers_enabled=True)

# Endpoints that never look at who asks (health probes; metrics check their own token): no lookup, no database.
NO_ACTOR: set[str] = set()


class Unauthorized(CatalogError):
    code = "unauthorized"
    zh = "请先登录"
    en = "Sign-in required"


class BadCredentials(CatalogError):
    code = "bad_credentials"
    zh = "用户名或密码错误"
    en = "Wrong username or password"


class BadToken(CatalogError):
    code = "invalid_token"
    zh = "令牌无效、已撤销或账号已停用"
    en = "The token is invalid, revoked, or its account is disabled"


def actor_for(user: User, channel: str, token_id: str | None = None) -> Actor:
    return Actor(user.username, user.id, tuple(Grant(r.role, r.scope) for r in user.roles), channel, token_id)


def _channel() -> str:
    return "api" if request.path.startswith("/api/") else "page"


def _password_stamp(user: User) -> str:
    return user.password_hash[-16:]


def sign_in_session(user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session["pw"] = _password_stamp(user)
    session.permanent = True


def sign_out_session() -> None:
    session.clear()


def authenticate(username: str, password: str) -> User:
    """The active user with these credentials; failures say nothing about which part was wrong."""
    try:
        user = get_user(db_session(), username)
    except NotFound:
        raise BadCredentials() from None
    if not user.active or not check_password(user, password):
        raise BadCredentials()
    return user


def _load_actor() -> None:
    g.actor = ANONYMOUS.with_channel(_channel())
    if request.endpoint in NO_ACTOR:
        return
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        found = user_for_secret(db_session(), header[7:].strip())
        if found is None:
            raise BadToken()
        user, token = found
        g.actor = actor_for(user, "sync" if token.kind == "device" else _channel(), token.id)
        _reset_session_actor()
        return
    uid = session.get("uid")
    if uid:
        user = db_session().get(User, uid)
        if user is None or not user.active or session.get("pw") != _password_stamp(user):
            sign_out_session()
        else:
            g.actor = actor_for(user, _channel())
            if request.method not in SAFE_METHODS and not current_app.config.get("AUTH_CSRF_DISABLED"):
                csrf.protect()
    _reset_session_actor()


def _reset_session_actor() -> None:
    # The request's database session (if one was opened while loading) writes as this actor from now on.
    if "db_session" in g:
        from catalog.audit import act_as

        act_as(g.db_session, g.actor)


def current_actor() -> Actor:
    return g.get("actor", ANONYMOUS)


F = TypeVar("F", bound=Callable[..., Any])


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_actor().authenticated:
            raise Unauthorized()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked in _load_actor, for sessions only
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # REDIS_URL (server.config) puts the counts in Redis, shared by every worker and app server.
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    # Redis down: sign-in goes on, counted per process, until Redis answers again.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # The limiter object is shared by every app in the process and takes "enabled" from the last app set up:
    # say it explicitly, so one app that turns limits off (a test) does not leave them off for the next.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(_load_actor)
