"""Field-kit devices: enrolled by an agent with username and password, revocable by the agent or an officer above."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.test_error_shape import assert_shape

PW = "correct horse battery"


def enrol(client: Any, username: str = "u_agent", name: str = "中原区平板", password: str = PW) -> Any:
    return client.post("/api/devices", json={"username": username, "password": password, "name": name})


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_enrol__agent_credentials__device_token_shown_once(client, accounts):
    resp = enrol(client)
    assert resp.status_code == 201
    device = resp.get_json()
    assert device["kind"] == "device" and device["username"] == "u_agent" and device["secret"].startswith("yxd_")
    assert client.get("/api/auth/me", headers=bearer(device["secret"])).get_json()["username"] == "u_agent"
    listed = client.get("/api/devices", headers=bearer(device["secret"])).get_json()
    assert [d["name"] for d in listed] == ["中原区平板"]
    assert "secret" not in listed[0] and listed[0]["revocable"] is True and listed[0]["last_used_at"]


def test_enrol__wrong_password__401(client, accounts):
    assert_shape(enrol(client, password="wrong password"), 401, "bad_credentials")


@pytest.mark.parametrize("role", ["county_officer", "park_manager", "result_holder"])
def test_enrol__not_an_agent__403(client, accounts, role):
    assert_shape(enrol(client, f"u_{role}"), 403, "forbidden")


def test_revoked_device__401_at_its_next_request(client, accounts, as_role):
    device = enrol(client).get_json()
    assert client.get("/api/auth/me", headers=bearer(device["secret"])).status_code == 200
    assert as_role("agent").delete(f"/api/devices/{device['id']}").status_code == 204
    assert_shape(client.get("/api/auth/me", headers=bearer(device["secret"])), 401, "invalid_token")
    assert_shape(client.get("/api/results", headers=bearer(device["secret"])), 401, "invalid_token")
    listed = as_role("agent").get("/api/devices").get_json()
    assert listed[0]["revoked_at"] and listed[0]["revoked_by"] == "u_agent" and listed[0]["revocable"] is False


@pytest.mark.parametrize("officer", ["county_officer", "city_officer", "province_officer", "ministry_officer"])
def test_officer_above__lists_and_revokes_the_agents_device(client, accounts, as_role, officer):
    device = enrol(client).get_json()
    listed = as_role(officer).get("/api/devices").get_json()
    assert [(d["id"], d["username"], d["revocable"]) for d in listed] == [(device["id"], "u_agent", True)]
    assert as_role(officer).delete(f"/api/devices/{device['id']}").status_code == 204
    assert_shape(client.get("/api/auth/me", headers=bearer(device["secret"])), 401, "invalid_token")


@pytest.mark.parametrize("who", ["other_agent", "park_manager", "reviewer", "result_holder"])
def test_device_out_of_sight__404_and_still_live(client, accounts, as_role, who):
    device = enrol(client).get_json()
    assert as_role(who).get("/api/devices").get_json() == []
    assert_shape(as_role(who).delete(f"/api/devices/{device['id']}"), 404, "not_found")
    assert client.get("/api/auth/me", headers=bearer(device["secret"])).status_code == 200


def test_device_of_an_agent_also_elsewhere__seen_by_province_officer__403(client, accounts, as_role):
    as_role("ministry_officer").post("/api/users", json={"username": "both", "password": PW, "roles": [
        {"role": "agent", "scope": "410102"}, {"role": "agent", "scope": "130102"}]})
    device = enrol(client, "both").get_json()
    listed = as_role("province_officer").get("/api/devices").get_json()
    assert [(d["id"], d["revocable"]) for d in listed] == [(device["id"], False)]
    assert_shape(as_role("province_officer").delete(f"/api/devices/{device['id']}"), 403, "forbidden")
    assert client.get("/api/auth/me", headers=bearer(device["secret"])).status_code == 200


def test_api_token__not_a_device__404_at_devices(client, accounts, as_role):
    token = client.post("/api/auth/tokens", json={"username": "u_agent", "password": PW, "name": "x"}).get_json()
    assert_shape(as_role("county_officer").delete(f"/api/devices/{token['id']}"), 404, "not_found")
    assert_shape(as_role("agent").delete(f"/api/devices/{token['id']}"), 404, "not_found")


def test_devices__anonymous__401(client):
    assert_shape(client.get("/api/devices"), 401, "unauthorized")
    assert_shape(client.delete("/api/devices/x"), 401, "unauthorized")
