from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.needs import STATES, STEPS
from server.api.divisions.schemas import PageArgs


class NeedWriteSchema(Schema):
    """What a need takes; codes, season and area are checked by the domain (catalog.need_store)."""

    site_id = fields.String(metadata={"description": "园区或县的编号（NASTP014、IC1-410184 …）；修改时不可变"})
    title = fields.String(metadata={"description": "需求标题"})
    problem = fields.String(metadata={"description": "用自己的话描述遇到的问题"})
    crops = fields.List(fields.String(), metadata={"description": "作物代码（代码表 crop）"})
    industry_types = fields.List(fields.String(), metadata={"description": "服务产业类型代码"})
    scenarios = fields.List(fields.String(), metadata={"description": "产业应用场景代码"})
    land_scenarios = fields.List(fields.String(), metadata={"description": "耕地场景代码（SC0101–SC0104）"})
    season = fields.String(allow_none=True, metadata={"description": "季别：年份-季别代码，如 2026-autumn_grain"})
    area_mu = fields.Float(allow_none=True, metadata={"description": "规模（亩）"})
    scale_text = fields.String(allow_none=True, metadata={"description": "规模说明"})
    contact = fields.String(allow_none=True)


class NeedEditSchema(NeedWriteSchema):
    version = fields.Integer(metadata={"description": "编辑所基于的版本；不一致时返回 409"})


class SiteBriefSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    province_code = fields.String(allow_none=True)
    place_code = fields.String(allow_none=True)


class NeedSchema(Schema):
    id = fields.String()
    site_id = fields.String()
    site = fields.Nested(SiteBriefSchema)
    province_code = fields.String(allow_none=True)
    title = fields.String()
    problem = fields.String()
    crops = fields.List(fields.String())
    industry_types = fields.List(fields.String())
    scenarios = fields.List(fields.String())
    land_scenarios = fields.List(fields.String())
    season = fields.String(allow_none=True)
    area_mu = fields.Float(allow_none=True)
    area_m2 = fields.Float(allow_none=True)
    scale_text = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "open 待对接 / matched 已对接 / closed 已关闭"})
    matched_result_id = fields.String(allow_none=True)
    state_comment = fields.String(allow_none=True)
    version = fields.Integer()
    allowed_actions = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)


class NeedPageSchema(Schema):
    items = fields.List(fields.Nested(NeedSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class NeedQuery(PageArgs):
    site = fields.String(validate=validate.Length(max=32), metadata={"description": "园区或县编号"})
    state = fields.String(validate=validate.OneOf(STATES))
    province = fields.String(validate=validate.Regexp(r"^\d{6}$"))


class NeedTransitionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(list(STEPS)))
    result_id = fields.String(allow_none=True, metadata={"description": "对接上的成果（仅 match）"})
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))
    version = fields.Integer()


class LimitArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ReasonSchema(Schema):
    kind = fields.String(metadata={"description": "crop, industry, scenario, region, land, maturity, text, evidence"})
    points = fields.Float()
    max_points = fields.Float()
    zh = fields.String()
    en = fields.String()


class ResultMatchSchema(Schema):
    result_id = fields.String()
    name = fields.String()
    score = fields.Float(metadata={"description": "0–100"})
    reasons = fields.List(fields.Nested(ReasonSchema))


class NeedMatchesSchema(Schema):
    need_id = fields.String()
    items = fields.List(fields.Nested(ResultMatchSchema))


class SiteMatchSchema(Schema):
    site = fields.Nested(SiteBriefSchema)
    need_id = fields.String()
    need_title = fields.String()
    score = fields.Float()
    reasons = fields.List(fields.Nested(ReasonSchema))
    other_needs = fields.Integer(metadata={"description": "该地其他也相符的待对接需求数"})


class ResultSitesSchema(Schema):
    result_id = fields.String()
    items = fields.List(fields.Nested(SiteMatchSchema))
