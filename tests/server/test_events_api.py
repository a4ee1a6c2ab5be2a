"""The events API as its users walk it: an officer sets up an event and showcases results, a park registers and
follows an intent to a demo plot; refusals answer in the one error shape and write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant, operator
from catalog.audit import act_as
from catalog.field_rules import apply_plot
from catalog.intents import Intent, IntentStep
from catalog.lifecycle import transition
from catalog.result_store import create_result

PARK = "NASTP001"  # 浙江嘉兴国家农业科技园区 (嘉兴市 330400): the park manager's site in tests/conftest.py


@pytest.fixture
def seeded(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A published result of 河南农业大学 and a demo plot in 南湖区 (嘉兴) showing it."""
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        r = create_result(s, {"name": "稻渔综合种养技术", "summary": "稻虾共作", "institutions": ["河南农业大学"],
                              "tech_fields": ["TF03"], "industry_types": ["IT0101"]}, "test")
        for step in ("submit", "approve", "publish"):
            transition(s, r, step, "test")
        lon, lat, d = 120.76, 30.74, 0.002
        agent = Actor("agent-330402", grants=(Grant("agent", "330402"),))
        plot = apply_plot(s, agent, {
            "name": "南湖区稻虾示范田", "county_code": "330402", "crop": "rice_japonica", "season": "2026-middle_rice",
            "result_id": r.id, "boundary": {"type": "Polygon", "coordinates": [
                [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]}}).record
        return {"result": r.id, "plot": plot.id}


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.get_data(as_text=True)[:400]
    return resp.get_json()


def refused(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)[:400]
    err = resp.get_json()["error"]
    assert err["message"]["zh"] and err["message"]["en"]
    return err


def counts(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with Session(app.extensions["yx_engine"]) as s:
        return (s.scalar(select(func.count()).select_from(Intent)) or 0,
                s.scalar(select(func.count()).select_from(IntentStep)) or 0)


def test_journey__event_showcase_registration_intent_to_landed_plot(app, as_role, client, seeded):
    province, park, holder = as_role("province_officer"), as_role("park_manager"), as_role("result_holder")
    event = ok(province.post("/api/events", json={
        "kind": "onsite", "title": "2026年河南省农业科技成果现场对接会", "starts_on": "2026-04-16",
        "ends_on": "2026-04-17", "place_code": "411000", "address": "许昌市建安区"}), 201)
    assert (event["province_code"], event["state"], event["allowed_actions"]) == ("410000", "planned",
                                                                                 ["open", "close"])
    eid = event["id"]
    ok(province.post(f"/api/events/{eid}/transitions", json={"action": "open"}))
    body = ok(province.post(f"/api/events/{eid}/results", json={"result_id": seeded["result"], "note": "A区3号展位"}),
              201)
    assert [(r["name"], r["note"]) for r in body["results"]] == [("稻渔综合种养技术", "A区3号展位")]
    body = ok(park.post(f"/api/events/{eid}/sites", json={"site_id": PARK, "contact": "张主任 0573-8200000"}), 201)
    assert [(s["site_id"], s["via"]) for s in body["sites"]] == [(PARK, "registered")]
    assert ok(client.get(f"/api/events/{eid}"))["sites"][0]["name"] == "浙江嘉兴国家农业科技园区"  # public

    intent = ok(park.post("/api/intents", json={"site_id": PARK, "result_id": seeded["result"], "event_id": eid,
                                               "on": "2026-04-16", "note": "现场签到洽谈"}), 201)
    iid = intent["id"]
    assert (intent["state"], intent["allowed_steps"]) == ("registered", ["contact", "dropped"])
    for step in ({"step": "contact", "on": "2026-04-25"}, {"step": "agreement", "on": "2026-05-10", "mode": "licence"},
                 {"step": "landed", "on": "2026-06-20", "plot_id": seeded["plot"], "note": "示范田插秧"}):
        intent = ok(park.post(f"/api/intents/{iid}/steps", json=step), 201)
    assert (intent["state"], intent["mode"], intent["plot_id"], intent["allowed_steps"]) == (
        "landed", "licence", seeded["plot"], [])
    assert [(s["state"], s["happened_on"]) for s in intent["steps"]] == [
        ("registered", "2026-04-16"), ("contact", "2026-04-25"), ("agreement", "2026-05-10"),
        ("landed", "2026-06-20")]
    # The holder of the result reads the intent on its result; the list filters the same way.
    assert ok(holder.get(f"/api/intents/{iid}"))["plot_id"] == seeded["plot"]
    assert [i["id"] for i in ok(holder.get("/api/intents"))["items"]] == [iid]
    assert ok(as_role("other_holder").get("/api/intents"))["items"] == []
    refused(as_role("other_holder").get(f"/api/intents/{iid}"), 404)
    refused(holder.post(f"/api/intents/{iid}/steps", json={"step": "dropped", "reason": "x"}), 403)
    # Landed is final.
    err = refused(park.post(f"/api/intents/{iid}/steps", json={"step": "dropped", "reason": "不再推进"}), 409)
    assert (err["code"], err["details"]["allowed"]) == ("illegal_transition", [])


def test_intent_step__out_of_order_or_incomplete__refused_with_reasons_and_nothing_written(app, as_role, seeded):
    park = as_role("park_manager")
    iid = ok(park.post("/api/intents", json={"site_id": PARK, "result_id": seeded["result"]}), 201)["id"]
    before = counts(app)
    err = refused(park.post(f"/api/intents/{iid}/steps", json={"step": "landed", "plot_id": seeded["plot"]}), 409)
    assert err["code"] == "illegal_transition" and err["details"]["allowed"] == ["contact", "dropped"]
    assert "已登记" in err["message"]["zh"]
    ok(park.post(f"/api/intents/{iid}/steps", json={"step": "contact"}), 201)
    err = refused(park.post(f"/api/intents/{iid}/steps", json={"step": "agreement", "mode": "gift"}), 422)
    assert [(e["field"], e["code"]) for e in err["errors"]] == [("mode", "invalid")]
    assert err["errors"][0]["zh"] and err["errors"][0]["en"]
    err = refused(park.post(f"/api/intents/{iid}/steps", json={"step": "dropped"}), 422)
    assert err["errors"][0]["field"] == "reason"
    refused(park.post(f"/api/intents/{iid}/steps", json={"step": "contact", "extra": 1}), 422)
    assert counts(app) == (before[0], before[1] + 1)  # only the contact step


def test_intents_page__each_agreement_offers_its_own_plots__statements_do_not_grow_with_intents(app, as_role, seeded):
    """The landed step's plot list of each intent holds the site's plots showing that intent's result, and the page
    takes as many queries for one agreed intent as for three (not a query or two an intent)."""
    park, engine = as_role("park_manager"), app.extensions["yx_engine"]

    def agree(result_id: str) -> str:
        iid = ok(park.post("/api/intents", json={"site_id": PARK, "result_id": result_id}), 201)["id"]
        for step in ({"step": "contact"}, {"step": "agreement", "mode": "licence"}):
            ok(park.post(f"/api/intents/{iid}/steps", json=step), 201)
        return str(iid)

    def page() -> tuple[dict[str, str], int]:
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):  # not a token's minutely last-used UPDATE
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            resp = park.get("/intents")
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert resp.status_code == 200
        items = resp.get_data(as_text=True).split('id="intent-')[1:]
        return {item.split('"', 1)[0]: item for item in items}, len(statements)

    first = agree(seeded["result"])
    items, one = page()
    assert "南湖区稻虾示范田" in items[first]
    agent, lat, d = Actor("agent-330402", grants=(Grant("agent", "330402"),)), 30.70, 0.002
    more = {}
    with act_as(Session(engine), operator("test")) as s, s.begin():
        for k, name in enumerate(("再生稻丰产栽培技术", "水稻侧深施肥技术")):
            r = create_result(s, {"name": name, "summary": "示范", "institutions": ["河南农业大学"],
                                  "tech_fields": ["TF03"], "industry_types": ["IT0101"]}, "test")
            for step in ("submit", "approve", "publish"):
                transition(s, r, step, "test")
            lon = 120.71 + 0.01 * k  # in 南湖区, apart from each other and from the seeded plot
            square = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d],
                                                         [lon, lat + d], [lon, lat]]]}
            apply_plot(s, agent, {"name": f"{name}示范田", "county_code": "330402", "crop": "rice_japonica",
                                  "season": "2026-middle_rice", "result_id": r.id, "boundary": square})
            more[r.id] = f"{name}示范田"
    agreed = {agree(rid): plot for rid, plot in more.items()}
    items, three = page()
    assert three == one
    for iid, plot in agreed.items():
        assert plot in items[iid] and "南湖区稻虾示范田" not in items[iid]
        assert all(other not in items[iid] for other in agreed.values() if other != plot)
    assert "南湖区稻虾示范田" in items[first] and not any(p in items[first] for p in agreed.values())


