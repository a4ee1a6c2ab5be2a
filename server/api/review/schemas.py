from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.field import LEVELS, REVIEW_STATES
from catalog.review import MAX_COMMENT
from server.api.divisions.schemas import PageArgs


class YieldReviewQuery(PageArgs):
    level = fields.String(validate=validate.OneOf(LEVELS), metadata={
        "description": "county 县级自测 / city 市级初测 / province 省级复测 / ministry 部级抽测"})
    county = fields.String(validate=validate.Regexp(r"^\d{6}$"),
                           metadata={"description": "区划代码：省（410000）、市（410100）或县（410122）"})
    season = fields.String(validate=validate.Regexp(r"^\d{4}-[a-z_]+$"),
                           metadata={"description": "季别：年份-季别代码，如 2026-autumn_grain"})
    state = fields.String(load_default="pending", validate=validate.OneOf(REVIEW_STATES),
                          metadata={"description": "pending（默认：待本人审核、下一级已通过的）、approved、rejected"})


class ReviewDecisionSchema(Schema):
    comment = fields.String(allow_none=True, validate=validate.Length(max=MAX_COMMENT),
                            metadata={"description": "审核意见；退回时必填"})
    version = fields.Integer(metadata={"description": "审核所依据的版本；不一致时返回 409"})


class ReviewPlotSchema(Schema):
    id = fields.String()
    name = fields.String()
    county_code = fields.String()
    season = fields.String()
    crop = fields.String()
    variety = fields.String(allow_none=True)
    area_mu = fields.Float(allow_none=True)


class YieldReviewSchema(Schema):
    id = fields.String()
    plot_id = fields.String()
    county_code = fields.String()
    level = fields.String(metadata={"description": "county / city / province / ministry"})
    method = fields.String(metadata={"description": "harvest 实收 / theoretical 理论"})
    measured_on = fields.Date(allow_none=True)
    crop = fields.String()
    panel = fields.List(fields.String())
    samples = fields.List(fields.Dict())
    standard_moisture = fields.Float(allow_none=True)
    yield_kg_per_mu = fields.Float(allow_none=True)
    baseline_kg_per_mu = fields.Float(allow_none=True)
    baseline_type = fields.String(allow_none=True)
    gain_pct = fields.Float(allow_none=True)
    notes = fields.String(allow_none=True)
    verifies_id = fields.String(allow_none=True, metadata={"description": "被核验的下一级测产"})
    review_state = fields.String(metadata={"description": "pending 待审核 / approved 已审核（锁定）/ rejected 已退回"})
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_comment = fields.String(allow_none=True)
    version = fields.Integer()
    locked = fields.Boolean()
    can_decide = fields.Boolean(metadata={"description": "本人可否审核（同级、范围内、待审核且下一级已通过）"})
    waiting_for = fields.List(fields.String(), metadata={"description": "须先审核通过的下一级测产"})
    verified_by = fields.List(fields.String(), metadata={"description": "核验本条的上一级测产"})
    plot = fields.Nested(ReviewPlotSchema)
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class YieldReviewPageSchema(Schema):
    items = fields.List(fields.Nested(YieldReviewSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
