"""The audit log through the API: entries for account writes (before/after, no secrets), read by officers for their
scope, filtered, paginated, and exported as CSV for Excel in Beijing time."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from urllib.parse import quote

import pytest

from tests.server.test_error_shape import assert_shape

PW = "correct horse battery"
RESULT = {"name": "豫麦新技术", "summary": "s", "tech_fields": ["TF01"], "industry_types": ["IT0103"],
          "institutions": ["河南省农业科学院"], "source": "local"}


def entries(client: Any, **params: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={quote(v)}" for k, v in {"per_page": "200", **params}.items())
    resp = client.get(f"/api/audit?{query}")
    assert resp.status_code == 200, resp.get_json()
    return list(resp.get_json()["items"])


def local_results(as_role: Any) -> dict[str, str]:
    ministry = as_role("ministry_officer")
    return {p: ministry.post("/api/results", json={**RESULT, "source_province": p}).get_json()["id"]
            for p in ("410000", "130000")}


def test_audit__account_writes__before_after_and_no_secrets(client, as_role):
    ministry = as_role("ministry_officer")
    password = "Zhengzhou-2025-secret"
    user = ministry.post("/api/users", json={"username": "zz_agent", "password": password, "display_name": "小郑",
                                             "roles": [{"role": "agent", "scope": "410184"}]}).get_json()
    ministry.patch(f"/api/users/{user['id']}", json={"roles": [{"role": "agent", "scope": "410102"}],
                                                     "display_name": "郑推广"})
    device = client.post("/api/devices", json={"username": "zz_agent", "password": password,
                                               "name": "平板"}).get_json()
    ministry.delete(f"/api/devices/{device['id']}")

    created = entries(ministry, entity="user_account", entity_id=user["id"])
    assert [e["action"] for e in created] == ["update", "insert"]  # newest first
    insert, update = created[1], created[0]
    assert insert["actor"] == "u_ministry_officer" and insert["channel"] == "api"
    assert insert["after"]["username"] == "zz_agent" and insert["after"]["password_hash"] == "***"
    assert update["before"] == {"display_name": "小郑"} and update["after"] == {"display_name": "郑推广"}

    roles = entries(ministry, entity="role_grant")
    mine = [e for e in roles if (e["before"] or e["after"])["user_id"] == user["id"]]
    assert sorted((e["action"], (e["before"] or e["after"])["scope"]) for e in mine) == [
        ("delete", "410184"), ("insert", "410102"), ("insert", "410184")]

    tokens = [e for e in entries(ministry, entity="token", entity_id=device["id"])]
    issued = next(e for e in tokens if e["action"] == "insert")
    assert issued["actor"] == "zz_agent" and issued["after"]["secret_hash"] == "***"
    revoked = next(e for e in tokens if e["action"] == "update" and "revoked_at" in e["after"])
    assert revoked["actor"] == "u_ministry_officer" and revoked["after"]["revoked_by"] == "u_ministry_officer"

    everything = client.get("/api/audit?per_page=500", headers=as_role("ministry_officer").headers).get_data(
        as_text=True)
    for secret in (password, device["secret"], device["secret"].split("_", 1)[1]):
        assert secret not in everything
    assert "$argon2" not in everything


def test_audit__province_officer__reads_its_province_only(as_role):
    ids = local_results(as_role)
    seen = {e["entity_id"] for e in entries(as_role("province_officer"), entity="result")}
    assert seen == {ids["410000"]}
    assert {e["entity_id"] for e in entries(as_role("ministry_officer"), entity="result")} == set(ids.values())
    # account entries carry no division: the ministry's
    assert entries(as_role("province_officer"), entity="user_account") == []
    assert entries(as_role("city_officer"), entity="result") == []  # 410000 is the province, not 郑州


@pytest.mark.parametrize("role", ["agent", "park_manager", "result_holder", "reviewer"])
def test_audit__not_an_officer__403(as_role, role):
    assert_shape(as_role(role).get("/api/audit"), 403, "forbidden")
    assert_shape(as_role(role).get("/api/audit/export.csv"), 403, "forbidden")


def test_audit__anonymous__401(client):
    assert_shape(client.get("/api/audit"), 401, "unauthorized")


def test_audit__filters_by_actor_and_time__paginated(as_role):
    local_results(as_role)
    ministry = as_role("ministry_officer")
    mine = entries(ministry, actor="u_ministry_officer", entity="result")
    assert len(mine) == 2
    first = min(dt.datetime.fromisoformat(e["at"]) for e in mine)
    later = (first + dt.timedelta(microseconds=1)).isoformat()
    assert len(entries(ministry, actor="u_ministry_officer", entity="result", since=later)) == 1
    assert len(entries(ministry, actor="u_ministry_officer", entity="result", until=later)) == 1
    assert entries(ministry, actor="nobody") == []
    page = ministry.get("/api/audit?per_page=2&page=2").get_json()
    assert len(page["items"]) == 2 and page["total"] > 4 and page["page"] == 2
    assert_shape(ministry.get("/api/audit?colour=red"), 422, "validation_failed")


def test_audit__export_csv__bom_header_beijing_time_scoped(as_role):
    ids = local_results(as_role)
    resp = as_role("province_officer").get("/api/audit/export.csv?entity=result")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "时间（北京时间）/ time (Beijing)"
    assert [r[5] for r in rows[1:]] == [ids["410000"]]
    api = entries(as_role("province_officer"), entity="result")[0]
    utc = dt.datetime.fromisoformat(api["at"])
    assert rows[1][0] == (utc + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    assert rows[1][6] == "410000" and '"state": "draft"' in rows[1][8]


def test_audit__token_use__writes_no_entry(session):
    from sqlalchemy import func, select

    from catalog.accounts import create_user, issue_token, user_for_secret
    from catalog.audit import AuditEntry

    user = create_user(session, "token_user", "correct horse battery", roles=[("agent", "410102")])
    _token, secret = issue_token(session, user, "api", "t")
    session.commit()
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    found = user_for_secret(session, secret)
    assert found is not None and found[1].last_used_at is not None
    session.commit()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
