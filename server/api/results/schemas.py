from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_load, validate

from catalog.lifecycle import STEPS
from catalog.search import FACETS, SORTS

FACET_PARAMS = FACETS


class KeyFigureSchema(Schema):
    name = fields.String(required=True)
    value = fields.Float(allow_none=True)
    unit = fields.String(allow_none=True)
    evidence = fields.String(allow_none=True)


class IpSchema(Schema):
    patents = fields.List(fields.String())
    variety_rights = fields.List(fields.String())
    approvals = fields.List(fields.String())
    software = fields.List(fields.String())
    standards = fields.List(fields.String())


class ResultWriteSchema(Schema):
    """Fields a result takes. Codes are checked against the code lists by the domain."""

    name = fields.String(metadata={"description": "成果名称"})
    summary = fields.String(allow_none=True)
    keywords = fields.List(fields.String())
    special_project = fields.String(allow_none=True, metadata={"description": "重点专项"})
    project_no = fields.String(allow_none=True)
    subject_no = fields.String(allow_none=True)
    institutions = fields.List(fields.String(), metadata={"description": "完成单位，按排序"})
    people = fields.List(fields.String())
    tech_fields = fields.List(fields.String(), metadata={"description": "技术领域，第一个为主领域"})
    industry_types = fields.List(fields.String())
    scenarios = fields.List(fields.String())
    crops = fields.List(fields.String())
    land_scenarios = fields.List(fields.String())
    transfer_modes = fields.List(fields.String())
    trl = fields.Integer(allow_none=True)
    trl_scale = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    ip = fields.Nested(IpSchema)
    registration_no = fields.String(allow_none=True)
    suitable_regions = fields.List(fields.String(), metadata={"description": "适宜区域（区划代码）"})
    key_figures = fields.List(fields.Nested(KeyFigureSchema))
    transfer_terms = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    source = fields.String(validate=validate.OneOf(["national", "local"]))
    source_province = fields.String(allow_none=True)
    list_batch = fields.String(allow_none=True)


class ResultEditSchema(ResultWriteSchema):
    version = fields.Integer(metadata={"description": "编辑所基于的版本；不一致时返回 409"})


class ResultSchema(ResultWriteSchema):
    id = fields.String()
    state = fields.String()
    version = fields.Integer()
    review_comment = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    allowed_actions = fields.List(fields.String())


class ResultListSchema(Schema):
    items = fields.List(fields.Nested(ResultSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()))


class FacetCountsSchema(Schema):
    total = fields.Integer()
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()))


class SearchArgsSchema(Schema):
    """Query parameters of a result search. Facet values may repeat (?crop=maize&crop=wheat) or be
    comma-separated (?crop=maize,wheat); OR within a facet, AND across facets."""

    q = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "全文检索"})
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))
    facets = fields.Boolean(load_default=False, metadata={"description": "同时返回分面计数"})
    tech_field = fields.List(fields.String())
    industry_type = fields.List(fields.String())
    scenario = fields.List(fields.String())
    crop = fields.List(fields.String())
    land_scenario = fields.List(fields.String())
    transfer_mode = fields.List(fields.String())
    province = fields.List(fields.String())
    trl = fields.List(fields.Integer(validate=validate.Range(min=1, max=9)))
    form = fields.List(fields.String())
    source = fields.List(fields.String())
    state = fields.List(fields.String())

    @pre_load
    def _split(self, data: Any, **_kw: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in data:
            values = data.getlist(key) if hasattr(data, "getlist") else data[key]
            values = values if isinstance(values, list) else [values]
            if key in FACET_PARAMS:
                out[key] = [v for raw in values for v in str(raw).split(",") if v]
            else:
                out[key] = values[-1]
        return out


class TransitionSchema(Schema):
    # "publish" is not here: a result is published by publishing a list issue that holds it.
    action = fields.String(required=True, validate=validate.OneOf([a for a in STEPS if a != "publish"]))
    comment = fields.String(allow_none=True, validate=validate.Length(max=4000))


class ResultEventSchema(Schema):
    action = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    at = fields.DateTime()
