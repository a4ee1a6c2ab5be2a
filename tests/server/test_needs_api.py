"""The needs API: post, read, edit, move, match; errors in the one shape; a refused write leaves nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.audit import act_as
from catalog.lifecycle import transition
from catalog.needs import Need
from catalog.result_store import create_result

NEED: dict[str, Any] = {"site_id": "NASTP001", "title": "嘉兴水稻机插秧",
                        "problem": "劳动力紧缺，需要水稻机插秧技术和插秧机", "crops": ["rice"],
                        "industry_types": ["IT0101"], "scenarios": ["SC0403"],
                        "season": "2026-middle_rice", "area_mu": 20000}


def publish(app: Any, name: str, **fields: Any) -> str:
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        r = create_result(s, {"name": name, "institutions": ["中国水稻研究所"], "tech_fields": ["TF06"], **fields},
                          "test")
        for step in ("submit", "approve", "publish"):
            transition(s, r, step, "test")
        return r.id


def needs_in_db(app: Any) -> int:
    with Session(app.extensions["yx_engine"]) as s:
        return s.scalar(select(func.count()).select_from(Need)) or 0


def test_post_read_match__a_park_manager_for_its_park(app, as_role) -> None:
    fit = publish(app, "水稻高速插秧机", summary="适合南方水田机插秧", crops=["rice_japonica"],
                  industry_types=["IT0101"], scenarios=["SC0403"], suitable_regions=["330000"], trl=8)
    park = as_role("park_manager")
    r = park.post("/api/needs", json=NEED)
    assert r.status_code == 201, r.get_json()
    need = r.get_json()
    assert need["state"] == "open" and need["area_mu"] == 20000 and need["site"]["name"] == "浙江嘉兴国家农业科技园区"
    assert need["allowed_actions"] == ["match", "close"]
    got = as_role("result_holder").get(f"/api/needs/{need['id']}/matches").get_json()
    assert got["items"][0]["result_id"] == fit
    zh = [x["zh"] for x in got["items"][0]["reasons"]]
    assert "同为水稻" in zh and "应用场景：播种移栽" in zh and "适宜区域含浙江省" in zh
    assert got["items"][0]["score"] == round(sum(x["points"] for x in got["items"][0]["reasons"]), 2)
    sites = as_role("reviewer").get(f"/api/results/{fit}/sites").get_json()
    assert [s["site"]["id"] for s in sites["items"]] == ["NASTP001"]
    assert sites["items"][0]["need_id"] == need["id"]
    listed = as_role("county_officer").get("/api/needs?state=open").get_json()
    assert [n["id"] for n in listed["items"]] == [need["id"]] and listed["total"] == 1


def test_post__bad_fields__422_names_each_and_nothing_written(app, as_role) -> None:
    r = as_role("park_manager").post("/api/needs", json={**NEED, "crops": ["banana"], "season": "2026-monsoon",
                                                         "area_mu": -1})
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "validation_failed"
    assert {(e["field"], e["code"]) for e in err["errors"]} == {
        ("crops", "unknown_code"), ("season", "unknown_code"), ("area_mu", "out_of_range")}
    assert all(e["zh"] and e["en"] for e in err["errors"])
    r = as_role("park_manager").post("/api/needs", json={**NEED, "budget": 1})
    assert r.status_code == 422  # unknown fields are refused, never ignored
    assert needs_in_db(app) == 0


def test_post__another_sites_poster_403__anonymous_401__nothing_written(app, client, as_role) -> None:
    r = as_role("county_officer").post("/api/needs", json=NEED)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert client.post("/api/needs", json=NEED).status_code == 401
    assert needs_in_db(app) == 0


def test_edit_and_move__version_conflict_409__illegal_step_409__closed_hidden_from_others(app, as_role) -> None:
    park = as_role("park_manager")
    need = park.post("/api/needs", json=NEED).get_json()
    r = park.patch(f"/api/needs/{need['id']}", json={"area_mu": 100, "version": 1})
    assert r.status_code == 200 and r.get_json()["version"] == 2
    stale = park.patch(f"/api/needs/{need['id']}", json={"title": "旧", "version": 1})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"
    assert park.get(f"/api/needs/{need['id']}").get_json()["title"] == NEED["title"]
    r = park.post(f"/api/needs/{need['id']}/transitions", json={"action": "close", "comment": "已解决"})
    assert r.status_code == 200 and r.get_json()["state"] == "closed"
    again = park.post(f"/api/needs/{need['id']}/transitions", json={"action": "close"})
    assert again.status_code == 409 and again.get_json()["error"]["details"]["allowed"] == ["reopen"]
    assert as_role("result_holder").get(f"/api/needs/{need['id']}").status_code == 404
    assert as_role("ministry_officer").get(f"/api/needs/{need['id']}").status_code == 200
    assert park.post(f"/api/needs/{need['id']}/transitions", json={"action": "reopen"}).get_json()["state"] == "open"


def test_match_naming_a_result__must_be_published(app, as_role) -> None:
    park = as_role("park_manager")
    need = park.post("/api/needs", json=NEED).get_json()
    r = park.post(f"/api/needs/{need['id']}/transitions", json={"action": "match", "result_id": "nope"})
    assert r.status_code == 422 and r.get_json()["error"]["errors"][0]["field"] == "result_id"
    fit = publish(app, "水稻插秧机", summary="机插秧", crops=["rice"], industry_types=["IT0101"])
    r = park.post(f"/api/needs/{need['id']}/transitions", json={"action": "match", "result_id": fit})
    assert r.status_code == 200 and r.get_json()["matched_result_id"] == fit
