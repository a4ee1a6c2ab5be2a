"""The sync change log: which records a device may see changed, in an order a cursor can follow safely.

One row per (record type, record id, scope), rewritten on every change of that record in that scope, so the
log holds each record's latest change once: a device that starts from nothing pages through its whole scope,
and one with a cursor gets what changed since. A record leaving a scope (a plot moved to another county, a
result withdrawn from the published lists) keeps a row in the old scope with op ``out_of_scope``; a deleted
record a row with op ``delete`` (the tombstone) until :func:`trim` drops tombstones older than the log is kept.

Scopes are strings: ``*`` (every device: the national list, code lists, sites without a province),
``p:410000`` (a province: its local list, its sites), ``c:410102`` (a county: its field records).

Order and the horizon. Rows are written by an ``after_flush`` hook inside the writing transaction, with the
transaction's id (``pg_current_xact_id()``) in ``xid``. A pull hands out only rows with ``xid`` below the
``xmin`` of its snapshot: every transaction below it has ended, so no row can later appear behind a cursor
(a plain "``seq`` > cursor" skips a row whose transaction took its number first and committed last). Rows are
ordered by ``(xid, seq)``. SQLite serialises writers, so there ``xid`` is the sequence itself.

Versions. A ``before_flush`` hook keeps every synced record's ``version`` and ``field_versions`` on every path
(API, import, sync): a flush that changes fields bumps the version once and stamps those fields with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    event,
    insert,
    inspect,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from catalog.codelists import Code, CodeList
from catalog.db import Base, is_postgres, timestamp, utcnow
from catalog.field import SYNCED_MODELS, Synced
from catalog.results import Result, ResultCode, ResultRegion
from catalog.sites import Site

EVERYONE = "*"
TYPE_OF: dict[type, str] = {model: name for name, model in SYNCED_MODELS.items()}
# Columns the server keeps for itself: changing them is not a change of the record's fields.
BOOKKEEPING = frozenset({"id", "version", "field_versions", "created_at", "updated_at", "created_by", "updated_by"})
LISTED_STATES = ("published",)


class ChangeLog(Base):
    __tablename__ = "sync_change"
    __table_args__ = (
        UniqueConstraint("type", "record_id", "scope"),
        Index("ix_sync_change_order", "xid", "seq"),
        Index("ix_sync_change_scope", "scope", "xid", "seq"),
        # AUTOINCREMENT: a rewritten row must never get back the number of the row it replaced.
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    op: Mapped[str] = mapped_column(String(16))  # upsert, delete, out_of_scope
    version: Mapped[int] = mapped_column(Integer, default=0)
    county_code: Mapped[str | None] = mapped_column(String(6))
    province_code: Mapped[str | None] = mapped_column(String(6))
    xid: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[timestamp]


def county_scope(code: str) -> str:
    return f"c:{code}"


def province_scope(code: str) -> str:
    return f"p:{code[:2]}0000"


def scopes_of_counties(counties: Iterable[str]) -> list[str]:
    """The scopes a device of these counties reads: everyone's, its provinces', its counties'."""
    out = {EVERYONE}
    for c in counties:
        out.update((province_scope(c), county_scope(c)))
    return sorted(out)


def result_scope(state: str | None, source: str | None, province: str | None) -> str | None:
    """Where a result is listed for devices: the national list everywhere, a local list in its province."""
    if state not in LISTED_STATES:
        return None
    if source == "local":
        return province_scope(province) if province else None
    return EVERYONE


def site_scope(province: str | None) -> str:
    return province_scope(province) if province else EVERYONE


# --- versions ----------------------------------------------------------------------------------------------


def changed_fields(obj: Any) -> list[str]:
    out = []
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in BOOKKEEPING:
            continue
        hist = get_history(obj, attr.key)
        if hist.added or hist.deleted:
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if not _equal(old, new):
                out.append(attr.key)
    return out


def _equal(a: Any, b: Any) -> bool:
    if hasattr(a, "equals") and hasattr(b, "equals"):  # shapely geometries
        return bool(a.equals_exact(b, 0)) if a.geom_type == b.geom_type else False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


@event.listens_for(Session, "before_flush")
def _stamp_versions(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.new:
        if isinstance(obj, Synced):
            obj.version = obj.version or 1
            obj.field_versions = dict(obj.field_versions or {})
    for obj in session.dirty:
        if not isinstance(obj, Synced):
            continue
        fields = changed_fields(obj)
        if not fields:
            continue
        if not get_history(obj, "version").added:  # a caller that sets the version itself keeps it
            obj.version = (obj.version or 1) + 1
        versions = dict(obj.field_versions or {})
        versions.update({f: obj.version for f in fields})
        obj.field_versions = versions
        obj.updated_at = utcnow()


# --- writing the log -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    type: str
    record_id: str
    scope: str
    op: str
    version: int
    county_code: str | None = None
    province_code: str | None = None
    new: bool = False  # the record was inserted in this flush: no earlier row to replace

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.record_id, self.scope)


