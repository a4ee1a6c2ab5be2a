"""Upgrades without downtime (docs/operations.md "Upgrades"): the next release migrates the database first, while
this release's app servers keep serving, ready; a database behind the code is still not ready."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from catalog.migrate import ahead_of_code, heads, known_revisions


def _stamp(app: Any, revision: str) -> None:
    with Session(app.extensions["yx_engine"]) as s, s.begin():
        s.execute(text("update alembic_version set version_num = :r"), {"r": revision})


def test_readyz__database_migrated_by_a_later_release__this_code_stays_ready(app: Any, client: Any) -> None:
    _stamp(app, "0099_later_release")  # a revision this code does not know, on top of its head
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    schema = resp.get_json()["checks"]["schema"]
    assert schema["ok"] and schema["ahead"] and schema["revision"] == ["0099_later_release"]
    assert schema["head"] == sorted(heads())


def test_readyz__database_behind_at_a_known_revision__not_ready(app: Any, client: Any) -> None:
    older = sorted(known_revisions() - heads())[0]
    _stamp(app, older)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert "ahead" not in resp.get_json()["error"]["details"]["checks"]["schema"]


def test_ahead_of_code__only_when_every_revision_is_unknown_here() -> None:
    head = next(iter(heads()))
    assert ahead_of_code(frozenset({"0099_x"})) and not ahead_of_code(frozenset())
    assert not ahead_of_code(frozenset({head})) and not ahead_of_code(frozenset({head, "0099_x"}))
