from __future__ import annotations

NEW = {"name": "耐密高产玉米新品种", "summary": "黄淮海夏播区", "institutions": ["河南农业大学"],
       "tech_fields": ["TF01"], "industry_types": ["IT0103"], "crops": ["maize"], "trl": 8, "form": "variety",
       "keywords": ["耐密", "高产"], "ip": {"variety_rights": ["CNA20190001"]},
       "key_figures": [{"name": "增产", "value": 8.6, "unit": "%"}]}


def create(holder, **over):  # type: ignore[no-untyped-def]
    resp = holder.post("/api/results", json={**NEW, **over})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_create_then_read__round_trips_fields(as_role):
    holder = as_role("result_holder")
    made = create(holder)
    got = holder.get(f"/api/results/{made['id']}").get_json()
    assert got == made
    assert got["state"] == "draft" and got["allowed_actions"] == ["submit"]
    assert got["ip"] == {"variety_rights": ["CNA20190001"]}
    assert got["key_figures"][0]["value"] == 8.6


def test_patch__edits_fields_and_bumps_version(as_role):
    client = as_role("result_holder")
    made = create(client)
    resp = client.patch(f"/api/results/{made['id']}", json={"trl": 9, "crops": ["maize", "wheat"], "version": 1})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["trl"] == 9 and body["crops"] == ["maize", "wheat"] and body["version"] == 2
    assert body["name"] == NEW["name"]  # untouched fields stay


def test_patch__stale_version__409_and_nothing_changed(as_role):
    client = as_role("result_holder")
    made = create(client)
    client.patch(f"/api/results/{made['id']}", json={"trl": 9})
    resp = client.patch(f"/api/results/{made['id']}", json={"trl": 5, "version": 1})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    assert client.get(f"/api/results/{made['id']}").get_json()["trl"] == 9


def test_patch__invalid_field__422_and_nothing_changed(as_role):
    client = as_role("result_holder")
    made = create(client)
    resp = client.patch(f"/api/results/{made['id']}", json={"trl": 12, "name": "新名字"})
    assert resp.status_code == 422
    got = client.get(f"/api/results/{made['id']}").get_json()
    assert got["name"] == NEW["name"] and got["trl"] == 8 and got["version"] == 1


def test_transitions__lifecycle_and_history(as_role):
    holder, reviewer = as_role("result_holder"), as_role("reviewer")
    rid = create(holder)["id"]
    assert holder.post(f"/api/results/{rid}/transitions", json={"action": "submit"}).status_code == 200
    resp = reviewer.post(f"/api/results/{rid}/transitions", json={"action": "return"})
    assert resp.status_code == 422  # a return needs a comment
    resp = reviewer.post(f"/api/results/{rid}/transitions", json={"action": "return", "comment": "补充数据"})
    assert resp.get_json()["state"] == "draft" and resp.get_json()["review_comment"] == "补充数据"
    history = holder.get(f"/api/results/{rid}/history").get_json()
    assert [h["action"] for h in history] == ["create", "submit", "return"]
    assert history[-1]["comment"] == "补充数据" and history[-1]["actor"] == "u_reviewer"


def test_list__search_facets_and_pages(as_role):
    client = as_role("result_holder")  # reads its own drafts
    for i in range(5):
        create(client, name=f"玉米新品种{i}号")
    create(client, name="大豆新品种", crops=["soybean"], industry_types=["IT0104"])
    body = client.get("/api/results?q=玉米&per_page=2&page=3&facets=1&sort=name").get_json()
    assert body["total"] == 5 and body["pages"] == 3 and len(body["items"]) == 1
    assert body["items"][0]["name"] == "玉米新品种4号"
    assert body["facets"]["crop"] == {"maize": 5}
    body = client.get("/api/results?crop=maize,soybean&crop=wheat").get_json()
    assert body["total"] == 6
    facets = client.get("/api/results/facets?industry_type=IT0104").get_json()
    assert facets["total"] == 1 and facets["facets"]["crop"] == {"soybean": 1}


def test_openapi__describes_every_api_route(client, app):
    spec = client.get("/api/openapi.json").get_json()
    documented = {p.replace("{", "<").replace("}", ">") for p in spec["paths"]}
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")
              and r.endpoint.split(".")[0] != "api-docs" and not r.rule.startswith("/api/openapi")
              and r.rule != "/api/docs"}
    assert routes - documented == set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert op.get("summary"), f"{method} {path} has no summary"
