"""Schema versions over real HTTP: a kit older than the server keeps syncing (answered with the fields it knows,
everything it sends applied); a kit below the server's minimum gets a clear zh/en "please update" and its command
line says to run ``fieldkit update``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner
from fk_kits import COUNTY, Kit, square
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from catalog.field import DemoPlot, YieldMeasurement
from fieldkit.cli import main as fieldkit
from sync.transport import Backoff, HttpTransport
from sync.wire import SCHEMA, unknown_fields
from tests.sync.helpers import settle

PASSWORD = "correct horse battery"


def _token(client: Any, name: str) -> str:
    r = client.post("/api/devices", json={"username": "u_agent", "password": PASSWORD, "name": name})
    assert r.status_code == 201, r.get_json()
    return str(r.get_json()["secret"])


def _pull_all(transport: HttpTransport) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    cursor = ""
    while True:
        page = transport.request("GET", "/api/sync/pull", params={"cursor": cursor, "limit": "500"}).json()
        records.update({c["id"]: c["record"] for c in page["changes"] if c.get("record") is not None})
        cursor = page["cursor"]
        if not page["has_more"]:
            return records


def test_older_kit__schema_1__keeps_syncing_with_the_fields_it_knows(
        app: Any, client: Any, accounts: Any, tmp_path: Path, serve: Callable[[Any], int]) -> None:
    assert SCHEMA >= 2 and unknown_fields("yield", 1), "schema 2 added fields to yields"
    url = f"http://127.0.0.1:{serve(app)}"
    old = HttpTransport(url, token=_token(client, "旧"), schema=1, backoff=Backoff(attempts=1))
    new = HttpTransport(url, token=_token(client, "新"), backoff=Backoff(attempts=1))
    try:
        # What a schema-1 kit sends: a new plot and its yield, every field of schema 1, mutations marked schema 1.
        pid, yid = str(uuid.uuid4()), str(uuid.uuid4())
        plot = {"name": "旧版工具的示范田", "crop": "maize", "season": "2026-autumn_grain", "county_code": COUNTY,
                "boundary": mapping(square(7)), "notes": "旧版本记录"}
        yld = {"plot_id": pid, "method": "harvest", "level": "county",
               "samples": [{"area_mu": 0.1, "fresh_kg": 70.0, "moisture": 0.25, "impurity": 0.01}]}
        body = {"mutations": [
            {"mutation_id": str(uuid.uuid4()), "type": "plot", "id": pid, "op": "upsert", "base_version": None,
             "fields": plot, "schema": 1},
            {"mutation_id": str(uuid.uuid4()), "type": "yield", "id": yid, "op": "upsert", "base_version": None,
             "fields": yld, "schema": 1}]}
        answers = old.request("POST", "/api/sync/push", json=body).json()["answers"]
        assert [a["status"] for a in answers] == ["applied", "applied"], answers
        with Session(app.extensions["yx_engine"]) as s:
            settle(s)
            p, y = s.get(DemoPlot, pid), s.get(YieldMeasurement, yid)
            assert p is not None and y is not None
            assert (p.name, p.crop, p.season, p.notes) == (plot["name"], "maize", plot["season"], plot["notes"])
            assert (y.plot_id, y.method, y.level, y.samples) == (pid, "harvest", "county", yld["samples"])
            assert y.review_state == "pending"  # schema 2's field, the server's default for what the kit lacks

        as_old, as_new = _pull_all(old), _pull_all(new)
        later = unknown_fields("yield", 1)
        assert later <= set(as_new[yid]) and not later & set(as_old[yid])
        assert set(as_old[yid]) == set(as_new[yid]) - later
        assert as_old[yid]["samples"] == yld["samples"] and as_old[pid] == as_new[pid]
    finally:
        old.close()
        new.close()

    # A kit of today's schema syncs the same records as ever.
    kit = Kit.make("今", tmp_path, HttpTransport(url, token=_token(client, "今"), backoff=Backoff(attempts=1)))
    try:
        kit.add_yield(kit.add_plot("新版本示范田", 9))
        assert kit.sync().answers == {"applied": 2}, [(c.code, c.field, c.message) for c in kit.store.conflicts()]
    finally:
        kit.transport.close()  # type: ignore[attr-defined]


def test_too_old_kit__426_in_zh_and_en__and_the_kit_says_run_fieldkit_update(
        app: Any, client: Any, accounts: Any, tmp_path: Path, serve: Callable[[Any], int]) -> None:
    app.config["SYNC_MIN_SCHEMA"] = SCHEMA  # the server dropped every older schema
    url = f"http://127.0.0.1:{serve(app)}"
    token = _token(client, "旧")
    with requests.Session() as http:
        r = http.get(f"{url}/api/sync/pull", headers={"Authorization": f"Bearer {token}",
                                                       "X-Yuanxian-Protocol": "1", "X-Yuanxian-Schema": "1"})
        assert r.status_code == 426 and r.headers["X-Yuanxian-Sync"] == "1"
        error = r.json()["error"]
        assert error["code"] == "update_required" and "fieldkit update" in error["message"]["zh"]
        assert "too old" in error["message"]["en"] and error["details"]["min_schema"] == SCHEMA

    runner, home = CliRunner(), tmp_path / "kit"
    opened: list[HttpTransport] = []

    def old_kit(base: str, tok: str | None) -> HttpTransport:
        opened.append(HttpTransport(base, token=tok, schema=SCHEMA - 1, backoff=Backoff(attempts=1)))
        return opened[-1]

    def run(*args: str) -> Any:
        return runner.invoke(fieldkit, ["--home", str(home), *args], obj={"transport": old_kit})

    try:
        assert run("init", "--server", url).exit_code == 0
        assert run("login", "--username", "u_agent", "--password", PASSWORD).exit_code == 0
        assert run("plot", "add", "--name", "待发送", "--crop", "maize", "--season", "2026-autumn_grain", "--coords",
                   "113.600,34.700;113.601,34.700;113.601,34.701;113.600,34.701").exit_code == 0
        result = run("sync")
        assert result.exit_code == 1
        assert "外业工具版本过旧" in result.output and "fieldkit update" in result.output
        assert "too old" in result.output and "unsent records stay" in result.output
        assert "1 " in run("status").output  # the plot waits in the outbox
    finally:
        for t in opened:
            t.close()
