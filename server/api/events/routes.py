from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from catalog import matchmaking
from catalog.access import can_read
from catalog.event_access import intent_condition
from catalog.events import EVENT_STEPS, Event, event_query, event_results, event_sites, get_event
from catalog.intents import Intent, allowed_steps, intent_names, intent_query, intent_steps
from server.api.divisions.routes import page_of
from server.api.events.schemas import (
    EventDetailSchema,
    EventEditSchema,
    EventPageSchema,
    EventQuery,
    EventTransitionSchema,
    EventWriteSchema,
    IntentPageSchema,
    IntentQuery,
    IntentSchema,
    IntentStepWriteSchema,
    IntentWriteSchema,
    RegistrationSchema,
    ShowcaseSchema,
)
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("events", __name__, url_prefix="/api",
                description="对接活动与对接意向 / Matchmaking events and intents")


def event_detail(session: Session, event: Event) -> dict[str, Any]:
    """The event with its showcased results (those the actor may read) and the sites taking part."""
    actor = current_actor()
    return {
        **{c.key: getattr(event, c.key) for c in Event.__table__.columns},
        "results": [{"result_id": r.id, "name": r.name, "lead_institution": r.lead_institution,
                     "position": er.position, "note": er.note}
                    for er, r in event_results(session, event.id) if can_read(actor, r)],
        "sites": [{"site_id": s.id, "name": s.name, "kind": s.kind, "via": es.via, "contact": es.contact,
                   "at": es.at} for es, s in event_sites(session, event.id)],
        "allowed_actions": [a for a, step in EVENT_STEPS.items() if event.state in step.sources],
    }


def intent_dict(session: Session, intent: Intent, with_steps: bool = True,
                names: dict[str, str] | None = None) -> dict[str, Any]:
    names = intent_names(session, [intent]) if names is None else names
    return {
        **{c.key: getattr(intent, c.key) for c in Intent.__table__.columns if c.key != "adopted_area_m2"},
        "adopted_area_mu": intent.adopted_area_mu,
        "site_name": names.get(intent.site_id, intent.site_id),
        "result_name": names.get(intent.result_id, intent.result_id),
        "allowed_steps": allowed_steps(intent.state),
        "steps": intent_steps(session, intent.id) if with_steps else [],
    }


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, EventPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """对接活动（现场对接、网络展会）/ Matchmaking events"""
        return page_of(event_query(args.get("kind"), args.get("state"), args.get("province")), args)

    @blp.arguments(EventWriteSchema)
    @blp.response(201, EventDetailSchema)
    @login_required
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """新建对接活动（部级全国性、省级本省）/ Create an event"""
        session = db_session()
        event = matchmaking.organise_event(session, current_actor(), data)
        session.commit()
        return event_detail(session, event)


@blp.route("/events/<event_id>")
class EventItem(MethodView):
    @blp.response(200, EventDetailSchema)
    def get(self, event_id: str) -> dict[str, Any]:
        """一次活动：展示成果、参加的园区与县 / One event with its showcased results and sites"""
        session = db_session()
        return event_detail(session, get_event(session, event_id))

    @blp.arguments(EventEditSchema)
    @blp.response(200, EventDetailSchema)
    @login_required
    def patch(self, data: dict[str, Any], event_id: str) -> dict[str, Any]:
        """修改活动（主办方，结束前）/ Edit an event"""
        session = db_session()
        event = matchmaking.edit_event(session, current_actor(), event_id, data)
        session.commit()
        return event_detail(session, event)


@blp.route("/events/<event_id>/transitions", methods=["POST"])
@blp.arguments(EventTransitionSchema)
@blp.response(200, EventDetailSchema)
@login_required
def event_transition(data: dict[str, Any], event_id: str) -> dict[str, Any]:
    """开始或结束活动 / Open or close an event"""
    session = db_session()
    event = matchmaking.step_event(session, current_actor(), event_id, data["action"])
    session.commit()
    return event_detail(session, event)


@blp.route("/events/<event_id>/results", methods=["POST"])
@blp.arguments(ShowcaseSchema)
@blp.response(201, EventDetailSchema)
@login_required
def add_showcased(data: dict[str, Any], event_id: str) -> dict[str, Any]:
    """展示一项已发布成果 / Showcase a published result"""
    session = db_session()
    matchmaking.showcase(session, current_actor(), event_id, data["result_id"], data.get("note"))
    session.commit()
    return event_detail(session, get_event(session, event_id))


@blp.route("/events/<event_id>/results/<result_id>", methods=["DELETE"])
@blp.response(204)
@login_required
def remove_showcased(event_id: str, result_id: str) -> None:
    """撤下展示成果 / Take a result off the showcase"""
    session = db_session()
    matchmaking.unshowcase(session, current_actor(), event_id, result_id)
    session.commit()


@blp.route("/events/<event_id>/sites", methods=["POST"])
@blp.arguments(RegistrationSchema)
@blp.response(201, EventDetailSchema)
@login_required
def add_site(data: dict[str, Any], event_id: str) -> dict[str, Any]:
    """报名（园区或县自己）或邀请（主办方）/ Register a site for the event"""
    session = db_session()
    matchmaking.register(session, current_actor(), event_id, data["site_id"], data.get("contact"))
    session.commit()
    return event_detail(session, get_event(session, event_id))


@blp.route("/events/<event_id>/sites/<site_id>", methods=["DELETE"])
@blp.response(204)
@login_required
def remove_site(event_id: str, site_id: str) -> None:
    """取消报名 / Take a site off the event"""
    session = db_session()
    matchmaking.unregister(session, current_actor(), event_id, site_id)
    session.commit()


@blp.route("/intents")
class Intents(MethodView):
    @blp.arguments(IntentQuery, location="query")
    @blp.response(200, IntentPageSchema)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """可见的对接意向 / The intents one may read"""
        session = db_session()
        query = intent_query(intent_condition(current_actor()), args.get("site"), args.get("result"),
                             args.get("event"), args.get("state"))
        page = page_of(query, args)
        names = intent_names(session, page["items"])
        page["items"] = [intent_dict(session, i, with_steps=False, names=names) for i in page["items"]]
        return page

    @blp.arguments(IntentWriteSchema)
    @blp.response(201, IntentSchema)
    @login_required
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """登记对接意向（园区管理者或所在县管理员）/ Register a site's intent on a result"""
        session = db_session()
        intent = matchmaking.register_intent(session, current_actor(), data)
        session.commit()
        return intent_dict(session, intent)


@blp.route("/intents/<intent_id>")
@blp.response(200, IntentSchema)
def get_intent_detail(intent_id: str) -> dict[str, Any]:
    """一项对接意向及其进程 / One intent with its timeline"""
    session = db_session()
    return intent_dict(session, matchmaking.read_intent(session, current_actor(), intent_id))


@blp.route("/intents/<intent_id>/steps", methods=["POST"])
@blp.arguments(IntentStepWriteSchema)
@blp.response(201, IntentSchema)
@login_required
def add_intent_step(data: dict[str, Any], intent_id: str) -> dict[str, Any]:
    """推进对接意向：联系、签约、落地或放弃 / Record the next step of an intent"""
    session = db_session()
    step = matchmaking.step_intent(session, current_actor(), intent_id, data)
    session.commit()
    intent = session.get(Intent, step.intent_id)
    assert intent is not None
    return intent_dict(session, intent)
