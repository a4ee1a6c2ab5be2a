"""The sync engine with two kits against the protocol reference server, in process."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fk_kits import Kit, check_converged, check_union
from fk_protocol import ProtocolServer

from fieldkit import records
from fieldkit.store import Store
from sync.client import SyncClient
from sync.transport import ServerRefused

MakeKit = Callable[[str], Kit]


def check(proto: ProtocolServer, *kits: Kit) -> None:
    recs, deleted, history, conflicts = proto.records_view()
    check_union(list(kits), recs, deleted, history, conflicts)
    check_converged(list(kits), recs, deleted)


def test_sync__record_made_on_one_kit__reaches_the_other(proto: ProtocolServer, make_kit: MakeKit) -> None:
    a, b = make_kit("a"), make_kit("b")
    pid = a.add_plot("东区示范田", 1)
    a.add_yield(pid)
    report = a.sync()
    assert report.answers == {"applied": 2}
    b.sync()
    assert b.live("plot") == [pid] and len(b.live("yield")) == 1
    a.sync()
    check(proto, a, b)


def test_push__replayed_batch__returns_stored_answers_and_writes_once(proto: ProtocolServer,
                                                                     make_kit: MakeKit) -> None:
    a = make_kit("a")
    pid = a.add_plot("p", 1)
    a.edit("plot", pid, notes="施肥")
    batch = a.store.next_batch(100)
    # The server commits, the answer is lost on the way back: the outbox still holds the mutation.
    a.transport.request("POST", "/api/sync/push", json={"mutations": batch})
    assert len(a.store.outbox()) == 1
    report = a.sync()
    assert report.answers == {"duplicate": 1}
    assert a.store.outbox() == []
    assert len(proto.live("plot")) == 1 and proto.live("plot")[pid].version == 1
    check(proto, a)


def test_push__edits_after_a_lost_answer__are_rebased_not_conflicts(proto: ProtocolServer,
                                                                    make_kit: MakeKit) -> None:
    a = make_kit("a")
    pid = a.add_plot("p", 1)
    a.sync()
    a.edit("plot", pid, name="第一次")
    a.transport.request("POST", "/api/sync/push", json={"mutations": a.store.next_batch(100)})  # answer lost
    a.edit("plot", pid, name="第二次")  # queued behind the unanswered one, on the same base version
    assert [m.base_version for m in a.store.outbox()] == [1, 1]
    a.sync()
    assert proto.live("plot")[pid].fields["name"] == "第二次"
    assert proto.state.conflicts == [] and a.store.conflicts() == []
    check(proto, a)


def test_push__different_fields_from_two_kits__merge(proto: ProtocolServer, make_kit: MakeKit) -> None:
    a, b = make_kit("a"), make_kit("b")
    pid = a.add_plot("p", 1)
    a.sync()
    b.sync()
    a.edit("plot", pid, name="新名称")
    b.edit("plot", pid, notes="已追肥")
    a.sync()
    b.sync()
    a.sync()
    fields = proto.live("plot")[pid].fields
    assert (fields["name"], fields["notes"]) == ("新名称", "已追肥")
    assert proto.state.conflicts == []
    check(proto, a, b)


def test_push__same_field_from_two_kits__conflict_kept_on_both_ends(proto: ProtocolServer,
                                                                   make_kit: MakeKit) -> None:
    a, b = make_kit("a"), make_kit("b")
    pid = a.add_plot("p", 1)
    a.sync()
    b.sync()
    a.edit("plot", pid, notes="甲")
    b.edit("plot", pid, notes="乙")
    a.sync()
    report = b.sync()
    assert report.answers == {"conflict": 1}
    assert proto.live("plot")[pid].fields["notes"] == "甲"  # the server's value stays
    [c] = b.store.conflicts()
    assert (c.kind, c.mine, c.server) == ("conflict", {"notes": "乙"}, {"notes": "甲"})
    assert b.store.records("plot")[0].notes == "甲"  # type: ignore[attr-defined]
    a.sync()
    check(proto, a, b)


def test_push__edit_of_a_record_deleted_elsewhere__stays_deleted_and_is_recorded(proto: ProtocolServer,
                                                                                 make_kit: MakeKit) -> None:
    a, b = make_kit("a"), make_kit("b")
    pid = a.add_plot("p", 1)
    a.sync()
    b.sync()
    a.delete("plot", pid)
    b.edit("plot", pid, notes="还在")
    a.sync()
    b.sync()
    assert pid not in proto.live("plot")
    assert [c.kind for c in b.store.conflicts()] == ["conflict"]
    assert b.live("plot") == []
    check(proto, a, b)


def test_push__rejected_record__is_shown_and_does_not_block_the_rest(proto: ProtocolServer,
                                                                    make_kit: MakeKit) -> None:
    a = make_kit("a")
    good = a.add_plot("好", 1)
    bad = a.add_plot("x", 2)
    with a.store.session() as s:  # what an older kit without the name rule could have queued
        Store.enqueue(s, "plot", bad, "upsert", {"name": " "})
    a.last[(bad, "name")] = "x"
    report = a.sync()
    assert report.answers == {"rejected": 1, "applied": 1}
    [c] = a.store.conflicts()
    assert (c.kind, c.code, c.field, c.record_id) == ("rejected", "validation_failed", "name", bad)
    assert good in proto.live("plot")


def test_delete__record_born_offline__never_reaches_the_server(proto: ProtocolServer, make_kit: MakeKit) -> None:
    a = make_kit("a")
    pid = a.add_plot("p", 1)
    a.delete("plot", pid)
    assert a.store.outbox() == []
    assert a.sync().pushed == 0 and proto.state.records == {}


def test_pull__unsent_local_edits__survive_a_pull_of_other_changes(proto: ProtocolServer, make_kit: MakeKit) -> None:
    a = make_kit("a")
    pid = a.add_plot("p", 1)
    a.sync()
    a.edit("plot", pid, notes="本机")
    proto.write("plot", pid, {"name": "服务器改名"})
    a.client().pull()
    [p] = a.store.records("plot")
    assert (p.name, p.notes) == ("服务器改名", "本机")  # type: ignore[attr-defined]
    a.sync()
    assert proto.live("plot")[pid].fields["notes"] == "本机"


def test_restore__server_from_an_older_backup__kits_resend_what_it_lost(proto: ProtocolServer,
                                                                        make_kit: MakeKit) -> None:
    a, b = make_kit("a"), make_kit("b")
    kept = a.add_plot("备份前", 1)
    a.sync()
    backup = proto.snapshot()
    lost = a.add_plot("备份后", 2)
    a.edit("plot", kept, notes="备份后修改")
    b_plot = b.add_plot("乙的", 3)
    a.sync()
    b.sync()
    a.delete("plot", lost)  # deleted offline after the server heard of it: the restore brings it back
    proto.restore(backup)
    ra = a.sync()
    # kept: older there, re-sent; lost: deleted here and unknown there, so nothing to send (its delete is moot).
    assert ra.refetched and ra.requeued == 1 and a.store.conflicts() == []
    rb = b.sync()
    assert rb.refetched and rb.requeued == 1
    a.sync()
    b.sync()
    live = proto.live("plot")
    assert set(live) == {kept, b_plot} and lost not in proto.state.records
    assert live[kept].fields["notes"] == "备份后修改"
    assert sorted(b.live("plot")) == sorted([kept, b_plot])  # b's copy of the lost plot went with it
    check(proto, a, b)


def test_restore__lost_plot_with_yields__the_plot_is_resent_before_what_names_it(proto: ProtocolServer,
                                                                                 make_kit: MakeKit) -> None:
    a = make_kit("a")
    backup = proto.snapshot()
    plots = [a.add_plot(f"备份后{i}", i) for i in range(3)]
    yields = [a.add_yield(p) for p in plots for _ in range(2)]
    a.sync()
    proto.restore(backup)
    report = a.client().pull()
    assert report.refetched and report.requeued == 9
    order = [m.record_id for m in a.store.outbox()]
    assert set(order) == set(plots + yields)
    assert max(order.index(p) for p in plots) < min(order.index(y) for y in yields)


def test_pull__cursor_from_another_epoch__refetches_and_keeps_the_outbox(proto: ProtocolServer,
                                                                        make_kit: MakeKit) -> None:
    a = make_kit("a")
    a.add_plot("p", 1)
    a.sync()
    proto.restore(proto.snapshot())  # same data, new epoch
    pending = a.add_plot("q", 2)
    report = a.client().pull()
    assert report.refetched and report.requeued == 0
    assert [m.record_id for m in a.store.outbox()] == [pending]


def test_files__upload_cut_midway__resumes_from_the_server_offset(proto: ProtocolServer, make_kit: MakeKit,
                                                                  tmp_path: Path) -> None:
    a = make_kit("a")
    pid = a.add_plot("p", 1)
    blob = bytes(range(256)) * 2000  # 512 000 bytes
    src = tmp_path / "p.jpg"
    src.write_bytes(blob)
    sha = hashlib.sha256(blob).hexdigest()
    with a.store.session() as s:
        records.add_photo(s, tmp_path / "files", pid, src, caption="出苗")
    calls = {"n": 0}
    real = a.transport.request

    def cut_after_two_chunks(method: str, path: str, **kw):  # type: ignore[no-untyped-def]
        if method == "PATCH":
            calls["n"] += 1
            if calls["n"] == 3:
                raise ServerRefused(599, "cut", "断开", "cut")
        return real(method, path, **kw)

    a.transport.request = cut_after_two_chunks  # type: ignore[method-assign]
    with pytest.raises(ServerRefused):
        SyncClient(a.transport, a.store, chunk=64 * 1024).sync()
    assert len(proto.state.files[sha]) == 2 * 64 * 1024 and sha not in proto.state.complete
    a.transport.request = real  # type: ignore[method-assign]
    report = SyncClient(a.transport, a.store, chunk=64 * 1024).sync()
    assert report.bytes_uploaded == len(blob) - 2 * 64 * 1024
    assert sha in proto.state.complete and bytes(proto.state.files[sha]) == blob
    assert a.store.pending_files() == []
    assert SyncClient(a.transport, a.store).sync().bytes_uploaded == 0  # a known file is not sent again


def test_pull__tombstone_of_a_record_never_seen__is_skipped(proto: ProtocolServer, make_kit: MakeKit) -> None:
    a, b = make_kit("a"), make_kit("b")
    pid = a.add_plot("p", 1)
    a.sync()
    a.delete("plot", pid)
    a.sync()
    b.sync()  # b's first pull starts with the tombstone
    assert b.store.records("plot", include_deleted=True) == []
    check(proto, a, b)
