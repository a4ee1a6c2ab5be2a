"""Records and device actors for the sync tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.field import DemoPlot

SQUARE = {"type": "MultiPolygon", "coordinates": [[[[113.60, 34.75], [113.601, 34.75], [113.601, 34.751],
                                                     [113.60, 34.751], [113.60, 34.75]]]]}


def agent(county: str = "410102", user_id: str | None = None, token_id: str | None = None) -> Actor:
    return Actor(f"agent-{county}", user_id or f"user-{county}", (Grant("agent", county),), "sync",
                 token_id or f"token-{county}")


def plot_fields(**extra: Any) -> dict[str, Any]:
    return {"county_code": "410102", "name": "东风村玉米示范田", "crop": "maize", "season": "2026-autumn_grain",
            **extra}


def make_plot(session: Session, county: str = "410102", **extra: Any) -> DemoPlot:
    plot = DemoPlot(id=str(uuid.uuid4()), county_code=county, name=extra.pop("name", "示范田"), crop="maize",
                    season="2026-autumn_grain", **extra)
    session.add(plot)
    session.flush()
    return plot


def mutation(rtype: str, rid: str, fields: dict[str, Any], base: int | None = None, op: str = "upsert",
             mid: str | None = None) -> dict[str, Any]:
    return {"mutation_id": mid or str(uuid.uuid4()), "type": rtype, "id": rid, "op": op, "base_version": base,
            "fields": fields, "schema": 1}


def settle(session: Session, timeout: float = 600.0) -> None:
    """Wait until every transaction open now (in the whole PostgreSQL cluster: other tests make databases
    meanwhile) has ended, so the pull horizon has passed what this test committed. No-op on SQLite.

    Cluster-wide on purpose: the horizon (``catalog.changelog.horizon``) is the snapshot's xmin, which counts every
    database's transactions, so another xdist worker's open write holds this test's pull back too. The timeout
    covers the longest such write under load (a demo seed, minutes)."""
    import time

    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return
    session.commit()
    target = session.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))
    session.commit()
    deadline = time.monotonic() + timeout
    while session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")) < target:
        session.commit()
        if time.monotonic() > deadline:
            raise TimeoutError("a transaction stayed open in the cluster")
        time.sleep(0.02)
    session.commit()
