"""Every API error has one JSON shape: {"error": {status, code, message: {zh, en}, [errors], [details],
request_id}}."""

from __future__ import annotations

import pytest

from catalog.errors import CatalogError, Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from catalog.sync_server import Refetch
from server.auth import Unauthorized
from server.errors import TooLarge, UpdateRequired


def assert_shape(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status
    assert resp.is_json, resp.data[:200]
    body = resp.get_json()
    assert set(body) == {"error"}
    err = body["error"]
    assert err["status"] == status and err["code"] == code
    assert err["message"]["zh"] and err["message"]["en"]
    assert set(err) <= {"status", "code", "message", "errors", "details", "request_id"}
    assert err["request_id"] == resp.headers["X-Request-ID"]
    for item in err.get("errors", []):
        assert item["field"] and item["code"] and item["zh"] and item["en"]
    return err


def test_error__unknown_path__404_shape(client):
    assert_shape(client.get("/api/nothing-here"), 404, "not_found")


def test_error__unknown_record__404_shape(client):
    err = assert_shape(client.get("/api/results/no-such-id"), 404, "not_found")
    assert err["message"]["zh"] == "成果不存在"


def test_error__wrong_method__405_shape_with_allow(client):
    resp = client.delete("/api/results")
    assert_shape(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]


def test_error__schema_validation__422_with_fields(as_role):
    err = assert_shape(as_role("ministry_officer").post("/api/results", json={"name": 5, "trl": "x", "what": 1}), 422,
                       "validation_failed")
    assert {e["field"] for e in err["errors"]} == {"name", "trl", "what"}
    assert {e["code"] for e in err["errors"] if e["field"] == "what"} == {"unknown_field"}


def test_error__domain_validation__422_with_fields(as_role):
    resp = as_role("ministry_officer").post("/api/results", json={"name": "x", "tech_fields": ["TF99"]})
    err = assert_shape(resp, 422, "validation_failed")
    assert err["errors"][0]["field"] == "tech_fields" and err["errors"][0]["code"] == "unknown_code"


def test_error__malformed_json__400_shape(as_role):
    resp = as_role("ministry_officer").post("/api/results", data="{not json", content_type="application/json")
    assert_shape(resp, 400, "bad_request")


def test_error__bad_query_parameter__422_shape(client):
    err = assert_shape(client.get("/api/results?per_page=5000&colour=red"), 422, "validation_failed")
    assert {e["field"] for e in err["errors"]} >= {"per_page"}


def test_error__illegal_transition__409_shape(as_role):
    holder, reviewer = as_role("result_holder"), as_role("reviewer")
    rid = holder.post("/api/results", json={"name": "x", "summary": "s", "tech_fields": ["TF01"],
                                            "industry_types": ["IT0103"], "institutions": ["河南农业大学"]}
                      ).get_json()["id"]
    err = assert_shape(reviewer.post(f"/api/results/{rid}/transitions", json={"action": "approve"}), 404,
                       "not_found")  # a draft is its holder's alone
    err = assert_shape(holder.post(f"/api/results/{rid}/transitions", json={"action": "withdraw", "comment": "x"}),
                       403, "forbidden")
    assert holder.post(f"/api/results/{rid}/transitions", json={"action": "submit"}).status_code == 200
    err = assert_shape(holder.post(f"/api/results/{rid}/transitions", json={"action": "submit"}), 409,
                       "illegal_transition")
    assert err["details"]["allowed"] == ["return", "approve"]


def test_error__not_signed_in__401_shape(client):
    assert_shape(client.post("/api/results", json={"name": "x"}), 401, "unauthorized")


def test_error__bad_token__401_shape(client):
    assert_shape(client.get("/api/results", headers={"Authorization": "Bearer nope"}), 401, "invalid_token")


DOMAIN_ERRORS = [
    (NotFound(), 404, "not_found"),
    (Forbidden(), 403, "forbidden"),
    (ValidationFailed([]), 422, "validation_failed"),
    (IllegalTransition("草稿", "publish", ["submit"]), 409, "illegal_transition"),
    (Conflict(), 409, "conflict"),
    (CatalogError(), 400, "catalog_error"),
    (Refetch(), 410, "refetch"),
    (UpdateRequired(), 426, "update_required"),
    (TooLarge(), 413, "too_large"),
    (Unauthorized(), 401, "unauthorized"),
]


@pytest.mark.parametrize("exc, status, code", DOMAIN_ERRORS, ids=lambda v: getattr(v, "code", str(v)))
def test_error__each_domain_error__mapped_with_shape(app, exc, status, code):
    def boom():  # type: ignore[no-untyped-def]
        raise exc

    app.add_url_rule(f"/api/_boom_{code}", f"boom_{code}", boom)
    assert_shape(app.test_client().get(f"/api/_boom_{code}"), status, code)


def test_error__unexpected_exception__500_shape_without_internals(app):
    def crash():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/_crash", "crash", crash)
    resp = app.test_client().get("/api/_crash")
    assert_shape(resp, 500, "internal_error")
    assert b"secret" not in resp.data
