from __future__ import annotations

import math
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import func, or_, select

from catalog.account_rules import (
    create_account,
    ensure_officer,
    ensure_user_visible,
    reset_password,
    update_account,
    visible_users,
)
from catalog.accounts import RoleGrant, User
from server.api.users.schemas import (
    PasswordSchema,
    UserCreateSchema,
    UserEditSchema,
    UserPageSchema,
    UserQuery,
    UserSchema,
    user_dict,
)
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("users", __name__, url_prefix="/api/users", description="账号管理 / Accounts")


def _grants(data: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(g["role"], g["scope"] or None) for g in data["roles"]]


def _visible(user_id: str) -> User:
    session = db_session()
    return ensure_user_visible(session, current_actor(), session.get(User, user_id), user_id)


@blp.route("")
class Users(MethodView):
    @blp.arguments(UserQuery, location="query", unknown=RAISE)
    @blp.response(200, UserPageSchema)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本辖区的账号（管理员）/ Accounts in your scope (officers)"""
        actor, session = current_actor(), db_session()
        ensure_officer(actor)
        query = visible_users(actor).order_by(User.username)
        if "q" in args:
            like = f"%{args['q']}%"
            query = query.where(or_(User.username.ilike(like), User.display_name.ilike(like)))
        if "role" in args:
            query = query.where(User.id.in_(select(RoleGrant.user_id).where(RoleGrant.role == args["role"])))
        if "active" in args:
            query = query.where(User.active.is_(args["active"]))
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        users = session.scalars(query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"]))
        return {"items": [user_dict(session, u, actor) for u in users], "total": total, "page": args["page"],
                "per_page": args["per_page"], "pages": max(1, math.ceil(total / args["per_page"]))}

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    @login_required
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """新建本辖区以下的账号 / Create an account below your scope"""
        actor, session = current_actor(), db_session()
        user = create_account(session, actor, data["username"], data["password"], data["display_name"],
                              _grants(data))
        session.commit()
        return user_dict(session, user, actor)


@blp.route("/<user_id>")
class UserItem(MethodView):
    @blp.response(200, UserSchema)
    @login_required
    def get(self, user_id: str) -> dict[str, Any]:
        """一个账号 / One account"""
        return user_dict(db_session(), _visible(user_id), current_actor())

    @blp.arguments(UserEditSchema)
    @blp.response(200, UserSchema)
    @login_required
    def patch(self, data: dict[str, Any], user_id: str) -> dict[str, Any]:
        """修改账号（姓名、启用/停用、角色）/ Change an account's name, state or roles"""
        actor, session = current_actor(), db_session()
        user = update_account(session, actor, _visible(user_id), display_name=data.get("display_name"),
                              active=data.get("active"), grants=_grants(data) if "roles" in data else None)
        session.commit()
        return user_dict(session, user, actor)


@blp.route("/<user_id>/password", methods=["POST"])
@blp.arguments(PasswordSchema)
@blp.response(204)
@login_required
def reset_user_password(data: dict[str, Any], user_id: str) -> None:
    """重置账号密码 / Reset an account's password"""
    session = db_session()
    reset_password(session, current_actor(), _visible(user_id), data["password"])
    session.commit()
