"""The audit log: every write of an audited record, on every path, with who, when, what, before and after.

Recorded in one place — an ``after_flush`` hook on every Session — so no path (API, page, command line,
importer, sync) can write without a trace. The path declares who acts with :func:`act_as` before it writes;
a flush that changes an audited record with nobody declared is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import JSON, ColumnElement, Select, String, event, false, func, insert, inspect, or_, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from catalog.access import Actor
from catalog.db import BEIJING, Base, new_id, timestamp, utcnow
from catalog.errors import FieldError, Forbidden, ValidationFailed

ACTOR_KEY = "yx_actor"
# A list here (``catalog.deferred_logs``): the entries of each flush wait in it, written with the batch's.
DEFERRED_AUDIT = "yx_audit_deferred"
REDACTED = {"password_hash", "secret_hash"}
# Bookkeeping that changes on reads (a token's last use): not a write anybody needs to review.
UNAUDITED_COLUMNS = {"last_used_at"}
# Tables whose writes are audited: everything users change. Reference data loads are not (they are data files).
AUDITED_TABLES: set[str] = {"result", "result_code", "result_region", "user_account", "role_grant", "token",
                            "site", "site_division", "site_list",
                            # field records (catalog.field), whichever path writes them: push, import, seed
                            "demo_plot", "yield_measurement", "observation", "soil_sample", "photo",
                            "need",  # catalog.needs
                            "list_issue", "list_entry",  # catalog.lists
                            "event", "event_site", "event_result", "intent", "intent_step",  # catalog.events, intents
                            "classify_rule", "classify_model", "classify_decision",  # catalog.classify
                            "season_plan", "extension_report", "national_target"}  # catalog.seasons, targets


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[timestamp]
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # insert, update, delete
    entity: Mapped[str] = mapped_column(String(32), index=True)
    entity_id: Mapped[str] = mapped_column(String(128), index=True)
    # The division the record belongs to, so officers read the log of their own scope.
    scope_code: Mapped[str | None] = mapped_column(String(6), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class NoActor(RuntimeError):
    """An audited record was written with nobody declared as acting."""


def act_as(session: Session, actor: Actor) -> Session:
    """Declare who writes through ``session`` (kept until changed)."""
    session.info[ACTOR_KEY] = actor
    return session


def current_actor(session: Session) -> Actor | None:
    return session.info.get(ACTOR_KEY)


@contextmanager
def acting_as(session: Session, actor: Actor) -> Iterator[Session]:
    """``actor`` writes through ``session`` inside the block, whatever the session was declared for; the actor
    declared before (if any) is back afterwards."""
    before = current_actor(session)
    act_as(session, actor)
    try:
        yield session
    finally:
        if before is not None:
            act_as(session, before)


def flush_as(session: Session, actor: Actor) -> None:
    """Flush with ``actor`` named in the audit entries of what is written (:func:`acting_as`)."""
    with acting_as(session, actor):
        session.flush()


# Values stored in JSON as they are: checked first, by exact type (a push audits some 27 columns per record).
_AS_IS = frozenset({str, int, float, bool, type(None), list, dict})


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    wkt = getattr(value, "wkt", None)  # a shape (its WKT is written out on each read of ``wkt``: read once)
    if isinstance(wkt, str):
        return wkt if len(wkt) < 2000 else wkt[:2000] + "…"
    return value


def _columns(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    loaded = state.dict  # read as loaded, not through each attribute's descriptor (a push audits 100 records)
    return {key: "***" if key in REDACTED else _plain(loaded[key] if key in loaded else getattr(obj, key))
            for key in _column_keys(state.mapper)}


@cache
def _column_keys(mapper: Any) -> tuple[str, ...]:
    return tuple(c.key for c in mapper.column_attrs)


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in UNAUDITED_COLUMNS:
            continue
        hist = get_history(obj, attr.key)
        if hist.has_changes() and (hist.deleted or hist.added):
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                redact = attr.key in REDACTED
                before[attr.key] = "***" if redact else _plain(old)
                after[attr.key] = "***" if redact else _plain(new)
    return before, after


def _identity(obj: Any) -> str:
    pk = inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(v) for v in pk)


def _scope_of(obj: Any) -> str | None:
    for attr in ("county_code", "source_province", "province_code", "division_code", "place_code", "scope"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and (attr != "scope" or (len(value) == 6 and value.isdigit())):
            return value
    return None


@event.listens_for(Session, "after_flush")
def _record(session: Session, _flush_context: Any) -> None:
    # after_flush: primary keys are known, while new/dirty/deleted and attribute history still show the change.
    rows: list[dict[str, Any]] = []
    changed = [("insert", o) for o in session.new] + [("update", o) for o in session.dirty] + \
        [("delete", o) for o in session.deleted]
    for action, obj in changed:
        table = getattr(obj, "__tablename__", None)
        if table not in AUDITED_TABLES:
            continue
        if action == "update":
            before, after = _changes(obj)
            if not after:
                continue
        elif action == "insert":
            before, after = {}, _columns(obj)
        else:
            before, after = _columns(obj), {}
        actor = current_actor(session)
        if actor is None:
            raise NoActor(f"{action} of {table} with no actor declared (catalog.audit.act_as)")
        rows.append({"id": new_id(), "at": utcnow(), "actor": actor.name, "actor_id": actor.user_id,
                     "channel": actor.channel, "action": action, "entity": table, "entity_id": _identity(obj),
                     "scope_code": _scope_of(obj), "before": before or None, "after": after or None})
    if not rows:
        return
    deferred = session.info.get(DEFERRED_AUDIT)
    if deferred is not None:
        deferred.extend(rows)
    else:
        session.connection().execute(insert(AuditEntry), rows)


# --- reading -----------------------------------------------------------------------------------------------

# How many leading digits of ``scope_code`` each officer's scope fixes (the ministry reads everything).
_AUDIT_PREFIX = {"province_officer": 2, "city_officer": 4, "county_officer": 6}
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("at", "时间（北京时间）/ time (Beijing)"), ("actor", "操作人 / actor"), ("channel", "途径 / channel"),
    ("action", "操作 / action"), ("entity", "对象 / entity"), ("entity_id", "对象编号 / entity id"),
    ("scope_code", "区划 / scope"), ("before", "修改前 / before"), ("after", "修改后 / after"))


@dataclass(frozen=True)
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_scope(actor: Actor) -> ColumnElement[bool]:
    """Which entries ``actor`` reads: all (ministry, operator), those of its area (officers), none (others).

    Entries without a scope (accounts, tokens, nationwide records) belong to the ministry."""
    if actor.system or actor.has("ministry_officer"):
        return true()
    clauses = [AuditEntry.scope_code.startswith(g.scope[:_AUDIT_PREFIX[g.role]])
               for g in actor.grants if g.role in _AUDIT_PREFIX and g.scope]
    return or_(*clauses) if clauses else false()


def ensure_audit_reader(actor: Actor) -> None:
    if not (actor.system or actor.has("ministry_officer", *_AUDIT_PREFIX)):
        raise Forbidden(en="Only officers read the audit log", zh="只有管理员可以查看操作日志")


def audit_query(actor: Actor, filters: AuditFilter) -> Select[AuditEntry]:
    """Entries ``actor`` may read that match ``filters``, newest first."""
    ensure_audit_reader(actor)
    query = select(AuditEntry).where(audit_scope(actor))
    if filters.entity:
        query = query.where(AuditEntry.entity == filters.entity)
    if filters.entity_id:
        query = query.where(AuditEntry.entity_id == filters.entity_id)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id)


def read_audit(session: Session, actor: Actor, filters: AuditFilter, page: int = 1,
               per_page: int = 50) -> tuple[list[AuditEntry], int]:
    """One page of the entries ``actor`` may read, and how many there are."""
    query = audit_query(actor, filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return items, int(total)


def beijing_time(value: dt.datetime) -> str:
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def export_audit_csv(session: Session, actor: Actor, filters: AuditFilter, max_rows: int) -> bytes:
    """The entries as CSV for Excel: UTF-8 with a BOM (so Excel on Chinese Windows reads it), Beijing time.

    Refuses (ValidationFailed) more than ``max_rows`` entries rather than cutting the file short silently."""
    query = audit_query(actor, filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if total > max_rows:
        raise ValidationFailed([FieldError(
            "since", "too_many", f"共 {total} 条，超过导出上限 {max_rows} 条，请缩小时间范围",
            f"{total} entries exceed the export limit of {max_rows}; narrow the time range")])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _key, label in CSV_COLUMNS])
    for e in session.scalars(query):
        writer.writerow([beijing_time(e.at), e.actor, e.channel, e.action, e.entity, e.entity_id, e.scope_code or "",
                         _json(e.before), _json(e.after)])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _json(value: dict[str, Any] | None) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
