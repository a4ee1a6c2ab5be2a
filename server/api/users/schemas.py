from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.account_rules import can_manage_user, scope_name
from catalog.accounts import ROLE_NAMES, ROLES, User
from server.api.divisions.schemas import PageArgs

USERNAME = validate.Regexp(r"^[\w.@-]{1,64}$", error="用户名须为1至64个字母、数字或 . @ - _ / "
                                                     "The username needs 1 to 64 letters, digits or . @ - _")


class GrantInSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(list(ROLES)))
    scope = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128),
                          metadata={"description": "区划代码、园区编号或单位名称 / division, park or institution"})


class RoleNameSchema(Schema):
    zh = fields.String()
    en = fields.String()


class GrantSchema(Schema):
    role = fields.String()
    scope = fields.String(allow_none=True)
    scope_name = fields.String(allow_none=True)
    name = fields.Nested(RoleNameSchema)


class UserSchema(Schema):
    id = fields.String()
    username = fields.String()
    display_name = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    roles = fields.List(fields.Nested(GrantSchema))
    manageable = fields.Boolean(metadata={"description": "当前用户能否管理该账号 / whether you may manage it"})


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class UserQuery(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "用户名或姓名 / name part"})
    role = fields.String(validate=validate.OneOf(list(ROLES)))
    active = fields.Boolean()


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    display_name = fields.String(load_default="", validate=validate.Length(max=64))
    roles = fields.List(fields.Nested(GrantInSchema), required=True, validate=validate.Length(min=1, max=20))


class UserEditSchema(Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=64))
    active = fields.Boolean()
    roles = fields.List(fields.Nested(GrantInSchema), validate=validate.Length(min=1, max=20))


class PasswordSchema(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


def grant_dict(session: Session, role: str, scope: str | None) -> dict[str, Any]:
    zh, en = ROLE_NAMES[role]
    return {"role": role, "scope": scope, "scope_name": scope_name(session, role, scope), "name": {"zh": zh, "en": en}}


def user_dict(session: Session, user: User, actor: Actor) -> dict[str, Any]:
    """An account as the API shows it: never its password hash."""
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "active": user.active,
            "created_at": user.created_at, "created_by": user.created_by,
            "roles": [grant_dict(session, g.role, g.scope) for g in sorted(user.roles, key=lambda g: (g.role,
                                                                                                 g.scope or ""))],
            "manageable": user.id != actor.user_id and can_manage_user(session, actor, user)}
