"""Two kits, many randomized rounds of offline work and syncs over real HTTP through the fault proxy.

Every sync may be cut anywhere (before the request, after the server committed, in the middle of the answer),
delayed, or answered by a captive portal; a cut sync is simply run again later. At the end, with the link
healthy, the kits sync to quiescence and the server must hold exactly the union of their intent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fk_kits import Kit, check_converged, check_union
from fk_protocol import ProtocolServer
from fk_proxy import FAULTS, FaultProxy
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import AuditEntry
from catalog.field import DemoPlot, YieldMeasurement
from catalog.sync_server import SyncConflict
from sync.client import SyncClient
from sync.transport import Backoff, HttpTransport, Unreachable
from tests.sync.helpers import settle

ROUNDS = 25
REAL_ROUNDS = 12


def _transport(url: str, token: str, seed: int) -> HttpTransport:
    # Few quick retries: most cut syncs end as Unreachable and are run again next round, as in the field.
    return HttpTransport(url, token=token, timeout=(2.0, 5.0),
                         backoff=Backoff(base=0.001, cap=0.01, attempts=3, rng=random.Random(seed)))


def _work(kit: Kit, rng: random.Random, n: int) -> None:
    """Some offline work: new plots and yields, edits of shared fields (to clash), deletions."""
    plots = kit.live("plot")
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.3 or not plots:
            plots.append(kit.add_plot(f"{kit.name}-{n}-{rng.randrange(10**6)}", rng.randrange(2500)))
        elif roll < 0.45:
            kit.add_yield(rng.choice(plots))
        elif roll < 0.9:
            field = rng.choice(["name", "notes"])
            kit.edit("plot", rng.choice(plots), **{field: f"{field}-{rng.randrange(4)}"})
        else:
            victim = rng.choice(plots)
            if kit.delete("plot", victim):
                plots.remove(victim)


def _quiesce(kits: list[Kit]) -> None:
    for _ in range(3):
        for k in kits:
            k.sync()


@pytest.mark.parametrize("seed", [1, 2])
def test_e2e__two_kits_through_every_fault__server_holds_the_union_of_their_intent(
        seed: int, tmp_path: Path, serve: Callable[..., int]) -> None:
    server = ProtocolServer()
    proxy = FaultProxy(serve(server), seed=seed, rate=0.35, delay_s=0.02)
    rng = random.Random(seed)
    try:
        kits = [Kit.make(n, tmp_path, _transport(proxy.url, server.enroll(n), seed)) for n in ("甲", "乙")]
        cut = 0
        for n in range(ROUNDS):
            for k in kits:
                _work(k, rng, n)
                try:
                    SyncClient(k.transport, k.store, batch=rng.choice([2, 5, 50])).sync()
                except Unreachable:
                    cut += 1
        proxy.rate = 0.0
        _quiesce(kits)
    finally:
        proxy.close()
    assert all(proxy.seen[f] > 0 for f in FAULTS), proxy.seen
    assert cut > 0
    recs, deleted, history, conflicts = server.records_view()
    check_union(kits, recs, deleted, history, conflicts)
    check_converged(kits, recs, deleted)
    assert conflicts, "the workload should have made some conflicts"


def _server_view(engine: Any) -> tuple[dict[str, dict[str, Any]], set[str], set[tuple[str, str, Any]],
                                       list[dict[str, Any]]]:
    """The real server's records, deletions, every value ever applied (from the audit log) and conflicts."""
    with Session(engine) as s:
        recs: dict[str, dict[str, Any]] = {}
        deleted: set[str] = set()
        for model, type_ in ((DemoPlot, "plot"), (YieldMeasurement, "yield")):
            for r in s.scalars(select(model)):
                recs[r.id] = {"_type": type_, **({"name": r.name, "notes": r.notes} if type_ == "plot" else {})}
                if r.deleted:
                    deleted.add(r.id)
        history = {(e.entity_id, k, repr(None if v == "" else v)) for e in s.scalars(select(AuditEntry).where(
            AuditEntry.entity == "demo_plot")) for k, v in (e.after or {}).items()}
        by_mutation: dict[str, dict[str, Any]] = {}
        for c in s.scalars(select(SyncConflict)):
            entry = by_mutation.setdefault(c.mutation_id, {"mutation_id": c.mutation_id, "record_id": c.record_id,
                                                           "device": {}})
            entry["device"][c.field] = c.device_value
        return recs, deleted, history, list(by_mutation.values())


def test_e2e__real_server_through_every_fault__server_holds_the_union_of_their_intent(
        app: Any, client: Any, accounts: Any, tmp_path: Path, serve: Callable[..., int]) -> None:
    engine = app.extensions["yx_engine"]
    proxy = FaultProxy(serve(app), seed=7, rate=0.35, delay_s=0.02)
    rng = random.Random(7)

    def enrol(name: str) -> str:
        r = client.post("/api/devices", json={"username": "u_agent", "password": "correct horse battery",
                                              "name": name})
        return str(r.get_json()["secret"])

    try:
        kits = [Kit.make(n, tmp_path, _transport(proxy.url, enrol(n), 7)) for n in ("甲", "乙")]
        for n in range(REAL_ROUNDS):
            for k in kits:
                _work(k, rng, n)
                try:
                    SyncClient(k.transport, k.store, batch=rng.choice([2, 5, 50])).sync()
                except Unreachable:
                    pass
        proxy.rate = 0.0
        for _ in range(3):
            with Session(engine) as s:
                settle(s)  # PostgreSQL: the pull horizon passes every push before the next round
            for k in kits:
                k.sync()
    finally:
        proxy.close()
    assert all(proxy.seen[f] > 0 for f in FAULTS), proxy.seen
    recs, deleted, history, conflicts = _server_view(engine)
    check_union(kits, recs, deleted, history, conflicts)
    check_converged(kits, recs, deleted)
