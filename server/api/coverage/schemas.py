from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.seasons import EXTENSION_KINDS, MAX_PLAN_MU, MAX_PLAN_PLOTS, MAX_REPORT_MU
from server.api.divisions.schemas import PageArgs

SEASON_RE = r"^\d{4}-[a-z_]+$"
SCOPE_DESC = "区划代码（000000 全国、410000 省、410100 市、410122 县）或站点编号（如 IC1-410184）；默认全国"
SEASON_DESC = "季别：收获年份-季别代码，如 2026-autumn_grain；默认最近使用的季别"


class CoverageQuery(Schema):
    scope = fields.String(load_default="000000", validate=validate.Length(min=1, max=64),
                          metadata={"description": SCOPE_DESC})
    season = fields.String(validate=validate.Regexp(SEASON_RE), metadata={"description": SEASON_DESC})


class ExportQuery(CoverageQuery):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")),
                           metadata={"description": "xlsx（每张表一个工作表）或 csv（一张表，由 table 指定）"})
    table = fields.String(load_default="figures", validate=validate.Length(max=32),
                          metadata={"description": "csv 时的表：scope、figures、children、sites、gains、land、"
                                                   "targets、gap_sites、gap_counties、gap_plots、plots"})


class PlanQuery(PageArgs):
    season = fields.String(validate=validate.Regexp(SEASON_RE), metadata={"description": "季别"})
    county = fields.String(validate=validate.Regexp(r"^\d{6}$"),
                           metadata={"description": "区划代码：省、市或县；只列其下各县的计划"})


class PlanInput(Schema):
    plots_expected = fields.Integer(required=True, strict=True,
                                    validate=validate.Range(min=0, max=MAX_PLAN_PLOTS),
                                    metadata={"description": "计划示范地块数"})
    area_expected_mu = fields.Float(allow_none=True, validate=validate.Range(min=0, max=MAX_PLAN_MU),
                                    metadata={"description": "计划示范面积（亩）"})
    deadline = fields.Date(required=True,
                           metadata={"description": "测产截止日期（北京时间），本季开始之后、结束后一年之内"})
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))
    version = fields.Integer(metadata={"description": "修改所依据的版本；与已存计划不一致时返回 409"})


class PlanSchema(Schema):
    id = fields.String()
    county_code = fields.String()
    season = fields.String()
    plots_expected = fields.Integer()
    area_expected_mu = fields.Float(allow_none=True)
    deadline = fields.Date()
    notes = fields.String(allow_none=True)
    version = fields.Integer()
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PlanPageSchema(Schema):
    items = fields.List(fields.Nested(PlanSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class ReportQuery(PlanQuery):
    kind = fields.String(validate=validate.OneOf(EXTENSION_KINDS), metadata={
        "description": "variety_extension 品种推广面积 / land_radiated 耕地质量提升辐射面积"})


class ReportInput(Schema):
    county_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    season = fields.String(required=True, validate=validate.Regexp(SEASON_RE))
    kind = fields.String(required=True, validate=validate.OneOf(EXTENSION_KINDS))
    area_mu = fields.Float(required=True, validate=validate.Range(min=0, max=MAX_REPORT_MU, min_inclusive=False),
                           metadata={"description": "面积（亩），大于 0"})
    evidence = fields.String(required=True, validate=validate.Length(min=1, max=4000),
                             metadata={"description": "面积的依据（统计报表、调查报告等），必填"})
    attachment_sha256 = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$"))
    crop = fields.String(allow_none=True)
    land_scenario = fields.String(allow_none=True)
    reported_on = fields.Date(allow_none=True)


class ReportPatch(Schema):
    county_code = fields.String(validate=validate.Regexp(r"^\d{6}$"))
    season = fields.String(validate=validate.Regexp(SEASON_RE))
    kind = fields.String(validate=validate.OneOf(EXTENSION_KINDS))
    area_mu = fields.Float(validate=validate.Range(min=0, max=MAX_REPORT_MU, min_inclusive=False))
    evidence = fields.String(validate=validate.Length(min=1, max=4000))
    attachment_sha256 = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$"))
    crop = fields.String(allow_none=True)
    land_scenario = fields.String(allow_none=True)
    reported_on = fields.Date(allow_none=True)
    version = fields.Integer(metadata={"description": "修改所依据的版本；不一致时返回 409"})


class ReportSchema(Schema):
    id = fields.String()
    county_code = fields.String()
    season = fields.String()
    kind = fields.String()
    area_mu = fields.Float()
    crop = fields.String(allow_none=True)
    land_scenario = fields.String(allow_none=True)
    evidence = fields.String()
    attachment_sha256 = fields.String(allow_none=True)
    reported_on = fields.Date(allow_none=True)
    version = fields.Integer()
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ReportPageSchema(PlanPageSchema):
    items = fields.List(fields.Nested(ReportSchema))


class TargetPatch(Schema):
    target_value = fields.Float(validate=validate.Range(min=0, min_inclusive=False),
                                metadata={"description": "目标值（面积为亩，增产为 %），大于 0"})
    by_year = fields.Integer(allow_none=True, validate=validate.Range(min=2000, max=2100))
    name_zh = fields.String(validate=validate.Length(min=1, max=128))
    name_en = fields.String(validate=validate.Length(min=1, max=256))
    notes = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    version = fields.Integer(metadata={"description": "修改所依据的版本；不一致时返回 409"})


class TargetSchema(Schema):
    id = fields.String()
    sort = fields.Integer()
    name_zh = fields.String()
    name_en = fields.String()
    target_value = fields.Float()
    unit = fields.String(metadata={"description": "count 个 / mu 亩 / pct % / scenarios 类 / grade 等"})
    accumulate = fields.String(metadata={"description": "cumulative 累计 / season 本季"})
    by_year = fields.Integer(allow_none=True)
    source = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    version = fields.Integer()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime()
