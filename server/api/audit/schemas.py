from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.audit import BEIJING
from server.api.divisions.schemas import PageArgs


class AuditFilterSchema(Schema):
    entity = fields.String(validate=validate.Length(max=32), metadata={"description": "表名，如 result、user_account"})
    entity_id = fields.String(validate=validate.Length(max=128))
    actor = fields.String(validate=validate.Length(max=64), metadata={"description": "操作人用户名 / who acted"})
    since = fields.AwareDateTime(default_timezone=BEIJING,
                                 metadata={"description": "含，无时区按北京时间 / from (inclusive)"})
    until = fields.AwareDateTime(default_timezone=BEIJING, metadata={"description": "不含 / until (exclusive)"})


class AuditQuery(PageArgs, AuditFilterSchema):
    pass


class AuditEntrySchema(Schema):
    id = fields.String()
    at = fields.DateTime()
    actor = fields.String()
    actor_id = fields.String(allow_none=True)
    channel = fields.String()
    action = fields.String()
    entity = fields.String()
    entity_id = fields.String()
    scope_code = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
