"""PostGIS: pushes that wait on another transaction. A kit's retry racing its own original: new records are
written without a savepoint of their own (``catalog.sync_server.push``); the later of two pushes of the same new
records waits on their primary keys, fails there once the first commits, rolls back and applies the batch again with
savepoints — and then answers every mutation ``duplicate``: each record, its audit entry and its change-log row exist
once. And a push beside the first pull of a new database, which waits rather than deadlocks."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from catalog.access import Actor, operator
from catalog.audit import AuditEntry, act_as
from catalog.changelog import ChangeLog
from catalog.db import make_engine
from catalog.field import DemoPlot
from catalog.sync_server import ServerState, ensure_backfilled, server_state
from server.api.sync.protocol import push_batch
from sync.wire import Answer, Mutation
from tests.sync.helpers import agent, make_plot, mutation, plot_fields

pytestmark = pytest.mark.postgis


def _waiting_on_a_lock(engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))


def _push_in_thread(engine, device: Actor, batch: list[Mutation]
                    ) -> tuple[threading.Thread, list[Answer], list[BaseException]]:
    """A push of ``batch`` in a session and thread of its own, started; its answers and errors fill in as it ends."""
    answers: list[Answer] = []
    errors: list[BaseException] = []

    def push() -> None:
        try:
            with Session(engine) as s:
                answers.extend(push_batch(s, device, batch))
                s.commit()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=push)
    thread.start()
    return thread, answers, errors


def _until_it_waits_on_a_lock(engine, thread: threading.Thread, errors: list[BaseException], what: str) -> None:
    deadline = time.monotonic() + 30
    while not _waiting_on_a_lock(engine):
        assert thread.is_alive(), errors or f"{what}: it ended without waiting"
        assert time.monotonic() < deadline, f"{what}: it never waited"
        time.sleep(0.05)


def test_push__same_new_records_pushed_twice_at_once__the_later_answers_duplicate(postgis_url):
    engine = make_engine(postgis_url, pool_size=4)
    device = agent("410102")
    ids = [str(uuid.uuid4()) for _ in range(4)]
    batch = [Mutation.from_json(mutation("plot", rid, plot_fields(name=f"并发示范田{n}"))) for n, rid in enumerate(ids)]
    try:
        with Session(engine) as first:
            answers = push_batch(first, device, batch)  # written, not committed: the retry will wait on the keys
            thread, later, errors = _push_in_thread(engine, device, batch)
            _until_it_waits_on_a_lock(engine, thread, errors, "the retry, on the first push's rows")
            first.commit()
        thread.join(60)
        assert not errors, errors
        assert [a.status for a in answers] == ["applied"] * len(ids)
        assert [a.status for a in later] == ["duplicate"] * len(ids)
        assert [a.original for a in later] == [a.to_json() for a in answers]
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(DemoPlot).where(DemoPlot.id.in_(ids))) == len(ids)
            audited = s.scalars(select(AuditEntry.entity_id).where(AuditEntry.entity_id.in_(ids))).all()
            assert sorted(audited) == sorted(ids)
            logged = s.scalars(select(ChangeLog.record_id).where(ChangeLog.record_id.in_(ids))).all()
            assert sorted(logged) == sorted(ids)
    finally:
        engine.dispose()


def test_push__on_a_new_database_beside_the_first_pull__waits_for_its_state_row_before_any_record(postgis_url):
    # A new database: no state row yet, and a plot loaded in bulk (no change-log row). The first pull inserts the
    # state row, then backfills the plot's row. A push editing that plot must take the state row first: were it to
    # write the plot's change-log row and then wait on the pull's state row, the pull's backfill would wait on the
    # push's change-log row — a deadlock, one of the two aborted.
    engine = make_engine(postgis_url, pool_size=4)
    device = agent("410102")
    try:
        with act_as(Session(engine), operator("test")) as s:
            plot = make_plot(s, name="批量导入示范田")
            pid, version = plot.id, plot.version
            s.execute(ChangeLog.__table__.delete().where(ChangeLog.record_id == pid))
            s.execute(ServerState.__table__.delete())
            s.commit()
        edit = [Mutation.from_json(mutation("plot", pid, {"name": "改名示范田"}, base=version))]
        with Session(engine) as pull:
            epoch = server_state(pull).epoch  # the pull's first step, not committed
            thread, pushed, errors = _push_in_thread(engine, device, edit)
            _until_it_waits_on_a_lock(engine, thread, errors, "the push, on the pull's state row")
            assert ensure_backfilled(pull) >= 1  # the plot's row among them, written while the push waits
            pull.commit()
        thread.join(60)
        assert not errors, errors
        assert [a.status for a in pushed] == ["applied"]
        with Session(engine) as s:
            assert s.scalar(select(ServerState.epoch)) == epoch
            logged = s.execute(select(ChangeLog.op, ChangeLog.version).where(ChangeLog.record_id == pid)).all()
            assert logged == [("upsert", version + 1)]
            assert s.get(DemoPlot, pid).name == "改名示范田"
    finally:
        engine.dispose()
