from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.divisions import LEVELS


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DivisionQuery(PageArgs):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.String(validate=validate.Regexp(r"^\d{6}$"), metadata={"description": "000000 = the provinces"})
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "name part or code prefix"})
    include_retired = fields.Boolean(load_default=False)


class DivisionRefSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()


class DivisionSchema(DivisionRefSchema):
    parent_code = fields.String(allow_none=True)
    province_code = fields.String()
    county_equivalent = fields.Boolean()
    label_lng = fields.Float(allow_none=True)
    label_lat = fields.Float(allow_none=True)
    has_polygon = fields.Boolean()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    retired = fields.Boolean()


class DivisionPageSchema(Schema):
    items = fields.List(fields.Nested(DivisionSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class DivisionChangeSchema(Schema):
    year = fields.Integer()
    type = fields.String()
    old_code = fields.String(allow_none=True)
    old_name = fields.String(allow_none=True)
    new_code = fields.String(allow_none=True)
    new_name = fields.String(allow_none=True)
    doc_no = fields.String(allow_none=True)


class SiteRefSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    list_id = fields.String()


class DivisionDetailSchema(DivisionSchema):
    children_count = fields.Integer()
    ancestors = fields.List(fields.Nested(DivisionRefSchema), metadata={"description": "province first"})
    successors = fields.List(fields.Nested(DivisionRefSchema),
                             metadata={"description": "current codes that took over a retired code"})
    has_boundary = fields.Boolean()
    changes = fields.List(fields.Nested(DivisionChangeSchema))
    sites = fields.List(fields.Nested(SiteRefSchema))


class FeatureSchema(Schema):
    """A GeoJSON Feature, WGS-84 lon/lat."""

    type = fields.String()
    id = fields.String()
    geometry = fields.Dict()
    properties = fields.Dict()
