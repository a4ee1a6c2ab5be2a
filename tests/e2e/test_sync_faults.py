"""Two kits, many randomized rounds of offline work and syncs over real HTTP through the fault proxy.

Every sync may be cut anywhere (before the request, after the server committed, in the middle of the answer),
delayed, or answered by a captive portal; a cut sync is simply run again later. At the end, with the link
healthy, the kits sync to quiescence and the server must hold exactly the union of their intent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from fk_kits import Kit, check_converged, check_union
from fk_protocol import ProtocolServer
from fk_proxy import FAULTS, FaultProxy

from sync.client import SyncClient
from sync.transport import Backoff, HttpTransport, Unreachable

ROUNDS = 25


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
