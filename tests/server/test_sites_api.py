"""The read API of divisions and sites: /api/divisions, /api/sites, /api/site-lists."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import shape


def get_json(client, url: str, status: int = 200):  # type: ignore[no-untyped-def]
    resp = client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    return resp.get_json()


def test_divisions__by_level__paginated(client):
    body = get_json(client, "/api/divisions?level=prefecture&per_page=100&page=4")
    assert (body["total"], body["pages"], body["page"], len(body["items"])) == (333, 4, 4, 33)
    assert {d["level"] for d in body["items"]} == {"prefecture"}


def test_divisions__by_parent__children_in_code_order(client):
    body = get_json(client, "/api/divisions?parent=320100")
    assert body["total"] == 11 and body["items"][0]["code"] == "320102"
    provinces = get_json(client, "/api/divisions?parent=000000&per_page=100")
    assert provinces["total"] == 34


def test_divisions__query__finds_name_across_provinces(client):
    body = get_json(client, "/api/divisions?q=鼓楼区")
    assert [(d["code"], d["province_code"]) for d in body["items"]] == [
        ("320106", "320000"), ("320302", "320000"), ("350102", "350000"), ("410204", "410000"),
    ]
    assert get_json(client, "/api/divisions?q=鼓楼区&include_retired=true")["total"] >= 4


def test_divisions__bad_level__422(client):
    body = get_json(client, "/api/divisions?level=village", 422)
    assert body["error"]["errors"][0]["field"] == "level"


def test_division__current__with_ancestors_children_and_boundary_flag(client):
    body = get_json(client, "/api/divisions/320100")
    assert body["name"] == "南京市" and body["children_count"] == 11
    assert body["ancestors"] == [{"code": "320000", "name": "江苏省", "level": "province"}]
    assert body["has_boundary"] is False and body["successors"] == [] and body["retired"] is False


def test_division__retired__names_its_successors_and_changes(client):
    body = get_json(client, "/api/divisions/500105")
    assert body["retired"] and body["valid_to"] == "2025-01-01"
    assert body["successors"] == [{"code": "500157", "name": "两江新区", "level": "county"}]
    assert body["changes"][-1]["doc_no"] == "渝府发〔2025〕15号"
    assert body["has_boundary"] is True


def test_division__with_sites__lists_them(client):
    body = get_json(client, "/api/divisions/320583")
    assert {s["id"] for s in body["sites"]} >= {"IC1-320583"}


def test_division__unknown__404_shape(client):
    err = get_json(client, "/api/divisions/999999", 404)["error"]
    assert err["code"] == "not_found" and "999999" in err["message"]["zh"] and err["message"]["en"]


def test_boundary__geojson_feature_in_wgs84(client):
    body = get_json(client, "/api/divisions/110108/boundary")
    assert body["type"] == "Feature" and body["properties"]["name"] == "海淀区"
    geom = shape(body["geometry"])
    assert geom.geom_type == "MultiPolygon" and geom.covers(shapely.Point(116.30, 39.96))


@pytest.mark.parametrize("code", ["653132", "999999"])  # 岑岭县 has no polygon yet; 999999 does not exist
def test_boundary__missing__404(client, code):
    assert get_json(client, f"/api/divisions/{code}/boundary", 404)["error"]["code"] == "not_found"


def test_sites__filters_combine(client):
    inactive = get_json(client, "/api/sites?kind=park&active=false")
    assert inactive["total"] == 8 and not any(s["active"] for s in inactive["items"])
    sichuan = get_json(client, "/api/sites?list=KC&province=510000&per_page=100")
    assert sichuan["total"] == 25 and {s["province_code"] for s in sichuan["items"]} == {"510000"}
    assert get_json(client, "/api/sites?kind=innovation_county")["total"] == 90


def test_site__detail_with_place_divisions_and_list(client):
    body = get_json(client, "/api/sites/NASTP001")
    assert body["name"] == "浙江嘉兴国家农业科技园区"
    assert body["place"] == {"code": "330400", "name": "嘉兴市", "level": "prefecture"}
    assert body["divisions"] == [body["place"]] and body["province"]["name"] == "浙江省"
    assert body["list"]["id"] == "NASTP" and body["list"]["active_count"] == 297


def test_site__unknown__404_shape(client):
    err = get_json(client, "/api/sites/NOPE", 404)["error"]
    assert err["code"] == "not_found" and err["details"] == {"site_id": "NOPE"}


def test_site_lists__counts_completeness_and_source(client):
    lists = {sl["id"]: sl for sl in get_json(client, "/api/site-lists")}
    assert (lists["IC1"]["expected_count"], lists["IC1"]["known_count"], lists["IC1"]["complete"]) == (52, 28, False)
    assert (lists["KC"]["expected_count"], lists["KC"]["known_count"]) == (160, 94)
    assert "甘肃" in lists["KC"]["source"]
    assert get_json(client, "/api/site-lists/IC2")["known_count"] == 62
    assert get_json(client, "/api/site-lists/NONE", 404)["error"]["code"] == "not_found"


def test_openapi__documents_the_endpoints(client):
    paths = get_json(client, "/api/openapi.json")["paths"]
    assert {"/api/divisions", "/api/divisions/{code}", "/api/divisions/{code}/boundary", "/api/sites",
            "/api/sites/{site_id}", "/api/site-lists"} <= set(paths)
