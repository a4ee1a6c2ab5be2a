from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from flask_wtf.csrf import generate_csrf

from catalog.account_rules import ensure_token_revocable
from catalog.accounts import User, get_token, issue_token, revoke_token, tokens_of
from catalog.audit import act_as
from server.api.auth.schemas import (
    CredentialsSchema,
    MeSchema,
    NewTokenSchema,
    TokenRequestSchema,
    TokenSchema,
    token_dict,
)
from server.api.users.schemas import user_dict
from server.auth import (
    SIGN_IN_LIMIT,
    actor_for,
    authenticate,
    current_actor,
    limiter,
    login_required,
    sign_in_session,
    sign_out_session,
)
from server.db import db_session

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="登录与令牌 / Sign-in and tokens")


def _failed(response: Response) -> bool:
    return response.status_code == 401


# One budget of failed sign-ins per address and username, shared by every endpoint that takes a password
# (API and page sign-in, token and device enrolment), so trying each in turn gains nothing.
sign_in_limit = limiter.shared_limit(SIGN_IN_LIMIT, scope="sign-in", deduct_when=_failed)


def credentials_user(data: dict[str, Any], channel: str = "api") -> User:
    """The account behind a username and password; from here on the request writes as that account."""
    user = authenticate(data["username"], data["password"])
    act_as(db_session(), actor_for(user, channel))
    return user


@blp.route("/login", methods=["POST"])
@blp.arguments(CredentialsSchema)
@blp.response(200, MeSchema)
@sign_in_limit
def login(data: dict[str, Any]) -> dict[str, Any]:
    """登录（网页会话）/ Sign in to a web session"""
    user = credentials_user(data)
    sign_in_session(user)
    return {**user_dict(db_session(), user, actor_for(user, "api")), "csrf_token": generate_csrf()}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout() -> None:
    """退出登录 / Sign out of the web session"""
    sign_out_session()


@blp.route("/me")
@blp.response(200, MeSchema)
@login_required
def me() -> dict[str, Any]:
    """当前账号及其角色 / Who you are and your roles"""
    actor = current_actor()
    session = db_session()
    user = session.get(User, actor.user_id)
    if user is None:  # the operator or the platform itself: no account
        return {"username": actor.name, "display_name": actor.name, "active": True, "roles": []}
    out = user_dict(session, user, actor)
    if actor.token_id is None:  # a web session: hand it the token its writes need
        out["csrf_token"] = generate_csrf()
    return out


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, NewTokenSchema)
@sign_in_limit
def create_token(data: dict[str, Any]) -> dict[str, Any]:
    """用用户名和密码申请接口令牌（密钥仅显示一次）/ Get an API token with username and password (secret shown once)"""
    user = credentials_user(data)
    token, secret = issue_token(db_session(), user, "api", data["name"])
    db_session().commit()
    return {**token_dict(token, user.username), "secret": secret}


@blp.route("/tokens")
@blp.response(200, TokenSchema(many=True))
@login_required
def list_tokens() -> list[dict[str, Any]]:
    """我的接口令牌 / Your API tokens"""
    session = db_session()
    user = session.get(User, current_actor().user_id)
    return [token_dict(t, user.username) for t in tokens_of(session, user, "api")] if user else []


@blp.route("/tokens/<token_id>", methods=["DELETE"])
@blp.response(204)
@login_required
def delete_token(token_id: str) -> None:
    """撤销我的接口令牌 / Revoke one of your API tokens"""
    session, actor = db_session(), current_actor()
    token = get_token(session, token_id)
    # Only one's own API tokens here; devices (which officers may revoke too) are under /api/devices.
    if token is not None and (token.kind != "api" or token.user_id != actor.user_id):
        token = None
    revoke_token(ensure_token_revocable(session, actor, token, token_id), actor.name)
    session.commit()
