from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from catalog.accounts import Token
from server.api.users.schemas import UserSchema


class CredentialsSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class TokenRequestSchema(CredentialsSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128),
                         metadata={"description": "令牌或设备的名称 / a name for the token or device"})


class MeSchema(UserSchema):
    csrf_token = fields.String(metadata={"description": "网页会话写操作所需的 X-CSRFToken / for session writes"})


class TokenSchema(Schema):
    id = fields.String()
    kind = fields.String()
    name = fields.String()
    username = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)
    revocable = fields.Boolean()


class NewTokenSchema(TokenSchema):
    secret = fields.String(metadata={"description": "仅此一次显示 / shown this once only"})


def token_dict(token: Token, username: str, revocable: bool = True) -> dict[str, Any]:
    """A token as the API lists it: never its secret or hash."""
    return {"id": token.id, "kind": token.kind, "name": token.name, "username": username,
            "created_at": token.created_at, "last_used_at": token.last_used_at, "revoked_at": token.revoked_at,
            "revoked_by": token.revoked_by, "revocable": revocable and token.revoked_at is None}
