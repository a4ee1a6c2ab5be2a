from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalog.events import EVENT_STEPS, KINDS, STATES
from catalog.intents import STATES as INTENT_STATES
from server.api.divisions.schemas import PageArgs


class EventQuery(PageArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))
    state = fields.String(validate=validate.OneOf(STATES))
    province = fields.String(validate=validate.Regexp(r"^(\d{6}|national)$"),
                             metadata={"description": "the organising province code, or 'national'"})


class EventEditSchema(Schema):
    title = fields.String(validate=validate.Length(max=256), metadata={"description": "活动名称"})
    starts_on = fields.Date()
    ends_on = fields.Date()
    place_code = fields.String(allow_none=True, metadata={"description": "举办地（市或县区划代码），现场对接必填"})
    address = fields.String(allow_none=True)
    organiser = fields.String(allow_none=True, validate=validate.Length(max=128), metadata={"description": "主办单位"})
    description = fields.String(allow_none=True)


class EventWriteSchema(EventEditSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS),
                         metadata={"description": "onsite 现场对接 / online 网络展会"})
    title = fields.String(required=True, validate=validate.Length(max=256))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    province_code = fields.String(allow_none=True, metadata={
        "description": "主办省份；全国性活动留空（省级管理员默认为本省）"})


class EventSchema(Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    place_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)
    organiser = fields.String(allow_none=True)
    state = fields.String()
    description = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class ShowcasedSchema(Schema):
    result_id = fields.String()
    name = fields.String()
    lead_institution = fields.String(allow_none=True)
    position = fields.Integer()
    note = fields.String(allow_none=True)


class TakingPartSchema(Schema):
    site_id = fields.String()
    name = fields.String()
    kind = fields.String()
    via = fields.String(metadata={"description": "registered（自行报名）/ invited（主办方邀请）"})
    contact = fields.String(allow_none=True)
    at = fields.DateTime()


class EventDetailSchema(EventSchema):
    results = fields.List(fields.Nested(ShowcasedSchema))
    sites = fields.List(fields.Nested(TakingPartSchema))
    allowed_actions = fields.List(fields.String())


class EventTransitionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(list(EVENT_STEPS)),
                           metadata={"description": "open 开始 / close 结束"})


class ShowcaseSchema(Schema):
    result_id = fields.String(required=True)
    note = fields.String(allow_none=True, metadata={"description": "展位、路演安排"})


class RegistrationSchema(Schema):
    site_id = fields.String(required=True)
    contact = fields.String(allow_none=True, validate=validate.Length(max=128))


class IntentQuery(PageArgs):
    site = fields.String(validate=validate.Length(max=32))
    result = fields.String(validate=validate.Length(max=36))
    event = fields.String(validate=validate.Length(max=36))
    state = fields.String(validate=validate.OneOf(INTENT_STATES))


class IntentWriteSchema(Schema):
    site_id = fields.String(required=True)
    result_id = fields.String(required=True)
    event_id = fields.String(allow_none=True)
    on = fields.Date(allow_none=True, metadata={"description": "登记日期，默认今天（北京时间）"})
    note = fields.String(allow_none=True)


class IntentStepWriteSchema(Schema):
    step = fields.String(required=True, metadata={"description": "contact / agreement / landed / dropped"})
    on = fields.Date(allow_none=True, metadata={"description": "发生日期，默认今天（北京时间）"})
    note = fields.String(allow_none=True)
    mode = fields.String(allow_none=True, metadata={"description": "签约方式（transfer_mode 代码），签约时必填"})
    plot_id = fields.String(allow_none=True, metadata={"description": "落地的示范田（须展示该成果）"})
    area_mu = fields.Float(allow_none=True, metadata={"description": "或：推广应用面积（亩）"})
    reason = fields.String(allow_none=True, metadata={"description": "放弃原因，放弃时必填"})


class IntentStepSchema(Schema):
    id = fields.String()
    state = fields.String()
    happened_on = fields.Date()
    note = fields.String(allow_none=True)
    details = fields.Dict()
    actor = fields.String(allow_none=True)
    at = fields.DateTime()


class IntentSchema(Schema):
    id = fields.String()
    site_id = fields.String()
    site_name = fields.String()
    result_id = fields.String()
    result_name = fields.String()
    event_id = fields.String(allow_none=True)
    state = fields.String()
    mode = fields.String(allow_none=True)
    plot_id = fields.String(allow_none=True)
    adopted_area_mu = fields.Float(allow_none=True)
    drop_reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    allowed_steps = fields.List(fields.String())
    steps = fields.List(fields.Nested(IntentStepSchema))


class IntentPageSchema(Schema):
    items = fields.List(fields.Nested(IntentSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
