from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.sites import KINDS
from server.api.divisions.schemas import DivisionRefSchema, PageArgs


class SiteQuery(PageArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))
    province = fields.String(validate=validate.Regexp(r"^\d{6}$"), metadata={"description": "province code"})
    active = fields.Boolean()
    list = fields.String(validate=validate.Length(max=32), metadata={"description": "site list id"})


class SiteSchema(Schema):
    id = fields.String()
    list_id = fields.String()
    kind = fields.String()
    name = fields.String()
    province_code = fields.String(allow_none=True)
    place_code = fields.String(allow_none=True)
    batch = fields.String(allow_none=True)
    status = fields.String()
    active = fields.Boolean()
    notes = fields.String(allow_none=True)


class SitePageSchema(Schema):
    items = fields.List(fields.Nested(SiteSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class SiteListSchema(Schema):
    id = fields.String()
    kind = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    expected_count = fields.Integer(allow_none=True)
    known_count = fields.Integer()
    active_count = fields.Integer()
    complete = fields.Boolean()
    source = fields.String(allow_none=True)


class SiteDetailSchema(SiteSchema):
    province = fields.Nested(DivisionRefSchema, allow_none=True)
    place = fields.Nested(DivisionRefSchema, allow_none=True)
    divisions = fields.List(fields.Nested(DivisionRefSchema), metadata={"description": "the divisions it covers"})
    list = fields.Nested(SiteListSchema)
