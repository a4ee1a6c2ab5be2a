from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from catalog.account_rules import can_revoke_token, ensure_token_revocable, visible_devices
from catalog.accounts import Token, User, get_token, issue_token, revoke_token
from catalog.errors import Forbidden
from server.api.auth.routes import credentials_user, sign_in_limit
from server.api.auth.schemas import NewTokenSchema, TokenRequestSchema, TokenSchema, token_dict
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("devices", __name__, url_prefix="/api/devices", description="外业设备 / Field-kit devices")


@blp.route("")
class Devices(MethodView):
    @blp.response(200, TokenSchema(many=True))
    @login_required
    def get(self) -> list[dict[str, Any]]:
        """我的设备，及（管理员）辖区内推广员的设备 / Your devices, and those of the agents below you"""
        session, actor = db_session(), current_actor()
        tokens = list(session.scalars(visible_devices(actor).order_by(Token.created_at.desc(), Token.id)))
        names = {uid: name for uid, name in session.execute(
            select(User.id, User.username).where(User.id.in_({t.user_id for t in tokens})))}
        return [token_dict(t, names.get(t.user_id, ""), can_revoke_token(session, actor, t)) for t in tokens]

    @blp.arguments(TokenRequestSchema)
    @blp.response(201, NewTokenSchema)
    @sign_in_limit
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """登记外业设备（推广员账号，密钥仅显示一次）/ Enrol a field kit (an agent's credentials; secret shown once)"""
        user = credentials_user(data, "sync")
        if not any(g.role == "agent" for g in user.roles):
            raise Forbidden(en="Only county extension agents enrol field kits", zh="只有县农技推广员可以登记外业设备")
        token, secret = issue_token(db_session(), user, "device", data["name"])
        db_session().commit()
        return {**token_dict(token, user.username), "secret": secret}


@blp.route("/<token_id>", methods=["DELETE"])
@blp.response(204)
@login_required
def revoke_device(token_id: str) -> None:
    """撤销设备（本人或上级管理员）/ Revoke a device (its agent, or an officer above)"""
    session, actor = db_session(), current_actor()
    token = get_token(session, token_id)
    if token is not None and token.kind != "device":
        token = None  # API tokens are their owner's business, at /api/auth/tokens
    revoke_token(ensure_token_revocable(session, actor, token, token_id), actor.name)
    session.commit()