@pytest.mark.parametrize(("role", "body", "status", "code"), [
    ("anonymous", {"site_id": PARK}, 401, "unauthorized"),
    ("park_manager", {"site_id": "KC-150422"}, 403, "forbidden"),          # another site
    ("ministry_officer", {"site_id": PARK}, 403, "forbidden"),              # officers do not speak for sites
    ("park_manager", {"site_id": PARK, "result_id": "nope"}, 422, "validation_failed"),
    ("park_manager", {"site_id": PARK, "event_id": "nope"}, 422, "validation_failed"),
])
def test_new_intent__refusals(app, client, accounts, seeded, role, body, status, code):
    headers = accounts.get(role, {})
    resp = client.post("/api/intents", json={"result_id": seeded["result"], **body}, headers=headers)
    assert refused(resp, status)["code"] == code
    assert counts(app) == (0, 0)


def test_events__listed_and_filtered_public(as_role, client):
    ministry = as_role("ministry_officer")
    online = ok(ministry.post("/api/events", json={"kind": "online", "title": "2026年农业科技成果网络展会",
                                                   "starts_on": "2026-09-01", "ends_on": "2026-09-30"}), 201)
    assert online["province_code"] is None
    refused(as_role("province_officer").patch(f"/api/events/{online['id']}", json={"title": "改名"}), 403)
    ok(ministry.post(f"/api/events/{online['id']}/transitions", json={"action": "close"}))
    err = refused(ministry.post(f"/api/events/{online['id']}/transitions", json={"action": "open"}), 409)
    assert err["code"] == "illegal_transition"
    refused(ministry.patch(f"/api/events/{online['id']}", json={"title": "改名"}), 409)
    body = ok(client.get("/api/events?kind=online&province=national"))
    assert [e["title"] for e in body["items"]] == ["2026年农业科技成果网络展会"]
    assert ok(client.get("/api/events?kind=onsite"))["total"] == 0
    refused(client.get("/api/events/nope"), 404)
