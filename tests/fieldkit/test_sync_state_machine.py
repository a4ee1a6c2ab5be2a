"""Random offline work on two kits and syncs in any order, against the protocol reference server in process;
after every step the kits' outboxes only hold unsent work, and at the end the union invariant holds."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fk_kits import Kit, check_converged, check_union
from fk_protocol import ProtocolServer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from werkzeug.test import Client

from sync.transport import InProcessTransport

VALUES = st.sampled_from(["甲", "乙", "丙"])


class TwoKits(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.server = ProtocolServer()
        self.kits = [Kit.make(n, Path(self.tmp.name), InProcessTransport(Client(self.server),
                                                                          token=self.server.enroll(n)))
                     for n in ("a", "b")]
        self.n = 0

    @rule(k=st.integers(0, 1))
    def add_plot(self, k: int) -> None:
        self.n += 1
        self.kits[k].add_plot(f"p{self.n}", self.n)

    @precondition(lambda self: any(k.live() for k in self.kits))
    @rule(k=st.integers(0, 1), pick=st.integers(0, 50), field=st.sampled_from(["name", "notes"]), value=VALUES)
    def edit(self, k: int, pick: int, field: str, value: str) -> None:
        plots = self.kits[k].live()
        if plots:
            self.kits[k].edit("plot", plots[pick % len(plots)], **{field: value})

    @precondition(lambda self: any(k.live() for k in self.kits))
    @rule(k=st.integers(0, 1), pick=st.integers(0, 50))
    def delete(self, k: int, pick: int) -> None:
        plots = self.kits[k].live()
        if plots:
            self.kits[k].delete("plot", plots[pick % len(plots)])

    @rule(k=st.integers(0, 1), lose_answer=st.booleans())
    def sync(self, k: int, lose_answer: bool) -> None:
        kit = self.kits[k]
        if lose_answer and kit.store.outbox():
            # The server applies the batch and the answer never arrives.
            kit.transport.request("POST", "/api/sync/push", json={"mutations": kit.store.next_batch(3)})
        kit.sync()

    @rule()
    def restore_backup(self) -> None:
        self.server.restore(self.server.snapshot())  # a new epoch, same data

    @invariant()
    def answered_mutations_leave_the_outbox(self) -> None:
        for k in self.kits:
            ids = [m.mutation_id for m in k.store.outbox()]
            assert len(ids) == len(set(ids))

    def teardown(self) -> None:
        try:
            for _ in range(3):
                for k in self.kits:
                    k.sync()
            recs, deleted, history, conflicts = self.server.records_view()
            check_union(self.kits, recs, deleted, history, conflicts)
            check_converged(self.kits, recs, deleted)
        finally:
            for k in self.kits:
                k.store.close()
            self.tmp.cleanup()


TwoKits.TestCase.settings = settings(max_examples=12, stateful_step_count=12, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
test_two_kits__random_offline_work__server_holds_the_union = TwoKits.TestCase