SCOPE_KEYS: dict[type, tuple[str, ...]] = {Synced: ("county_code",), Result: ("state", "source", "source_province"),
                                          Site: ("province_code",)}
OLD_KEY = "yx_changelog_old"
# A list here (``catalog.deferred_logs``): the entries of each flush wait in it, written with the batch's.
DEFERRED_LOG = "yx_changelog_deferred"


def _scope_keys(obj: Any) -> tuple[str, ...]:
    return next((keys for cls, keys in SCOPE_KEYS.items() if isinstance(obj, cls)), ())


@event.listens_for(Session, "before_flush")
def _remember_old_scopes(session: Session, _ctx: Any, _instances: Any) -> None:
    # A value set on an expired attribute (after a commit) has no "before" in its history: read it from the row
    # now, before the UPDATE, so a record leaving a scope is told to that scope.
    old: dict[int, dict[str, Any]] = {}
    for obj in session.dirty:
        for key in _scope_keys(obj):
            hist = get_history(obj, key)
            if hist.added and not hist.deleted:
                mapper = inspect(obj).mapper
                pk = mapper.primary_key_from_instance(obj)
                value = session.execute(select(mapper.columns[key]).where(
                    *(c == v for c, v in zip(mapper.primary_key, pk, strict=True)))).scalar()
                old.setdefault(id(obj), {})[key] = value
    session.info[OLD_KEY] = old


def _old(obj: Any, key: str) -> Any:
    hist = get_history(obj, key)
    if hist.deleted:
        return hist.deleted[0]
    session = inspect(obj).session
    remembered = session.info.get(OLD_KEY, {}).get(id(obj), {}) if session is not None else {}
    return remembered.get(key, getattr(obj, key))


def _synced_entries(obj: Synced, action: str) -> list[Entry]:
    rtype = TYPE_OF[type(obj)]
    county: str = getattr(obj, "county_code")  # noqa: B009 — every synced model has one
    rid, version = str(getattr(obj, "id")), obj.version or 1  # noqa: B009
    op = "delete" if action == "delete" or obj.deleted else "upsert"
    out = [Entry(rtype, rid, county_scope(county), op, version, county, county[:2] + "0000", action == "insert")]
    old = _old(obj, "county_code") if action == "update" else county
    if old and old != county:
        out.append(Entry(rtype, rid, county_scope(old), "out_of_scope", version, old, old[:2] + "0000"))
    return out


def _result_entries(obj: Result, action: str) -> list[Entry]:
    now = result_scope(obj.state, obj.source, obj.source_province)
    before = result_scope(_old(obj, "state"), _old(obj, "source"), _old(obj, "source_province")) \
        if action == "update" else None
    out = []
    province = obj.source_province if obj.source == "local" else None
    if now:
        out.append(Entry("result", obj.id, now, "delete" if action == "delete" else "upsert", obj.version or 1,
                         None, province, action == "insert"))
    if before and before != now:
        out.append(Entry("result", obj.id, before, "out_of_scope", obj.version or 1, None, province))
    return out


def _site_entries(obj: Site, action: str) -> list[Entry]:
    now = site_scope(obj.province_code)
    out = [Entry("site", obj.id, now, "delete" if action == "delete" else "upsert", 1, None, obj.province_code,
                 action == "insert")]
    before = site_scope(_old(obj, "province_code")) if action == "update" else now
    if before != now:
        out.append(Entry("site", obj.id, before, "out_of_scope", 1, None, None))
    return out


def entries_of_flush(session: Session) -> list[Entry]:
    found: dict[tuple[str, str, str], Entry] = {}
    touched_results: set[str] = set()
    touched_lists: set[str] = set()
    changed = [("insert", o) for o in session.new] + [("update", o) for o in session.dirty] + \
        [("delete", o) for o in session.deleted]
    for action, obj in changed:
        if action == "update" and not session.is_modified(obj, include_collections=False):
            continue
        entries: list[Entry] = []
        if isinstance(obj, Synced):
            entries = _synced_entries(obj, action)
        elif isinstance(obj, Result):
            touched_results.discard(obj.id)
            entries = _result_entries(obj, action)
        elif isinstance(obj, ResultCode | ResultRegion):
            touched_results.add(obj.result_id)
        elif isinstance(obj, Site):
            entries = _site_entries(obj, action)
        elif isinstance(obj, CodeList):
            touched_lists.add(obj.id)
        elif isinstance(obj, Code):
            touched_lists.add(obj.list_id)
        for e in entries:
            found[e.key] = e
    # A published result whose codes or regions changed (the result row itself may be untouched).
    for rid in touched_results:
        result = session.get(Result, rid)
        if result is not None and not any(k[0] == "result" and k[1] == rid for k in found):
            for e in _result_entries(result, "update"):
                found[e.key] = e
    for list_id in touched_lists:
        code_list = session.get(CodeList, list_id)
        op = "upsert" if code_list is not None and code_list not in session.deleted else "delete"
        e = Entry("code_list", list_id, EVERYONE, op, code_list.version if code_list else 0)
        found[e.key] = e
    return list(found.values())


