from __future__ import annotations

from marshmallow import Schema, fields


class CodeSchema(Schema):
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    parent_code = fields.String(allow_none=True)
    retired_in = fields.Integer(allow_none=True)
    extra = fields.Dict(allow_none=True)


class CodeListSchema(Schema):
    id = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    version = fields.Integer()
    codes = fields.List(fields.Nested(CodeSchema))


class CodeListQuery(Schema):
    include_retired = fields.Boolean(load_default=False)
