"""The yield review API over HTTP: the queue of an officer's scope, approve and reject with their error codes, the
lock seen through sync push (``rejected`` ``locked``) and through the page's form. SQLite and PostGIS.

Accounts (tests/conftest.py): county officer and agent of 410102 (中原区, 郑州市 4101, 河南 41), city officer
410100, province officer 410000, ministry officer; "other_agent" in 130102 (河北). A second province officer of
河北 130000 is made here.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant, operator
from catalog.accounts import create_user, issue_token
from catalog.audit import act_as
from catalog.field import YieldMeasurement
from catalog.field_rules import apply_plot, apply_yield

PROTO = {"X-Yuanxian-Protocol": "1", "X-Yuanxian-Schema": "1"}
AGENT = Actor("kit-agent", grants=(Grant("agent", "410102"),), channel="sync")
# 600 kg at 14 % moisture, 1 % impurity over 1 亩, wheat standard 13 %: 600 × 0.99 × 0.86 ÷ 0.87 = 587.17 kg/亩
SAMPLE = {"area_mu": 1, "fresh_kg": 600, "moisture": 0.14, "impurity": 0.01}


def db(app: Any) -> Session:
    return act_as(Session(app.extensions["yx_engine"]), operator("test"))


def chain(app: Any, levels: tuple[str, ...] = ("county", "province"), season: str = "2026-summer_grain"
          ) -> list[str]:
    """A plot in 410102 with a measurement of each level (each verifying the one before); their ids."""
    with db(app) as s, s.begin():
        plot = apply_plot(s, AGENT, {"name": f"示范田{uuid.uuid4().hex[:4]}", "county_code": "410102",
                                     "crop": "wheat", "season": season}).record
        return [apply_yield(s, AGENT, {"plot_id": plot.id, "method": "harvest", "level": lv, "samples": [SAMPLE],
                                       "panel": ["张三", "李四", "王五"]}).record.id for lv in levels]


def stored(app: Any, yid: str) -> YieldMeasurement:
    with db(app) as s:
        m = s.get(YieldMeasurement, yid)
        assert m is not None
        s.expunge(m)
        return m


@pytest.fixture
def hebei(app: Any) -> dict[str, str]:
    with db(app) as s, s.begin():
        user = create_user(s, "u_hebei", "correct horse battery", roles=[("province_officer", "130000")])
        _t, secret = issue_token(s, user, "api", "tests")
    return {"Authorization": f"Bearer {secret}"}


def error(resp: Any) -> tuple[int, str]:
    return resp.status_code, resp.get_json()["error"]["code"]


def test_api__order_scope_and_decisions(app: Any, as_role: Any, hebei: dict[str, str], client: Any) -> None:
    county_id, province_id = chain(app)
    province, county = as_role("province_officer"), as_role("county_officer")
    # the province re-test waits for the county self-test: not in the queue, and 409 review_order
    queue = province.get("/api/yields/review-queue").get_json()
    assert queue["total"] == 0
    assert error(province.post(f"/api/yields/{province_id}/approve", json={})) == (409, "review_order")
    # readable, but not the province's level: 403; another province does not even read it: 404
    assert error(province.post(f"/api/yields/{county_id}/approve", json={})) == (403, "forbidden")
    assert error(client.post(f"/api/yields/{county_id}/approve", json={}, headers=hebei)) == (404, "not_found")
    assert error(as_role("agent").post(f"/api/yields/{county_id}/approve", json={})) == (403, "forbidden")
    item = county.get(f"/api/yields/{county_id}").get_json()
    assert (item["review_state"], item["can_decide"], item["yield_kg_per_mu"], item["verified_by"]) == (
        "pending", True, 587.17, [province_id])
    assert item["plot"]["county_code"] == "410102"
    [row] = county.get("/api/yields/review-queue").get_json()["items"]
    assert row["id"] == county_id
    approved = county.post(f"/api/yields/{county_id}/approve", json={"version": item["version"]})
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert (body["review_state"], body["locked"], body["reviewed_by"]) == ("approved", True, "u_county_officer")
    assert error(county.post(f"/api/yields/{county_id}/approve", json={})) == (409, "locked")
    assert error(county.post(f"/api/yields/{county_id}/reject", json={"comment": "x"})) == (409, "locked")
    # now the province re-test is in the province officer's queue, filtered by county and season
    assert [r["id"] for r in province.get("/api/yields/review-queue?county=410100").get_json()["items"]] == [
        province_id]
    assert province.get("/api/yields/review-queue?season=2025-summer_grain").get_json()["total"] == 0
    assert province.get("/api/yields/review-queue?level=county").get_json()["total"] == 0
    assert province.get(f"/api/yields/{province_id}").get_json()["waiting_for"] == []
    # a rejection needs a comment (422 comment_required, nothing changed) …
    refused = province.post(f"/api/yields/{province_id}/reject", json={"comment": ""})
    assert error(refused) == (422, "comment_required")
    assert refused.get_json()["error"]["errors"][0]["field"] == "comment"
    assert stored(app, province_id).review_state == "pending"
    # … then goes through; a second decision on it waits for the agent's edit
    rejected = province.post(f"/api/yields/{province_id}/reject", json={"comment": "复测样点与自测重合，请重新取点"})
    assert rejected.get_json()["review_state"] == "rejected"
    assert error(province.post(f"/api/yields/{province_id}/approve", json={})) == (409, "not_pending")
    assert province.get("/api/yields/review-queue?state=rejected").get_json()["items"][0]["review_comment"] == \
        "复测样点与自测重合，请重新取点"


def test_api__bad_input_and_who_may_ask(app: Any, as_role: Any, client: Any) -> None:
    [county_id] = chain(app, ("county",))
    county = as_role("county_officer")
    assert error(county.get("/api/yields/review-queue?level=village")) == (422, "validation_failed")
    assert error(county.get("/api/yields/review-queue?county=41")) == (422, "validation_failed")
    assert error(county.post(f"/api/yields/{county_id}/approve", json={"version": 99})) == (409, "conflict")
    assert error(county.post(f"/api/yields/{county_id}/approve", json={"extra": 1})) == (422, "validation_failed")
    assert error(county.post(f"/api/yields/{uuid.uuid4()}/approve", json={})) == (404, "not_found")
    assert error(as_role("agent").get("/api/yields/review-queue")) == (403, "forbidden")
    assert error(client.get("/api/yields/review-queue")) == (401, "unauthorized")
    assert stored(app, county_id).review_state == "pending"


def test_api__city_and_ministry_levels(app: Any, as_role: Any) -> None:
    ids = chain(app, ("county", "city", "province", "ministry"))
    order = [("county_officer", ids[0]), ("city_officer", ids[1]), ("province_officer", ids[2]),
             ("ministry_officer", ids[3])]
    assert error(as_role("ministry_officer").post(f"/api/yields/{ids[3]}/approve", json={})) == (409, "review_order")
    for role, yid in order:
        resp = as_role(role).post(f"/api/yields/{yid}/approve", json={"comment": "符合要求"})
        assert resp.status_code == 200, (role, resp.get_json())
    assert [stored(app, y).review_state for y in ids] == ["approved"] * 4
    assert [stored(app, y).verifies_id for y in ids] == [None, ids[0], ids[1], ids[2]]


@pytest.fixture
def device(app: Any) -> dict[str, str]:
    with db(app) as s, s.begin():
        user = create_user(s, "kit_henan", "correct horse battery", roles=[("agent", "410102")])
        _t, secret = issue_token(s, user, "device", "平板")
    return {"Authorization": f"Bearer {secret}", **PROTO, "Content-Type": "application/json"}


def push(client: Any, headers: dict[str, str], *mutations: dict[str, Any]) -> list[dict[str, Any]]:
    resp = client.post("/api/sync/push", data=json.dumps({"mutations": list(mutations)}), headers=headers)
    assert resp.status_code == 200, resp.data[:300]
    return list(resp.get_json()["answers"])


def mutation(rid: str, fields: dict[str, Any], op: str = "upsert", base: int | None = None) -> dict[str, Any]:
    return {"mutation_id": str(uuid.uuid4()), "type": "yield", "id": rid, "op": op, "base_version": base,
            "fields": fields, "schema": 1}


def test_push__approved_measurement_refused_locked__rejected_one_edited_back_to_pending(
        app: Any, client: Any, as_role: Any, device: dict[str, str]) -> None:
    county_id, province_id = chain(app)
    county = as_role("county_officer")
    assert county.post(f"/api/yields/{county_id}/approve", json={}).status_code == 200
    assert as_role("province_officer").post(f"/api/yields/{province_id}/reject",
                                            json={"comment": "请补充第二点"}).status_code == 200
    before = stored(app, county_id)
    edit, delete, sneak = push(client, device,
                               mutation(county_id, {"samples": [{**SAMPLE, "fresh_kg": 700}]}, base=before.version),
                               mutation(county_id, {}, op="delete", base=before.version),
                               mutation(county_id, {"review_state": "pending"}, base=before.version))
    assert (edit["status"], edit["code"]) == ("rejected", "locked")
    assert (delete["status"], delete["code"]) == ("rejected", "locked")
    assert sneak["status"] == "applied"  # the review columns are the server's: ignored when sent
    after = stored(app, county_id)
    assert (after.review_state, after.yield_kg_per_mu, after.deleted, after.version) == (
        "approved", 587.17, False, before.version)
    rejected = stored(app, province_id)
    [answer] = push(client, device, mutation(province_id, {"samples": [SAMPLE, SAMPLE]}, base=rejected.version))
    assert answer["status"] == "applied", answer
    again = stored(app, province_id)
    assert (again.review_state, again.review_comment) == ("pending", "请补充第二点")


def test_page__queue_form_decides_and_a_locked_one_answers_409(app: Any, client: Any) -> None:
    [county_id] = chain(app, ("county",))
    with db(app) as s, s.begin():
        create_user(s, "u_page_county", "correct horse battery", roles=[("county_officer", "410102")])
    assert client.post("/api/auth/login", json={"username": "u_page_county", "password": "correct horse battery"}
                       ).status_code == 200
    page = client.get("/review")
    assert page.status_code == 200 and county_id in page.get_data(as_text=True)
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post("/review", data={"csrf_token": csrf, "yield_id": county_id, "action": "reject",
                                           "comment": ""})
    assert refused.status_code == 422 and "退回须填写意见" in refused.get_data(as_text=True)
    done = client.post("/review", data={"csrf_token": csrf, "yield_id": county_id, "action": "approve"})
    assert done.status_code == 302 and stored(app, county_id).review_state == "approved"
    locked = client.post("/review", data={"csrf_token": csrf, "yield_id": county_id, "action": "reject",
                                          "comment": "再看看"})
    assert locked.status_code == 409 and "锁定" in locked.get_data(as_text=True)
    sheet = client.get(f"/yields/{county_id}/sheet")
    text = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and "587.17" in text and "已审核（锁定）" in text and "site-header" not in text