def write(session: Session, entries: list[Entry]) -> None:
    """Rewrite the log rows of ``entries`` in the current transaction (core statements: runs inside a flush)."""
    if not entries:
        return
    conn = session.connection()
    replaced = [{"t": e.type, "r": e.record_id, "s": e.scope} for e in entries if not e.new]
    if replaced:  # a push of new records (the common case) skips this round trip
        conn.execute(delete(ChangeLog).where(and_(ChangeLog.type == _bind("t"), ChangeLog.record_id == _bind("r"),
                                                  ChangeLog.scope == _bind("s"))), replaced)
    now = utcnow()
    rows = [{"type": e.type, "record_id": e.record_id, "scope": e.scope, "op": e.op, "version": e.version,
             "county_code": e.county_code, "province_code": e.province_code, "at": now} for e in entries]
    if is_postgres(conn):
        conn.execute(insert(ChangeLog).values(xid=literal_column("pg_current_xact_id()::text::bigint")), rows)
    else:
        # Writers are serialised on SQLite and this flush already holds the write lock: the numbers are ours.
        last = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'sync_change'")).scalar() or 0
        for i, row in enumerate(rows, start=1):
            row["seq"] = row["xid"] = last + i
        conn.execute(insert(ChangeLog), rows)


def _bind(name: str) -> Any:
    return bindparam(name)


@event.listens_for(Session, "after_flush")
def _log_changes(session: Session, _ctx: Any) -> None:
    entries = entries_of_flush(session)
    deferred = session.info.get(DEFERRED_LOG)
    if deferred is not None:
        deferred.extend(entries)
    else:
        write(session, entries)


# --- reading the log -----------------------------------------------------------------------------------------


def horizon(session: Session) -> int:
    """Transaction ids below this have all ended (PostgreSQL); on SQLite, past every row."""
    if is_postgres(session.get_bind()):
        return int(session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")) or 0)
    return 2 ** 62


def read(session: Session, scopes: list[str], after: tuple[int, int], limit: int
         ) -> tuple[list[ChangeLog], int, bool]:
    """Up to ``limit`` rows of ``scopes`` after position ``(xid, seq)``, below the horizon, in order; the horizon
    used, and whether more rows follow."""
    top = horizon(session)
    query = (select(ChangeLog)
             .where(ChangeLog.scope.in_(scopes), ChangeLog.xid < top,
                    tuple_(ChangeLog.xid, ChangeLog.seq) > tuple_(*after))
             .order_by(ChangeLog.xid, ChangeLog.seq).limit(limit + 1))
    rows = list(session.scalars(query))
    return rows[:limit], top, len(rows) > limit


def trim(session: Session, before: dt.datetime) -> tuple[int, tuple[int, int] | None]:
    """Drop tombstones and out-of-scope rows written before ``before``: how many, and the last position dropped
    (a cursor before it has missed something and must refetch)."""
    gone = (ChangeLog.op.in_(("delete", "out_of_scope")), ChangeLog.at < before)
    last = session.execute(select(ChangeLog.xid, ChangeLog.seq).where(*gone)
                           .order_by(ChangeLog.xid.desc(), ChangeLog.seq.desc()).limit(1)).first()
    if last is None:
        return 0, None
    count = session.execute(delete(ChangeLog).where(*gone))
    return int(getattr(count, "rowcount", 0) or 0), (int(last[0]), int(last[1]))


def backfill(session: Session) -> int:
    """Log every listed record that has no row in its scope yet (records written by bulk loaders that bypass the
    ORM flush: reference data, demo seeding). Idempotent; returns how many rows it wrote."""
    have = {(t, r, s) for t, r, s in session.execute(select(ChangeLog.type, ChangeLog.record_id, ChangeLog.scope))}
    wanted: list[Entry] = []
    for list_id, version in session.execute(select(CodeList.id, CodeList.version)):
        wanted.append(Entry("code_list", list_id, EVERYONE, "upsert", version or 1))
    for site_id, province in session.execute(select(Site.id, Site.province_code)):
        wanted.append(Entry("site", site_id, site_scope(province), "upsert", 1, None, province))
    for rid, state, source, province, version in session.execute(
            select(Result.id, Result.state, Result.source, Result.source_province, Result.version)
            .where(Result.state.in_(LISTED_STATES))):
        scope = result_scope(state, source, province)
        if scope:
            wanted.append(Entry("result", rid, scope, "upsert", version or 1, None,
                                province if source == "local" else None))
    for rtype, model in SYNCED_MODELS.items():
        cols = model.__table__.c  # type: ignore[attr-defined]
        for rid, county, version, deleted in session.execute(select(cols.id, cols.county_code, cols.version,
                                                                     cols.deleted)):
            wanted.append(Entry(rtype, rid, county_scope(county), "delete" if deleted else "upsert", version or 1,
                                county, county[:2] + "0000"))
    missing = [e for e in wanted if e.key not in have]
    for start in range(0, len(missing), 5000):
        write(session, missing[start:start + 5000])
    return len(missing)

