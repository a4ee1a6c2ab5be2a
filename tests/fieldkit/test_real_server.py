"""The sync client against the real Flask app in process (SQLite and PostGIS through ``db_url``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fk_kits import Kit
from sqlalchemy.orm import Session

from sync.transport import InProcessTransport
from tests.sync.helpers import settle

PASSWORD = "correct horse battery"


def enrol(client: Any, username: str, name: str) -> str:
    r = client.post("/api/devices", json={"username": username, "password": PASSWORD, "name": name})
    assert r.status_code == 201, r.get_json()
    return str(r.get_json()["secret"])


def settled(app: Any) -> None:
    """PostgreSQL: wait until the pull horizon passes what was committed (no-op on SQLite)."""
    with Session(app.extensions["yx_engine"]) as s:
        settle(s)


@pytest.fixture
def kits(app: Any, client: Any, accounts: Any, tmp_path: Path) -> list[Kit]:
    return [Kit.make(n, tmp_path, InProcessTransport(client, token=enrol(client, "u_agent", n))) for n in "ab"]


def test_real_server__plot_and_yield_from_one_kit__reach_the_other(app: Any, kits: list[Kit]) -> None:
    a, b = kits
    pid = a.add_plot("东区示范田", 1)
    a.add_yield(pid)
    report = a.sync()
    assert report.answers == {"applied": 2}, a.store.conflicts()
    settled(app)
    b.sync()
    assert b.live("plot") == [pid] and len(b.live("yield")) == 1


def test_real_server__same_field_from_two_kits__conflict_recorded(app: Any, kits: list[Kit]) -> None:
    a, b = kits
    pid = a.add_plot("p", 1)
    a.sync()
    settled(app)
    b.sync()
    a.edit("plot", pid, notes="甲")
    b.edit("plot", pid, notes="乙")
    a.sync()
    report = b.sync()
    assert report.answers.get("conflict") == 1
    [c] = b.store.conflicts()
    assert (c.mine, c.server) == ({"notes": "乙"}, {"notes": "甲"})
