from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from catalog.classify_rules import CODE_LISTS, MAX_KEYWORDS

TEXT_MAX = 20000


class SuggestArgsSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(max=TEXT_MAX),
                         metadata={"description": "成果名称、简介、关键词、完成单位等文字 / the result's text"})
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20),
                           metadata={"description": "每个维度的建议数 / suggestions per dimension"})

    @validates("text")
    def _not_blank(self, value: str, **_kw: Any) -> None:
        if not value.strip():
            raise ValidationError("文字不能为空 / The text is empty")


class SuggestionSchema(Schema):
    code = fields.String()
    confidence = fields.Float(metadata={"description": "0–1"})
    source = fields.String(metadata={"description": "rule / model / both"})
    words = fields.List(fields.String(), metadata={"description": "命中的关键词或最有分量的字符 n 元组"})
    name_zh = fields.String()
    name_en = fields.String()


class ModelInfoSchema(Schema):
    id = fields.String()
    trained_at = fields.String()
    trained_by = fields.String()
    examples = fields.Integer()
    decisions = fields.Integer()
    metrics = fields.Dict()


class SuggestionsSchema(Schema):
    """A list per dimension, best first; ``model`` is null when no model is stored (rules only)."""

    tech_field = fields.List(fields.Nested(SuggestionSchema))
    industry_type = fields.List(fields.Nested(SuggestionSchema))
    scenario = fields.List(fields.Nested(SuggestionSchema))
    crop = fields.List(fields.Nested(SuggestionSchema))
    land_scenario = fields.List(fields.Nested(SuggestionSchema))
    model = fields.Nested(ModelInfoSchema, allow_none=True)


class RuleQuerySchema(Schema):
    dimension = fields.String(validate=validate.OneOf(list(CODE_LISTS)))
    code = fields.String()


class RuleWriteSchema(Schema):
    dimension = fields.String(required=True, validate=validate.OneOf(list(CODE_LISTS)))
    code = fields.String(required=True)
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=32)), required=True,
                           validate=validate.Length(min=1, max=MAX_KEYWORDS),
                           metadata={"description": "任一关键词出现即命中 / any keyword matches, as plain text"})
    weight = fields.Float(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False),
                          metadata={"description": "规则的把握（0–1）/ how sure the rule is"})
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


class RuleEditSchema(Schema):
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=32)),
                           validate=validate.Length(min=1, max=MAX_KEYWORDS))
    weight = fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


class RuleSchema(RuleWriteSchema):
    id = fields.String()
    origin = fields.String(metadata={"description": "shipped（随平台发布）/ officer（管理员添加）"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)


class DecisionWriteSchema(Schema):
    """The reviewer's codes per dimension (only the dimensions given are decided); the first technology field is the
    primary one. ``version``: the result version the reviewer saw (409 if it changed meanwhile)."""

    tech_fields = fields.List(fields.String())
    industry_types = fields.List(fields.String())
    scenarios = fields.List(fields.String())
    crops = fields.List(fields.String())
    land_scenarios = fields.List(fields.String())
    version = fields.Integer()


class DecisionSchema(Schema):
    id = fields.String()
    dimension = fields.String()
    suggested = fields.List(fields.Dict())
    proposed = fields.List(fields.String())
    chosen = fields.List(fields.String())
    accepted = fields.Boolean()
    model_id = fields.String(allow_none=True)
    actor = fields.String()
    at = fields.DateTime()


class ClassificationSchema(Schema):
    result_id = fields.String()
    state = fields.String()
    version = fields.Integer()
    may_decide = fields.Boolean(metadata={"description": "当前用户可否接受或修改 / whether you may decide"})
    current = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                          metadata={"description": "成果现有代码 / the result's codes per dimension"})
    proposed = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                           metadata={"description": "预选的建议代码 / the codes proposed per dimension"})
    suggestions = fields.Nested(SuggestionsSchema)
    decisions = fields.List(fields.Nested(DecisionSchema))

