"""The change log: rows written in the writing transaction, one per record and scope, read by cursor in scope."""

from __future__ import annotations

from sqlalchemy import select

from catalog import changelog
from catalog.changelog import ChangeLog
from catalog.lifecycle import transition
from catalog.sites import Site
from tests.catalog.factories import make_result
from tests.sync.helpers import make_plot, settle

AGENT_SCOPES = changelog.scopes_of_counties(["410102"])


def rows(session, rtype=None):
    query = select(ChangeLog).order_by(ChangeLog.xid, ChangeLog.seq)
    if rtype:
        query = query.where(ChangeLog.type == rtype)
    return list(session.scalars(query))


def test_plot__insert_update_delete__one_row_rewritten_later_each_time(session):
    plot = make_plot(session)
    session.commit()
    first = [(r.record_id, r.op, r.version, r.scope) for r in rows(session, "plot")]
    assert first == [(plot.id, "upsert", 1, "c:410102")]
    seq1 = rows(session, "plot")[0].seq

    plot.name = "改名"
    session.commit()
    assert plot.version == 2 and plot.field_versions == {"name": 2}
    (row,) = rows(session, "plot")
    assert (row.op, row.version) == ("upsert", 2) and row.seq > seq1

    plot.deleted = True
    session.commit()
    (row,) = rows(session, "plot")
    assert (row.op, row.version) == ("delete", 3)


def test_plot__moved_to_another_county__old_scope_says_out_of_scope(session):
    plot = make_plot(session)
    session.commit()
    plot.county_code = "130102"
    session.commit()
    got = {r.scope: r.op for r in rows(session, "plot")}
    assert got == {"c:410102": "out_of_scope", "c:130102": "upsert"}


def test_flush_without_field_changes__no_version_bump(session):
    plot = make_plot(session)
    session.commit()
    plot.name = plot.name  # same value
    session.commit()
    assert plot.version == 1 and len(rows(session, "plot")) == 1


def test_result__logged_only_while_published__withdraw_leaves_the_list(session):
    national = make_result(session, "玉米新品种")
    session.commit()
    assert rows(session, "result") == []  # a draft is nobody's listing
    for step in ("submit", "approve", "publish"):
        transition(session, national, step, "test")
    session.commit()
    assert [(r.scope, r.op) for r in rows(session, "result")] == [("*", "upsert")]
    transition(session, national, "withdraw", "test", "不再推荐")
    session.commit()
    assert [(r.scope, r.op) for r in rows(session, "result")] == [("*", "out_of_scope")]


def test_local_result__listed_in_its_province_only(session):
    local = make_result(session, "河南地方成果", source="local", source_province="410000")
    for step in ("submit", "approve", "publish"):
        transition(session, local, step, "test")
    session.commit()
    assert [(r.scope, r.province_code) for r in rows(session, "result")] == [("p:410000", "410000")]
    settle(session)
    henan, hebei = changelog.scopes_of_counties(["410102"]), changelog.scopes_of_counties(["130102"])
    assert [r.record_id for r in changelog.read(session, henan, (-1, -1), 1000)[0] if r.type == "result"] == [local.id]
    assert [r for r in changelog.read(session, hebei, (-1, -1), 1000)[0] if r.type == "result"] == []


def test_read__pages_by_position_within_scope(session):
    mine = [make_plot(session) for _ in range(5)]
    session.commit()
    make_plot(session, "130102")
    settle(session)
    seen, after = [], (-1, -1)
    while True:
        page, _top, more = changelog.read(session, ["c:410102"], after, 2)
        seen += [r.record_id for r in page]
        if page:
            after = (page[-1].xid, page[-1].seq)
        if not more:
            break
    assert seen == [p.id for p in mine]


def test_backfill__logs_records_loaded_in_bulk__once(session):
    # Sites come from the reference load (core inserts, no flush hook): the backfill logs them.
    sites = session.scalar(select(Site.id).limit(1))
    assert sites is not None and rows(session, "site") == []
    written = changelog.backfill(session)
    session.commit()
    assert written > 0 and len(rows(session, "site")) == session.query(Site).count()
    assert changelog.backfill(session) == 0


def test_trim__drops_only_old_tombstones(session):
    import datetime as dt

    keep, gone = make_plot(session), make_plot(session)
    session.commit()
    gone.deleted = True
    session.commit()
    count, last = changelog.trim(session, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    session.commit()
    assert count == 1 and last is not None
    assert [r.record_id for r in rows(session, "plot")] == [keep.id]
