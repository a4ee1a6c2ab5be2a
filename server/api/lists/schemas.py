from __future__ import annotations

from marshmallow import Schema, fields, validate


class IssueBriefSchema(Schema):
    id = fields.String()
    list_id = fields.String()
    state = fields.String(metadata={"description": "draft 草稿 / published 已发布"})
    year = fields.Integer(allow_none=True)
    number = fields.Integer(allow_none=True)
    title_zh = fields.String(metadata={"description": "如 2026年第4期"})
    title_en = fields.String()
    note = fields.String(allow_none=True)
    entries_count = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    published_by = fields.String(allow_none=True)


class ListRefSchema(Schema):
    id = fields.String(metadata={"description": "national，或 local-省级代码"})
    kind = fields.String(metadata={"description": "national 国家清单 / local 地方清单"})
    province_code = fields.String(allow_none=True)
    name_zh = fields.String()
    name_en = fields.String()


class PeriodicListSchema(ListRefSchema):
    can_compose = fields.Boolean()
    latest = fields.Nested(IssueBriefSchema, allow_none=True)


class PeriodicListIssuesSchema(PeriodicListSchema):
    issues = fields.List(fields.Nested(IssueBriefSchema))


class ListEntrySchema(Schema):
    result_id = fields.String()
    position = fields.Integer()
    name = fields.String()
    institutions = fields.List(fields.String())
    trl = fields.Integer(allow_none=True)
    form = fields.String(allow_none=True)
    codes = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    regions = fields.List(fields.String())
    snapshot = fields.Dict(allow_none=True, metadata={"description": "发布时的成果（已发布期次）"})


class IssueSchema(IssueBriefSchema):
    list = fields.Nested(ListRefSchema)
    entries = fields.List(fields.Nested(ListEntrySchema))
    can_compose = fields.Boolean()


class IssueCreateSchema(Schema):
    note = fields.String(allow_none=True, validate=validate.Length(max=4000))
    result_ids = fields.List(fields.String(), load_default=list)
    carry_over = fields.Boolean(load_default=False, metadata={"description": "以最新一期为基础（去掉已不符合的成果）"})


class IssueEditSchema(Schema):
    note = fields.String(allow_none=True, required=True, validate=validate.Length(max=4000))


class EntriesAddSchema(Schema):
    result_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=5000))


class IssueDiffSchema(Schema):
    previous = fields.Nested(IssueBriefSchema, allow_none=True)
    added = fields.List(fields.Nested(ListEntrySchema))
    removed = fields.List(fields.Nested(ListEntrySchema))
    changed = fields.List(fields.Dict(), metadata={"description": "[{result_id, name, fields}]"})
    kept = fields.Integer()
