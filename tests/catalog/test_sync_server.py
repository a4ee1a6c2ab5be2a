"""Sync protocol v1 on the server, below HTTP: pull in scope, push answers, merges, conflicts, epochs."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from catalog.changelog import ChangeLog
from catalog.field import DemoPlot, Observation
from catalog.sync_server import AppliedMutation, Refetch, SyncConflict, new_epoch, trim_log
from server.api.sync.protocol import pull_page as pull
from server.api.sync.protocol import push_batch as push
from sync import cursor as cursors
from sync.wire import Mutation
from tests.sync.helpers import SQUARE, agent, make_plot, mutation, plot_fields, settle

HENAN, HEBEI = agent("410102"), agent("130102")


def m(*args, **kw) -> Mutation:
    return Mutation.from_json(mutation(*args, **kw))


def pull_all(session, actor, cursor="", limit=50):
    changes = []
    while True:
        page = pull(session, actor, cursor, limit)
        changes += page.changes
        cursor = page.cursor
        session.commit()
        if not page.has_more:
            return changes, cursor


def plot_changes(changes):
    return [(c.id, c.op) for c in changes if c.type == "plot"]


def create(session, actor=HENAN, **fields):
    rid = str(uuid.uuid4())
    (answer,) = push(session, actor, [m("plot", rid, plot_fields(**fields))])
    session.commit()
    assert answer.status == "applied", answer
    return rid


def test_pull__pages_only_the_devices_county(session):
    mine = [make_plot(session).id for _ in range(3)]
    theirs = make_plot(session, "130102").id
    settle(session)
    changes, _ = pull_all(session, HENAN, limit=2)
    assert [i for i, _op in plot_changes(changes)] == mine
    assert theirs not in {c.id for c in changes}
    hebei, _ = pull_all(session, HEBEI)
    assert plot_changes(hebei) == [(theirs, "upsert")]


def test_pull__cursor_gives_only_what_changed_since(session):
    plot = make_plot(session)
    settle(session)
    _, cursor = pull_all(session, HENAN)
    assert plot_changes(pull_all(session, HENAN, cursor)[0]) == []
    plot.notes = "出苗整齐"
    settle(session)
    changes, _ = pull_all(session, HENAN, cursor)
    (change,) = [c for c in changes if c.type == "plot"]
    assert (change.op, change.version, change.record["notes"]) == ("upsert", 2, "出苗整齐")


def test_pull__delete_reaches_the_device_as_a_tombstone(session):
    plot = make_plot(session)
    settle(session)
    _, cursor = pull_all(session, HENAN)
    (answer,) = push(session, HENAN, [m("plot", plot.id, {}, op="delete")])
    settle(session)
    assert answer.status == "applied"
    changes, _ = pull_all(session, HENAN, cursor)
    assert plot_changes(changes) == [(plot.id, "delete")]
    assert [c.record for c in changes if c.type == "plot"] == [None]


def test_pull__record_moving_out_of_scope__answers_out_of_scope(session):
    plot = make_plot(session)
    settle(session)
    _, cursor = pull_all(session, HENAN)
    plot.county_code = "130102"
    settle(session)
    changes, _ = pull_all(session, HENAN, cursor)
    assert plot_changes(changes) == [(plot.id, "out_of_scope")]
    assert plot_changes(pull_all(session, HEBEI)[0]) == [(plot.id, "upsert")]


def test_pull__foreign_epoch_or_garbage_cursor__refetch(session):
    make_plot(session)
    settle(session)
    _, cursor = pull_all(session, HENAN)
    other = cursors.encode(cursors.Cursor("0000dead", 1, 1, 1))
    for bad in (other, "not-a-cursor"):
        with pytest.raises(Refetch):
            pull(session, HENAN, bad, 10)
    new_epoch(session)
    session.commit()
    with pytest.raises(Refetch):
        pull(session, HENAN, cursor, 10)


def test_pull__cursor_older_than_trimmed_tombstones__refetch(session):
    plot = make_plot(session)
    settle(session)
    _, cursor = pull_all(session, HENAN)
    plot.deleted = True
    settle(session)
    assert trim_log(session, keep_days=-1) == 1
    session.commit()
    with pytest.raises(Refetch):
        pull(session, HENAN, cursor, 10)
    assert pull_all(session, HENAN)[0] is not None  # from nothing is always fine


def test_push__replayed_batch__answers_duplicate_and_writes_nothing_twice(session):
    rid = str(uuid.uuid4())
    batch = [m("plot", rid, plot_fields()), m("observation", str(uuid.uuid4()), {"plot_id": rid, "notes": "出苗"})]
    first = push(session, HENAN, batch)
    session.commit()
    assert [a.status for a in first] == ["applied", "applied"]
    before = session.scalar(select(func.count()).select_from(ChangeLog))
    again = push(session, HENAN, batch)
    session.commit()
    assert [a.status for a in again] == ["duplicate", "duplicate"]
    assert [a.original for a in again] == [a.to_json() for a in first]
    assert session.scalar(select(func.count()).select_from(Observation)) == 1
    assert session.get(DemoPlot, rid).version == 1
    assert session.scalar(select(func.count()).select_from(ChangeLog)) == before
    assert session.scalar(select(func.count()).select_from(AppliedMutation)) == 2


def test_push__one_bad_record_never_blocks_the_rest(session):
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    answers = push(session, HENAN, [m("plot", bad, plot_fields(crop="no-such-crop")), m("plot", good, plot_fields())])
    session.commit()
    assert [a.status for a in answers] == ["rejected", "applied"]
    assert (answers[0].code, answers[0].field) == ("validation_failed", "crop")
    assert session.get(DemoPlot, bad) is None and session.get(DemoPlot, good) is not None


@pytest.mark.parametrize(("who", "code"), [(HEBEI, "not_found")])
def test_push__another_countys_record__not_found_and_unchanged(session, who, code):
    rid = create(session)
    (answer,) = push(session, who, [m("plot", rid, {"name": "改"}, base=1)])
    session.commit()
    assert (answer.status, answer.code) == ("rejected", code)
    assert session.get(DemoPlot, rid).name == "东风村玉米示范田"


def test_push__create_in_another_county__forbidden(session):
    (answer,) = push(session, HEBEI, [m("plot", str(uuid.uuid4()), plot_fields())])
    assert (answer.status, answer.code) == ("rejected", "forbidden")


def test_push__edits_of_different_fields_from_two_devices__merge(session):
    rid = create(session)
    a, b = agent("410102", token_id="kit-a"), agent("410102", token_id="kit-b")
    assert push(session, a, [m("plot", rid, {"variety": "郑单958"}, base=1)])[0].status == "applied"
    (answer,) = push(session, b, [m("plot", rid, {"notes": "长势好"}, base=1)])
    session.commit()
    assert (answer.status, answer.version) == ("applied", 3)
    plot = session.get(DemoPlot, rid)
    assert (plot.variety, plot.notes) == ("郑单958", "长势好")
    assert session.scalar(select(func.count()).select_from(SyncConflict)) == 0


def test_push__same_field_from_two_devices__server_value_stays_and_conflict_keeps_both(session):
    rid = create(session)
    a, b = agent("410102", token_id="kit-a"), agent("410102", token_id="kit-b")
    push(session, a, [m("plot", rid, {"variety": "郑单958"}, base=1)])
    (answer,) = push(session, b, [m("plot", rid, {"variety": "先玉335", "notes": "倒伏"}, base=1)])
    session.commit()
    assert answer.status == "conflict" and answer.fields == {"variety": "郑单958"}
    plot = session.get(DemoPlot, rid)
    assert (plot.variety, plot.notes, plot.version) == ("郑单958", "倒伏", 3)  # the rest of the edit applied
    (c,) = session.scalars(select(SyncConflict))
    assert (c.id, c.field, c.device_value, c.server_value, c.token_id) == \
        (answer.conflict_ids[0], "variety", "先玉335", "郑单958", "kit-b")


def test_push__same_value_from_two_devices__no_conflict(session):
    rid = create(session)
    push(session, HENAN, [m("plot", rid, {"variety": "郑单958"}, base=1)])
    (answer,) = push(session, HENAN, [m("plot", rid, {"variety": "郑单958"}, base=1)])
    assert (answer.status, answer.version) == ("applied", 2)


def test_push__edit_of_a_deleted_record__stays_deleted_and_is_a_conflict(session):
    rid = create(session)
    assert push(session, HENAN, [m("plot", rid, {}, op="delete", base=1)])[0].status == "applied"
    (answer,) = push(session, HENAN, [m("plot", rid, {"name": "还在"}, base=1)])
    session.commit()
    assert answer.status == "conflict" and answer.fields == {"deleted": True}
    plot = session.get(DemoPlot, rid)
    assert plot.deleted and plot.name == "东风村玉米示范田"
    (c,) = session.scalars(select(SyncConflict))
    assert (c.field, c.device_value) == ("deleted", {"name": "还在"})


def test_push__device_clock_of_1970__changes_nothing(session):
    rid = create(session)
    epoch_0 = "1970-01-01T00:00:00+00:00"
    (answer,) = push(session, HENAN, [m("plot", rid, {"notes": "时钟错了", "updated_at": epoch_0,
                                                      "created_at": epoch_0, "version": 99}, base=1)])
    session.commit()
    plot = session.get(DemoPlot, rid)
    assert (answer.status, answer.version, plot.version) == ("applied", 2, 2)
    assert plot.updated_at > dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert plot.created_at > dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def test_push__boundary_in_gcj02__merged_on_the_wgs84_value(session):
    rid = create(session, boundary=SQUARE)
    (answer,) = push(session, HENAN, [m("plot", rid, {"boundary": SQUARE}, base=1)])
    assert (answer.status, answer.version) == ("applied", 1)  # the same boundary again: nothing to do


def test_push__batch__one_audit_entry_and_log_row_per_write__none_for_what_was_rolled_back(session):
    # The audit entries and change-log rows of a batch are written together at its end (catalog.deferred_logs):
    # a mutation refused before writing, and one whose write failed in the database after its flush (its
    # savepoint rolled back), must leave none; every applied write exactly one of each.
    from catalog.audit import AuditEntry
    from catalog.sync_server import default_rules
    from catalog.sync_server import push as push_mutations
    from sync.merge import merge

    kept = str(uuid.uuid4())
    push(session, HENAN, [m("plot", kept, plot_fields())])
    session.commit()
    taken = session.scalar(select(AppliedMutation.mutation_id))
    normalise, write = default_rules()["observation"]

    def write_then_fail(s, actor, rid, fields, new):
        record = write(s, actor, rid, fields, new)  # flushed: its audit entry and log row are collected
        if fields.get("notes") == "失败":
            s.execute(AppliedMutation.__table__.insert().values(mutation_id=taken, answer={}, at=dt.datetime.now(
                dt.UTC)))  # the primary key is taken: IntegrityError inside the mutation's savepoint
        return record

    rules = {**default_rules(), "observation": (normalise, write_then_fail)}
    good, bad, failed, edited = (str(uuid.uuid4()) for _ in range(4))
    batch = [m("plot", good, plot_fields()), m("plot", bad, plot_fields(crop="no-such-crop")),
             m("observation", failed, {"plot_id": good, "notes": "失败"}),
             m("observation", edited, {"plot_id": good, "notes": "出苗"}),
             m("plot", kept, {"name": "改名"}, base=1)]
    answers = push_mutations(session, HENAN, batch, merge, rules=rules)
    session.commit()
    assert [a["status"] for a in answers] == ["applied", "rejected", "rejected", "applied", "applied"]
    assert answers[2]["code"] == "conflict"
    audited = dict(session.execute(select(AuditEntry.entity_id, func.count()).where(
        AuditEntry.entity_id.in_([good, bad, failed, edited, kept])).group_by(AuditEntry.entity_id)).all())
    assert audited == {good: 1, edited: 1, kept: 2}  # kept: its creation before, its edit now
    logged = session.execute(select(ChangeLog.record_id, ChangeLog.op, ChangeLog.version).where(
        ChangeLog.record_id.in_([good, bad, failed, edited, kept]))).all()
    assert sorted(logged) == sorted([(good, "upsert", 1), (edited, "upsert", 1), (kept, "upsert", 2)])
    assert session.get(Observation, failed) is None and session.get(DemoPlot, bad) is None
    assert session.get(DemoPlot, kept).name == "改名"


def test_push__yields_in_a_batch__the_plots_figure_counts_the_applied_ones(session):
    # catalog.plot_figures follows every measurement written; in a push it waits for the batch's end.
    from catalog.plot_figures import PlotFigure

    rid = str(uuid.uuid4())
    wheat = {"method": "harvest", "level": "county", "crop": "wheat", "measured_on": "2026-06-05",
             "samples": [{"area_mu": 0.3, "fresh_kg": 226, "moisture": 0.138, "impurity": 0.001}]}
    batch = [m("plot", rid, plot_fields(crop="wheat", season="2026-summer_grain", boundary=SQUARE)),
             m("yield", str(uuid.uuid4()), {"plot_id": rid, **wheat}),
             m("yield", str(uuid.uuid4()), {"plot_id": rid, **wheat, "crop": "no-such-crop"}),
             m("yield", str(uuid.uuid4()), {"plot_id": rid, **wheat, "measured_on": "2026-06-06"})]
    answers = push(session, HENAN, batch)
    session.commit()
    assert [a.status for a in answers] == ["applied", "applied", "rejected", "applied"], answers
    figure = session.get(PlotFigure, rid)
    assert figure is not None and (figure.measurements, figure.approved) == (2, 0)


def _square(dx: float, dy: float = 0.0) -> dict:
    x, y = 113.60 + dx, 34.75 + dy
    return {"type": "MultiPolygon", "coordinates": [[[[x, y], [x + 0.001, y], [x + 0.001, y + 0.001],
                                                      [x, y + 0.001], [x, y]]]]}


def test_push__new_records_written_together__judged_as_if_one_at_a_time(session):
    # A batch's new records wait in the session and go in one flush (field_rules.DEFER_NEW): what each is checked
    # against must still include the batch's earlier records — plots overlapping plots of the same batch (read
    # from the session on PostGIS), a city measurement verifying a county one pushed just before it, a yield on a
    # plot of the same batch. The flags and links come out as when every mutation is a batch of its own (on
    # PostGIS the new plots are flagged together when written: field_rules._flag_waiting_plots).
    county = {"method": "harvest", "level": "county", "crop": "wheat", "measured_on": "2026-06-05",
              "samples": [{"area_mu": 0.3, "fresh_kg": 226, "moisture": 0.138, "impurity": 0.001}]}

    def mutations(season: str) -> tuple[list[Mutation], list[str]]:
        ids = [str(uuid.uuid4()) for _ in range(8)]
        fields = dict(crop="wheat", season=season)
        return [m("plot", ids[0], plot_fields(boundary=_square(0), **fields)),
                m("plot", ids[1], plot_fields(boundary=_square(0.0004), **fields)),  # overlaps the first
                m("plot", ids[2], plot_fields(boundary=_square(0.0008, 0.0002), **fields)),  # both
                m("yield", ids[3], {"plot_id": ids[2], **county}),
                m("yield", ids[4], {"plot_id": ids[2], **county, "level": "city"}),  # verifies the one above
                m("yield", ids[5], {"plot_id": ids[0], **county, "level": "city"}),  # nothing to verify
                m("plot", ids[6], plot_fields(boundary=_square(0.10), **fields)),  # in 410105: outside its county
                m("plot", ids[7], plot_fields(boundary=_square(0.0012, 0.0002), **fields))], ids  # overlaps 2

    def outcome(ids: list[str], answers: list) -> list:
        plots = [session.get(DemoPlot, i) for i in [*ids[:3], *ids[6:]]]
        index = {pid: n for n, pid in enumerate(ids)}
        overlaps = [sorted((index[o["plot_id"]], o["area_m2"]) for o in (p.flags or {}).get("overlaps", []))
                    for p in plots]
        from catalog.field import YieldMeasurement

        verifies = [getattr(session.get(YieldMeasurement, i), "verifies_id", None) for i in ids[3:6]]
        outside = [(p.flags or {}).get("outside_county") for p in plots]
        return [[(a.status, a.code) for a in answers], overlaps, [index.get(v) for v in verifies], outside]

    together, ids = mutations("2026-summer_grain")
    batch = push(session, HENAN, together)
    session.commit()
    alone, alone_ids = mutations("2025-summer_grain")
    one_by_one = []
    for mu in alone:
        one_by_one += push(session, HENAN, [mu])
        session.commit()
    assert outcome(ids, batch) == outcome(alone_ids, one_by_one)
    statuses, overlaps, verifies, outside = outcome(ids, batch)
    assert statuses == [("applied", None)] * 5 + [("rejected", "validation_failed")] + [("applied", None)] * 2
    # each against the plots before it
    assert [[n for n, _area in o] for o in overlaps] == [[], [0], [0, 1], [], [1, 2]]
    assert verifies == [None, 3, None]
    assert outside == [None, None, None, {"county_code": "410102", "tolerance_m": 30.0}, None]


def test_push__batch_of_plots_and_yields__county_rows_kept_exact(session):
    # A push batch recomputes its counties' rows (totals, implausible yields) once, at its end
    # (county_refresh.DEFERRED_COUNTIES): after it they must be what a from-scratch computation gives.
    from catalog.field import YieldMeasurement
    from catalog.yield_outliers import ImplausibleYield
    from tests.catalog.test_county_rows import recomputed, recomputed_totals, stored, stored_totals

    plots = [make_plot(session, name=f"示范田{n}", area_m2=6670.0) for n in range(9)]
    for n, plot in enumerate(plots):  # eight near 600 kg/亩 and one far above: outside its county's fences
        session.add(YieldMeasurement(id=str(uuid.uuid4()), plot_id=plot.id, county_code="410102", method="harvest",
                                     level="county", crop="maize", review_state="approved",
                                     yield_kg_per_mu=2400.0 if n == 8 else 600.0 + n))
    session.commit()
    assert session.scalars(select(ImplausibleYield.plot_id)).all() == [plots[8].id]
    before = {r[1]: r for r in stored_totals(session)}["410102"]

    maize = {"method": "harvest", "level": "county", "crop": "maize", "measured_on": "2026-09-25",
             "samples": [{"area_mu": 0.3, "fresh_kg": 226, "moisture": 0.25, "impurity": 0.001}]}
    new = [str(uuid.uuid4()) for _ in range(3)]
    batch = [m("plot", new[0], plot_fields(boundary=SQUARE)),
             m("yield", str(uuid.uuid4()), {"plot_id": new[0], **maize}),
             m("yield", str(uuid.uuid4()), {"plot_id": plots[0].id, **maize}),
             m("plot", new[1], plot_fields(boundary=_square(0.01))),
             m("plot", plots[0].id, {"control_plot_id": plots[8].id}, base=1),  # a control plot: out of the fences
             m("yield", str(uuid.uuid4()), {"plot_id": new[1], **maize}),
             m("plot", new[2], plot_fields(county_code="130102"))]  # not this device's county: forbidden
    answers = push(session, HENAN, batch)
    session.commit()
    assert [(a.status, a.code) for a in answers] == [("applied", None)] * 6 + [("rejected", "forbidden")]
    assert stored(session) == recomputed(session)
    assert stored_totals(session) == recomputed_totals(session)
    assert session.scalars(select(ImplausibleYield.plot_id)).all() == []  # the far-off plot became a control
    after = {r[1]: r for r in stored_totals(session)}["410102"]
    plots_at, measurements_at = 3, 8  # positions of plots and measurements in stored_totals' rows
    # two plots and three measurements more; the control plot and its measurement no longer count
    assert (after[plots_at], after[measurements_at]) == (before[plots_at] + 2 - 1, before[measurements_at] + 3 - 1)
