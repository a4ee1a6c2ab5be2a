"""Matchmaking events and intents: an intent moves through its states in order, each step its own dated row; a
landed intent links to a demo plot of the site's county that shows the result; refusals change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.audit import AuditEntry
from catalog.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from catalog.event_access import (
    can_read_intent,
    ensure_can_create_event,
    ensure_event_manageable,
    ensure_intent_readable,
    ensure_intent_writable,
    intent_condition,
    speaks_for,
)
from catalog.events import Event, create_event, move_event, register_site, showcase_result, update_event
from catalog.field_rules import apply_plot
from catalog.intents import Intent, IntentStep, check_new_intent, create_intent, intent_steps, move_intent
from catalog.lifecycle import transition
from catalog.sites import get_site
from gis.area import M2_PER_MU
from tests.catalog.factories import make_result

PARK = "NASTP245"  # 湖南宁乡国家农业科技园区, in 宁乡市 430182
COUNTY = "430182"
MANAGER = Actor("ningxiang-park", "u1", (Grant("park_manager", PARK),))
COUNTY_OFFICER = Actor("ningxiang-county", "u2", (Grant("county_officer", COUNTY),))
AGENT = Actor("ningxiang-agent", "u3", (Grant("agent", COUNTY),))
HOLDER = Actor("caas", "u4", (Grant("result_holder", "中国农业科学院作物科学研究所"),))
OTHER_HOLDER = Actor("cau", "u5", (Grant("result_holder", "中国农业大学"),))
HUNAN = Actor("hunan", "u6", (Grant("province_officer", "430000"),))
HENAN = Actor("henan", "u7", (Grant("province_officer", "410000"),))
OTHER_PARK = Actor("xuchang-park", "u8", (Grant("park_manager", "NASTP014"),))


def published(session: Session, name: str = "早稻直播丰产技术") -> str:
    r = make_result(session, name, crops=["rice_indica"])
    for step in ("submit", "approve", "publish"):
        transition(session, r, step, "test")
    return r.id


def plot_in(session: Session, county: str, lon: float, lat: float, result_id: str | None) -> str:
    d = 0.002
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    agent = Actor(f"agent-{county}", grants=(Grant("agent", county),))
    return apply_plot(session, agent, {
        "name": "双江口镇示范田", "county_code": county, "crop": "rice_indica", "season": "2026-early_rice",
        "result_id": result_id, "boundary": {"type": "Polygon", "coordinates": [ring]}}).record.id


@pytest.fixture
def world(session: Session) -> dict[str, str]:
    result = published(session)
    event = create_event(session, {"kind": "onsite", "title": "2026年湖南省农业科技成果现场对接会",
                                   "starts_on": "2026-04-10", "ends_on": "2026-04-11", "place_code": "430100",
                                   "address": "长沙市芙蓉区", "province_code": "430000"}, "hunan")
    showcase_result(session, event, result, "hunan")
    register_site(session, event, PARK, "ningxiang-park")
    session.flush()
    return {"result": result, "event": event.id}


def new_intent(session: Session, world: dict[str, str], actor: Actor = MANAGER) -> Intent:
    new = check_new_intent(session, {"site_id": PARK, "result_id": world["result"], "event_id": world["event"]},
                           lambda r: True)
    return create_intent(session, new, actor.name, on="2026-04-10", note="现场洽谈")


def test_intent__moves_through_its_states__each_step_a_dated_row(session, world):
    intent = new_intent(session, world)
    plot = plot_in(session, COUNTY, 112.30, 28.19, world["result"])
    move_intent(session, intent, {"step": "contact", "on": "2026-04-20", "note": "赴园区考察"}, "ningxiang-park")
    move_intent(session, intent, {"step": "agreement", "on": "2026-05-08", "mode": "licence"}, "ningxiang-park")
    move_intent(session, intent, {"step": "landed", "on": "2026-06-01", "plot_id": plot}, "ningxiang-park")
    session.flush()
    assert (intent.state, intent.mode, intent.plot_id, intent.version) == ("landed", "licence", plot, 4)
    steps = [(s.state, s.happened_on, s.actor) for s in intent_steps(session, intent.id)]
    assert steps == [("registered", dt.date(2026, 4, 10), "ningxiang-park"),
                     ("contact", dt.date(2026, 4, 20), "ningxiang-park"),
                     ("agreement", dt.date(2026, 5, 8), "ningxiang-park"),
                     ("landed", dt.date(2026, 6, 1), "ningxiang-park")]
    assert intent_steps(session, intent.id)[-1].details == {"plot_id": plot}
    audited = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "intent_step"))
    assert audited == 4


def test_intent__lands_with_an_adoption_record_in_mu(session, world):
    intent = new_intent(session, world)
    for step in ({"step": "contact"}, {"step": "agreement", "mode": "cooperation"}):
        move_intent(session, intent, step, "x")
    move_intent(session, intent, {"step": "landed", "area_mu": "1200", "note": "合作社统一推广"}, "x")
    assert intent.adopted_area_m2 == pytest.approx(1200 * M2_PER_MU)
    assert intent.adopted_area_mu == pytest.approx(1200)
    assert intent.plot_id is None


@pytest.mark.parametrize(("state_steps", "step"), [
    ([], "agreement"), ([], "landed"), (["contact"], "landed"), (["contact"], "contact"), ([], "registered"),
    (["dropped"], "contact"), ([], "nonsense"),
])
def test_intent__a_step_out_of_order__refused_with_what_is_allowed_and_nothing_written(session, world,
                                                                                     state_steps, step):
    intent = new_intent(session, world)
    for s in state_steps:
        move_intent(session, intent, {"step": s, "reason": "价格不合适"}, "x")
    before = (intent.state, intent.version, len(intent_steps(session, intent.id)))
    with pytest.raises(IllegalTransition) as err:
        move_intent(session, intent, {"step": step, "mode": "licence", "area_mu": 10}, "x")
    assert err.value.context["allowed"] == ([] if intent.state == "dropped" else
                                            [{"registered": "contact", "contact": "agreement"}[intent.state],
                                             "dropped"])
    assert "对接意向处于" in err.value.zh and "cannot move" in err.value.en
    assert (intent.state, intent.version, len(intent_steps(session, intent.id))) == before


def test_intent__landed_plot_must_be_the_sites_county_and_show_the_result(session, world):
    intent = new_intent(session, world)
    move_intent(session, intent, {"step": "contact"}, "x")
    move_intent(session, intent, {"step": "agreement", "mode": "transfer"}, "x")
    elsewhere = plot_in(session, "341221", 115.30, 32.87, world["result"])     # 临泉县: not the site's county
    no_result = plot_in(session, COUNTY, 112.31, 28.19, None)                  # shows no result
    cases = [({"plot_id": elsewhere}, "outside_site"), ({"plot_id": no_result}, "other_result"),
             ({"plot_id": "no-such-plot"}, "unknown_plot"), ({}, "plot_or_adoption"),
             ({"plot_id": no_result, "area_mu": 5}, "plot_or_adoption"), ({"area_mu": -3}, "out_of_range")]
    for extra, code in cases:
        with pytest.raises(ValidationFailed) as err:
            move_intent(session, intent, {"step": "landed", **extra}, "x")
        assert [e.code for e in err.value.errors] == [code], extra
        assert all(e.zh and e.en for e in err.value.errors)
    assert (intent.state, intent.plot_id) == ("agreement", None)
    assert len(intent_steps(session, intent.id)) == 3


def test_intent__step_details_checked(session, world):
    intent = new_intent(session, world)
    with pytest.raises(ValidationFailed) as err:
        move_intent(session, intent, {"step": "contact", "on": "2026-04-01"}, "x")  # before registration
    assert err.value.errors[0].code == "before_previous"
    with pytest.raises(ValidationFailed) as err:
        move_intent(session, intent, {"step": "contact", "on": "2099-01-01"}, "x")
    assert err.value.errors[0].code == "future"
    move_intent(session, intent, {"step": "contact", "on": "2026-04-12"}, "x")
    with pytest.raises(ValidationFailed) as err:
        move_intent(session, intent, {"step": "agreement", "mode": "gift"}, "x")
    assert (err.value.errors[0].field, err.value.errors[0].code) == ("mode", "invalid")
    with pytest.raises(ValidationFailed) as err:
        move_intent(session, intent, {"step": "dropped", "reason": "  "}, "x")
    assert err.value.errors[0].field == "reason"
    move_intent(session, intent, {"step": "dropped", "reason": "企业转向其他品种"}, "x")
    assert (intent.state, intent.drop_reason) == ("dropped", "企业转向其他品种")


def test_new_intent__refusals(session, world):
    draft = make_result(session, "未发布成果").id
    other = published(session, "另一项成果")  # published but not showcased at the event
    cases = [
        ({"site_id": "NOPE", "result_id": world["result"]}, ["unknown_site"]),
        ({"site_id": PARK, "result_id": draft}, ["not_published"]),
        ({"site_id": PARK, "result_id": other, "event_id": world["event"]}, ["not_showcased"]),
        ({"site_id": "NASTP218", "result_id": world["result"], "event_id": world["event"]}, ["not_registered"]),
        ({"site_id": PARK, "result_id": world["result"], "event_id": "nope"}, ["unknown_event"]),
    ]
    for data, codes in cases:
        with pytest.raises(ValidationFailed) as err:
            check_new_intent(session, data, lambda r: True)
        assert [e.code for e in err.value.errors] == codes, data
    with pytest.raises(ValidationFailed) as err:  # a result the actor may not see is unknown, not "not published"
        check_new_intent(session, {"site_id": PARK, "result_id": draft}, lambda r: r.state == "published")
    assert err.value.errors[0].code == "unknown_result"
    new_intent(session, world)
    with pytest.raises(Conflict):  # one open intent per site and result
        new_intent(session, world)
    assert session.scalar(select(func.count()).select_from(Intent)) == 1
    assert session.scalar(select(func.count()).select_from(IntentStep)) == 1


def test_access__who_reads_and_moves_an_intent(session, world):
    intent = new_intent(session, world)
    session.flush()
    readers = {"manager": MANAGER, "county": COUNTY_OFFICER, "holder": HOLDER, "hunan": HUNAN}
    for name, actor in readers.items():
        assert can_read_intent(session, actor, intent), name
    for name, actor in {"agent": AGENT, "other holder": OTHER_HOLDER, "henan": HENAN, "other park": OTHER_PARK,
                        "anonymous": Actor("anonymous")}.items():
        assert not can_read_intent(session, actor, intent), name
        with pytest.raises(NotFound):
            ensure_intent_writable(session, actor, intent)
    for actor in (MANAGER, COUNTY_OFFICER):
        ensure_intent_writable(session, actor, intent)
    for actor in (HOLDER, HUNAN):
        ensure_intent_readable(session, actor, intent)
        with pytest.raises(Forbidden):
            ensure_intent_writable(session, actor, intent)
    # Lists use the same rule in SQL.
    every = [*readers.values(), AGENT, OTHER_HOLDER, HENAN, OTHER_PARK, Actor("anonymous")]
    for actor in every:
        listed = session.scalars(select(Intent.id).where(intent_condition(actor))).all()
        assert (intent.id in listed) == can_read_intent(session, actor, intent), actor.name


def test_access__events_are_organised_in_scope(session, world):
    event = session.get(Event, world["event"])
    ensure_event_manageable(HUNAN, event)
    for actor in (HENAN, MANAGER, COUNTY_OFFICER):
        with pytest.raises(Forbidden):
            ensure_event_manageable(actor, event)
    ensure_can_create_event(Actor("m", "u", (Grant("ministry_officer", None),)), None)
    with pytest.raises(Forbidden):
        ensure_can_create_event(HUNAN, None)  # national events are the ministry's
    with pytest.raises(Forbidden):
        ensure_can_create_event(HUNAN, "410000")
    assert speaks_for(session, MANAGER, get_site(session, PARK))
    assert speaks_for(session, COUNTY_OFFICER, get_site(session, PARK))  # the park lies in its county
    assert not speaks_for(session, OTHER_PARK, get_site(session, PARK))


def test_event__states_and_closed_events_refuse_changes(session, world):
    event = session.get(Event, world["event"])
    with pytest.raises(IllegalTransition):
        move_event(session, event, "reopen", "hunan")
    move_event(session, event, "open", "hunan")
    move_event(session, event, "close", "hunan")
    with pytest.raises(IllegalTransition):
        register_site(session, event, "NASTP218", "x")
    with pytest.raises(ValidationFailed) as err:
        check_new_intent(session, {"site_id": PARK, "result_id": world["result"], "event_id": event.id},
                         lambda r: True)
    assert err.value.errors[0].code == "closed"


def test_event__fields_checked(session):
    bad = {"kind": "onsite", "title": "", "starts_on": "2026-05-02", "ends_on": "2026-05-01", "place_code": "430000",
           "province_code": "410100"}
    with pytest.raises(ValidationFailed) as err:
        create_event(session, bad, "x")
    assert {(e.field, e.code) for e in err.value.errors} == {
        ("title", "required"), ("ends_on", "before_start"), ("place_code", "invalid"), ("province_code", "invalid")}
    with pytest.raises(ValidationFailed) as err:
        create_event(session, {"kind": "online", "title": "网络展会", "starts_on": "2026-05-01",
                               "ends_on": "2026-05-31", "place_code": "430100"}, "x")
    assert err.value.errors[0].code == "not_onsite"
    henan = create_event(session, {"kind": "onsite", "title": "对接会", "starts_on": "2026-05-01",
                                   "ends_on": "2026-05-01", "place_code": "411000", "province_code": "410000"}, "x")
    with pytest.raises(ValidationFailed) as err:  # a provincial event stays in its province, on edits too
        update_event(session, henan, {"place_code": "430182"}, "x")
    assert [e.code for e in err.value.errors] == ["outside_province"] and henan.place_code == "411000"
    online = create_event(session, {"kind": "online", "title": "网络展会", "starts_on": "2026-05-01",
                                    "ends_on": "2026-05-31"}, "x")
    assert (online.place_code, online.province_code, online.state) == (None, None, "planned")

