"""Approval of yield measurements (测产审核): the chain of levels, who decides, locking, the review queue, and the
highest approved measurement of a plot that coverage figures stand on.

Each level's measurement is its own record verifying the one below on the same plot (``verifies_id``):
县级自测 county self-test → 市级初测 city (optional) → 省级复测 province re-test → 部级抽测 ministry spot-check.
Every level is recorded the same way — by the county's agents, in the field kit or through the ledger import,
with ``level`` set (the panel of that level measures; the agent who goes with it records the figures) — and is
approved or rejected only by an officer of its own level whose scope covers the plot: county officer (county),
city officer (city), province officer (province), ministry officer (ministry). A level is approved only after the
one below it: a province re-test needs the measurement it verifies approved, and, when it verifies the county
self-test directly, every city measurement of that self-test approved too.

An approved measurement is locked: no edit or deletion on any path (push, import, pages, API), and its plot is not
deleted. A rejection needs a comment; it reaches the agent's kit with the next pull (``review_state``,
``review_comment``), and the agent's edit of a rejected measurement sets it back to pending (see
``catalog.field_rules``). Decisions are written through the session like every other write, so the audit log
(``catalog.audit``) keeps who decided, when, through which channel, before and after.

Errors: :class:`Locked` (409 ``locked``), :class:`ReviewOrder` (409 ``review_order``), :class:`NotPending`
(409 ``not_pending``), :class:`CommentRequired` (422 ``comment_required``); unreadable is ``not_found`` (404),
readable but not this officer's level or scope is ``forbidden`` (403).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Index,
    Select,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    inspect,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key

from catalog import field_access
from catalog.access import Actor
from catalog.audit import flush_as
from catalog.db import utcnow
from catalog.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from catalog.field import LEVELS, DemoPlot, YieldMeasurement

LEVEL_RANK: dict[str, int] = {level: i for i, level in enumerate(LEVELS, start=1)}  # county 1 … ministry 4
# The levels a measurement of each level may verify (the city level is optional: a province re-test verifies the
# city measurement when there is one, else the county self-test).
LOWER: dict[str, tuple[str, ...]] = {"county": (), "city": ("county",), "province": ("city", "county"),
                                     "ministry": ("province",)}
OFFICER_OF: dict[str, str] = {"county": "county_officer", "city": "city_officer", "province": "province_officer",
                              "ministry": "ministry_officer"}
LEVEL_OF_ROLE: dict[str, str] = {role: level for level, role in OFFICER_OF.items()}
_PREFIX = {"county_officer": 6, "city_officer": 4, "province_officer": 2, "ministry_officer": 0}
LEVEL_NAMES: dict[str, tuple[str, str]] = {
    "county": ("县级自测", "county self-test"), "city": ("市级初测", "city test"),
    "province": ("省级复测", "province re-test"), "ministry": ("部级抽测", "ministry spot-check")}
STATE_NAMES: dict[str, tuple[str, str]] = {
    "pending": ("待审核", "pending"), "approved": ("已审核（锁定）", "approved (locked)"),
    "rejected": ("已退回", "rejected")}
MAX_COMMENT = 2000
# The review queue: pending measurements of one level in one area (migration 0010).
Index("ix_yield_measurement_review_queue", YieldMeasurement.review_state, YieldMeasurement.level,
      YieldMeasurement.county_code)


class Locked(Conflict):
    code = "locked"
    zh = "该测产已审核通过并锁定，不能修改"
    en = "The measurement is approved and locked: it cannot be changed"


class ReviewOrder(Conflict):
    code = "review_order"
    zh = "下一级测产尚未审核通过，不能审核本级"
    en = "The level below is not approved yet"


class NotPending(Conflict):
    code = "not_pending"
    zh = "该测产已退回，须推广员修改后再审核"
    en = "The measurement was rejected: it is reviewed again after the agent's edit"


class CommentRequired(ValidationFailed):
    code = "comment_required"
    zh = "退回须填写意见"
    en = "A rejection needs a comment"

    def __init__(self) -> None:
        super().__init__([FieldError("comment", "comment_required", "退回须填写意见", "A rejection needs a comment")])


# --- locking -------------------------------------------------------------------------------------------------


def is_locked(record: object) -> bool:
    return isinstance(record, YieldMeasurement) and record.review_state == "approved"


def ensure_unlocked(record: object, values: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`Locked` when ``record`` is an approved measurement and ``values`` would change it (None: any
    change, e.g. a deletion). Values equal to the stored ones change nothing and pass (a ledger imported again)."""
    if not is_locked(record):
        return
    if values is not None and all(_same(getattr(record, k, None), v) for k, v in values.items()):
        return
    assert isinstance(record, YieldMeasurement)
    raise Locked(id=record.id, type="yield", reviewed_by=record.reviewed_by)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a.replace(tzinfo=a.tzinfo or dt.UTC) == b.replace(tzinfo=b.tzinfo or dt.UTC)
    return bool(a == b)


def ensure_deletable(session: Session, kind: str, record: object) -> None:
    """An approved measurement is not deleted, nor the plot it stands on; a measurement that a live measurement of
    the level above verifies is not deleted either (the chain would break)."""
    if kind == "yield" and isinstance(record, YieldMeasurement):
        ensure_unlocked(record)
        above = session.scalar(select(YieldMeasurement.id).where(
            YieldMeasurement.verifies_id == record.id, YieldMeasurement.deleted.is_(False)).limit(1))
        if above is not None:
            raise Conflict(en="A measurement of the level above verifies this one: delete that first",
                           zh="上一级测产核验了这条测产，须先删除上一级测产", id=record.id, verified_by=above)
    elif kind == "plot" and isinstance(record, DemoPlot):
        approved = session.scalar(select(YieldMeasurement.id).where(
            YieldMeasurement.plot_id == record.id, YieldMeasurement.deleted.is_(False),
            YieldMeasurement.review_state == "approved").limit(1))
        if approved is not None:
            raise Locked(en="The plot has an approved measurement: it cannot be deleted",
                         zh="该地块有已审核通过的测产，不能删除", id=record.id, type="plot", measurement=approved)


# --- the chain -----------------------------------------------------------------------------------------------


def lower_candidate(session: Session, plot_id: str, level: str, exclude: str | None = None) -> str | None:
    """The id of the measurement a new ``level`` measurement of the plot verifies when none is named: the live
    one of the nearest level below (city before county for a province re-test), an approved one first, then the
    latest. Only the id is read (a sync batch asks for every city measurement it holds: no row to load)."""
    wanted = LOWER.get(level, ())
    if not wanted:
        return None
    held = session.info.get(HELD_YIELDS)
    if held is not None and plot_id in held:
        return _lower_held(session, held[plot_id], wanted, exclude)
    key = (level, bool(exclude))
    query = _LOWER_QUERIES.get(key)
    if query is None:  # built once per level (a sync batch asks for every city measurement it holds)
        query = _LOWER_QUERIES[key] = _lower_query(wanted, bool(exclude))
    params = {"plot_id": plot_id, **({"exclude": exclude} if exclude else {})}
    return session.scalars(query, params).first()


def _lower_query(wanted: tuple[str, ...], exclude: bool) -> Select[Any]:
    near = case({lv: i for i, lv in enumerate(wanted)}, value=YieldMeasurement.level)
    query = select(YieldMeasurement.id).where(
        YieldMeasurement.plot_id == bindparam("plot_id"), YieldMeasurement.level.in_(wanted),
        YieldMeasurement.deleted.is_(False), YieldMeasurement.review_state != "rejected")
    if exclude:
        query = query.where(YieldMeasurement.id != bindparam("exclude"))
    return query.order_by(
        near, case((YieldMeasurement.review_state == "approved", 0), else_=1),
        YieldMeasurement.measured_on.desc().nulls_last(), YieldMeasurement.created_at.desc(),
        YieldMeasurement.id).limit(1)  # the id last: one answer on every engine, and the same as _lower_held's


_LOWER_QUERIES: dict[tuple[str, bool], Select[Any]] = {}

# In ``session.info``: plot id → every live measurement of the plot, loaded with a sync batch
# (``catalog.sync_server``) and joined by the batch's new ones (``hold_new``). ``lower_candidate`` picks among them
# in memory, as its query would, instead of a query for each city or province measurement of the batch. A stored
# one is read as its columns; where the session holds it as an object (the batch edits it), the object is read
# instead: it carries the batch's edits (level, review state, deletion) as the flushed row would.
HELD_YIELDS = "yx_held_yields"
_HELD_COLUMNS = (YieldMeasurement.id, YieldMeasurement.plot_id, YieldMeasurement.level, YieldMeasurement.deleted,
                 YieldMeasurement.review_state, YieldMeasurement.measured_on, YieldMeasurement.created_at)


class _Held(Protocol):
    id: str
    level: str
    deleted: bool
    review_state: str | None
    measured_on: dt.date | None
    created_at: dt.datetime


def hold_yields(session: Session, plot_ids: Collection[str]) -> None:
    """Read the live measurements of ``plot_ids`` (a plot not stored yet has none) for ``lower_candidate``."""
    held: dict[str, list[Any]] = {pid: [] for pid in plot_ids}
    if held:
        for row in session.execute(select(*_HELD_COLUMNS).where(YieldMeasurement.plot_id.in_(sorted(held)),
                                                                YieldMeasurement.deleted.is_(False))):
            held[row.plot_id].append(row)
    session.info[HELD_YIELDS] = held


def hold_new(session: Session, record: Any) -> None:
    """A new measurement of a held plot joins the plot's held ones."""
    held = session.info.get(HELD_YIELDS)
    if held is not None and type(record) is YieldMeasurement and record.plot_id in held:
        held[record.plot_id].append(record)


def release_yields(session: Session) -> None:
    session.info.pop(HELD_YIELDS, None)


def _lower_held(session: Session, held: Sequence[Any], wanted: tuple[str, ...], exclude: str | None) -> str | None:
    """``_lower_query``'s answer from the plot's held measurements, in its order (ids are canonical UUIDs: their
    order is the same in Python and in any collation)."""
    ms: list[_Held] = []
    for m in held:
        if isinstance(m, YieldMeasurement):
            if _in_session(m):
                ms.append(m)
        else:  # a stored row; the session's object of it, if any, has the batch's edits
            ms.append(session.identity_map.get(identity_key(YieldMeasurement, m.id), m))
    live = [m for m in ms if m.level in wanted and not m.deleted and m.review_state not in (None, "rejected")
            and m.id != exclude]
    if not live:
        return None
    best = min(live, key=lambda m: (wanted.index(m.level), m.review_state != "approved", m.measured_on is None,
                                    -(m.measured_on or dt.date.min).toordinal(), _EPOCH - m.created_at, m.id))
    return best.id


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _in_session(m: YieldMeasurement) -> bool:
    """Not dropped by a savepoint's rollback (a new record written in it goes back to transient)."""
    state = inspect(m)
    return state.persistent or state.pending


def check_verifies(session: Session, level: str, verifies_id: str | None, plot: DemoPlot,
                   current_id: str | None) -> tuple[str | None, FieldError | None]:
    """The ``verifies_id`` a measurement of ``level`` on ``plot`` stores (found when not given), or why not."""
    if level == "county":
        if verifies_id:
            return None, FieldError("verifies_id", "invalid", "县级自测不核验其他测产",
                                    "A county self-test verifies no other measurement", value=verifies_id)
        return None, None
    names = "、".join(LEVEL_NAMES[lv][0] for lv in LOWER[level])
    if not verifies_id:
        found = lower_candidate(session, plot.id, level, current_id)
        if found is None:
            return None, FieldError("verifies_id", "no_lower_level", f"该地块还没有可核验的{names}",
                                    f"The plot has no {' or '.join(LEVEL_NAMES[lv][1] for lv in LOWER[level])} "
                                    "to verify yet", value=level)
        return found, None
    target = session.get(YieldMeasurement, str(verifies_id))
    if target is None or target.deleted or target.plot_id != plot.id or target.id == current_id:
        return None, FieldError("verifies_id", "not_found", "同一地块上找不到被核验的测产",
                                "No such measurement on the same plot", value=verifies_id)
    if target.level not in LOWER[level]:
        return None, FieldError("verifies_id", "invalid", f"{LEVEL_NAMES[level][0]}应核验{names}",
                                f"A {LEVEL_NAMES[level][1]} verifies a "
                                f"{' or '.join(LEVEL_NAMES[lv][1] for lv in LOWER[level])}", value=target.level)
    return target.id, None


@dataclass(frozen=True)
class ChainFacts:
    """Where a measurement stands in its verification chain."""

    blocking: list[YieldMeasurement]     # lower-level measurements still to be approved before it
    order_ok: bool                       # it may be decided now (a county self-test always)
    verified_by: list[YieldMeasurement]  # live measurements of the levels above that verify it


def chain_facts(session: Session, ms: Sequence[YieldMeasurement]) -> dict[str, ChainFacts]:
    """:class:`ChainFacts` of each of ``ms``, in two queries for a whole page of the review queue.

    Blocking: the measurement it verifies and, for a province re-test verifying the county self-test directly, that
    self-test's city measurements. An unknown verified record blocks as a missing one: order_ok is then False."""
    y = YieldMeasurement
    lower_ids = {m.verifies_id for m in ms if m.verifies_id}
    lowers = {row.id: row for row in session.scalars(select(y).where(y.id.in_(lower_ids)))} if lower_ids else {}
    above: dict[str, list[YieldMeasurement]] = defaultdict(list)
    watched = {m.id for m in ms} | set(lowers)
    if watched:
        for row in session.scalars(select(y).where(y.verifies_id.in_(watched), y.deleted.is_(False))
                                   .order_by(y.created_at, y.id)):
            above[row.verifies_id or ""].append(row)
    out: dict[str, ChainFacts] = {}
    for m in ms:
        lower = lowers.get(m.verifies_id) if m.verifies_id else None
        waiting: list[YieldMeasurement] = []
        if m.level != "county" and lower is not None:
            if lower.review_state != "approved" or lower.deleted:
                waiting.append(lower)
            if m.level == "province" and lower.level == "county":
                waiting += [c for c in above[lower.id] if c.level == "city" and c.review_state != "approved"]
        ready = m.level == "county" or (lower is not None and not waiting)
        out[m.id] = ChainFacts(waiting, ready, list(above[m.id]))
    return out


def blocking(session: Session, m: YieldMeasurement) -> list[YieldMeasurement]:
    """The lower-level measurements that must be approved before ``m`` is (see :func:`chain_facts`)."""
    return chain_facts(session, [m])[m.id].blocking


def order_ok(session: Session, m: YieldMeasurement) -> bool:
    return chain_facts(session, [m])[m.id].order_ok


# --- who decides ---------------------------------------------------------------------------------------------


def can_decide(actor: Actor, m: YieldMeasurement) -> bool:
    """An officer of the measurement's own level whose scope covers the plot (the operator: any)."""
    return actor.system or actor.covers_division(m.county_code, (OFFICER_OF.get(m.level, ""),))


def decider_levels(actor: Actor) -> list[str]:
    """The levels ``actor`` decides (ministry officer: ministry, …); the operator decides every level."""
    if actor.system:
        return list(LEVELS)
    return [lv for lv in LEVELS if actor.has(OFFICER_OF[lv])]


def can_review_anything(actor: Actor) -> bool:
    return bool(decider_levels(actor))


def get_measurement(session: Session, actor: Actor, measurement_id: str, *, lock: bool = False
                    ) -> YieldMeasurement:
    """A live measurement ``actor`` may read (NotFound otherwise, the same answer as for one that does not exist)."""
    m = session.get(YieldMeasurement, measurement_id, with_for_update=lock or None)
    if m is None or m.deleted or not field_access.can_read(actor, m.county_code):
        raise NotFound(en=f"No yield measurement {measurement_id}", zh="测产记录不存在", id=measurement_id,
                       type="yield")
    return m


def decide(session: Session, actor: Actor, measurement_id: str, decision: str, comment: str | None = None,
           expected_version: int | None = None) -> YieldMeasurement:
    """Approve (``approve``) or reject (``reject``, with a comment) a pending measurement; flushes, never commits.

    404 unreadable; 403 readable but not this officer's level or scope; 409 ``locked`` (approved already),
    ``not_pending`` (rejected, waiting for the agent's edit), ``review_order`` (the level below not approved),
    ``conflict`` (``expected_version`` is not the stored one); 422 ``comment_required``."""
    if decision not in ("approve", "reject"):
        raise ValidationFailed([FieldError("decision", "invalid_choice", "取值应为：approve、reject",
                                           "One of: approve, reject", value=decision)])
    m = get_measurement(session, actor, measurement_id, lock=True)
    if not can_decide(actor, m):
        zh_level, en_level = LEVEL_NAMES.get(m.level, (m.level, m.level))
        raise Forbidden(en=f"Only an officer of the {en_level}'s level covering the plot decides it",
                        zh=f"{zh_level}只能由覆盖该地块的同级管理员审核", id=m.id, level=m.level)
    if m.review_state == "approved":
        raise Locked(id=m.id, type="yield", reviewed_by=m.reviewed_by)
    if m.review_state == "rejected":
        raise NotPending(id=m.id, review_comment=m.review_comment)
    if expected_version is not None and expected_version != m.version:
        raise Conflict(en="The measurement changed meanwhile: reload it", zh="测产记录已被修改，请刷新后再审核",
                       id=m.id, version=m.version)
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed([FieldError("comment", "too_long", f"意见超过{MAX_COMMENT}个字符",
                                           f"Longer than {MAX_COMMENT} characters", value=len(text))])
    if decision == "reject" and not text:
        raise CommentRequired()
    if decision == "approve":
        facts = chain_facts(session, [m])[m.id]
        waiting = facts.blocking
        if not facts.order_ok:
            lower = waiting[0] if waiting else None
            raise ReviewOrder(id=m.id, level=m.level, waiting_for=lower.id if lower else m.verifies_id,
                              waiting_level=lower.level if lower else None)
    m.review_state = "approved" if decision == "approve" else "rejected"
    m.reviewed_by = actor.name
    m.reviewed_at = utcnow()
    m.review_comment = text or None
    flush_as(session, actor)  # the audit entry names the officer, whatever the session was declared for
    return m


def approve(session: Session, actor: Actor, measurement_id: str, comment: str | None = None,
            expected_version: int | None = None) -> YieldMeasurement:
    return decide(session, actor, measurement_id, "approve", comment, expected_version)


def reject(session: Session, actor: Actor, measurement_id: str, comment: str | None,
           expected_version: int | None = None) -> YieldMeasurement:
    return decide(session, actor, measurement_id, "reject", comment, expected_version)


# --- the queue -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    level: str | None = None
    county: str | None = None  # a division code: a province (410000), a city (410100) or a county (410122)
    season: str | None = None
    state: str = "pending"     # pending (the queue), rejected, approved


def division_prefix(code: str) -> str:
    """The code prefix a division covers: 410000 → 41, 410100 → 4101, 410122 → 410122."""
    code = code.strip()
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def decidable_condition(actor: Actor) -> ColumnElement[bool]:
    """SQL: the measurements ``actor`` decides (its level, its scope); the same rule as :func:`can_decide`."""
    if actor.system:
        return true()
    clauses: list[ColumnElement[bool]] = []
    for g in actor.grants:
        level = LEVEL_OF_ROLE.get(g.role)
        if level is None:
            continue
        n = _PREFIX[g.role]
        if n == 0:
            clauses.append(YieldMeasurement.level == level)
        elif g.scope:
            where = YieldMeasurement.county_code == g.scope if n == 6 else \
                YieldMeasurement.county_code.startswith(g.scope[:n])
            clauses.append(and_(YieldMeasurement.level == level, where))
    return or_(*clauses) if clauses else false()


def ready_condition() -> ColumnElement[bool]:
    """SQL: the level below is approved (a county self-test is always ready): :func:`order_ok` in one query.

    The level below is read by a correlated scalar subquery through its primary key, once per candidate row (an
    EXISTS inside this OR made PostgreSQL hash every approved measurement first, and an outer join scanned them)."""
    lower = aliased(YieldMeasurement)
    city = aliased(YieldMeasurement)
    lower_state = select(lower.review_state).where(lower.id == YieldMeasurement.verifies_id,
                                                   lower.deleted.is_(False)).scalar_subquery()
    city_waiting = exists(select(city.id).where(
        city.verifies_id == YieldMeasurement.verifies_id, city.level == "city", city.deleted.is_(False),
        city.review_state != "approved", city.id != YieldMeasurement.id))
    return or_(YieldMeasurement.level == "county",
               and_(lower_state == "approved", or_(YieldMeasurement.level != "province", ~city_waiting)))


def queue_query(actor: Actor, filters: QueueFilter) -> Select[YieldMeasurement, DemoPlot]:
    """Measurements ``actor`` decides in ``filters.state`` (pending: only those whose level below is approved),
    with their plots, oldest first (pending) or latest decision first."""
    query = (select(YieldMeasurement, DemoPlot).join(DemoPlot, DemoPlot.id == YieldMeasurement.plot_id)
             .where(YieldMeasurement.deleted.is_(False), DemoPlot.deleted.is_(False),
                    YieldMeasurement.review_state == filters.state, decidable_condition(actor)))
    if filters.state == "pending":
        query = query.where(ready_condition())
    if filters.level:
        query = query.where(YieldMeasurement.level == filters.level)
    if filters.county:
        prefix = division_prefix(filters.county)
        query = query.where(YieldMeasurement.county_code == prefix if len(prefix) == 6
                            else YieldMeasurement.county_code.startswith(prefix))
    if filters.season:
        query = query.where(DemoPlot.season == filters.season)
    if filters.state == "pending":
        return query.order_by(YieldMeasurement.measured_on.nulls_last(), YieldMeasurement.created_at,
                              YieldMeasurement.id)
    return query.order_by(YieldMeasurement.reviewed_at.desc(), YieldMeasurement.id)


def review_queue(session: Session, actor: Actor, filters: QueueFilter, page: int = 1, per_page: int = 50
                 ) -> tuple[list[tuple[YieldMeasurement, DemoPlot]], int]:
    """One page of :func:`queue_query` and how many there are in all."""
    if not can_review_anything(actor):
        raise Forbidden(en="Only county, city, province and ministry officers review yield measurements",
                        zh="只有县、市、省、部级管理员审核测产")
    if filters.level is not None and filters.level not in LEVELS:
        raise ValidationFailed([FieldError("level", "invalid_choice", f"取值应为：{'、'.join(LEVELS)}",
                                           f"One of: {', '.join(LEVELS)}", value=filters.level)])
    query = queue_query(actor, filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return [(row[0], row[1]) for row in rows], int(total)


def chain(session: Session, m: YieldMeasurement) -> list[YieldMeasurement]:
    """``m`` and the measurements below it that it verifies, lowest level first."""
    out = [m]
    seen = {m.id}
    while out[0].verifies_id and out[0].verifies_id not in seen:
        lower = session.get(YieldMeasurement, out[0].verifies_id)
        if lower is None:
            break
        seen.add(lower.id)
        out.insert(0, lower)
    return out


def verified_by(session: Session, m: YieldMeasurement) -> list[YieldMeasurement]:
    """The live measurements of the levels above that verify ``m``."""
    return chain_facts(session, [m])[m.id].verified_by


# --- the highest approved measurement --------------------------------------------------------------------------

LEVEL_RANK_SQL = case(LEVEL_RANK, value=YieldMeasurement.level, else_=0)


# A plot's approved measurements, best first: the highest level; within a level 实收 before 理论, then the latest
# measured, then the latest approved (the id settles the rest).
BEST_ORDER = (LEVEL_RANK_SQL.desc(), case((YieldMeasurement.method == "harvest", 0), else_=1),
              YieldMeasurement.measured_on.desc().nulls_last(), YieldMeasurement.reviewed_at.desc().nulls_last(),
              YieldMeasurement.id)


def best_approved_query(plots: Select[Any] | Collection[str] | None = None) -> Select[Any]:
    """SQL, one row per plot: the plot's highest-level approved live measurement (ministry > province > city >
    county; within a level 实收 before 理论, then the latest measured, then the latest approved).

    Columns: ``plot_id``, ``yield_id``, ``level``, ``level_rank``, ``method``, ``crop``, ``yield_kg_per_mu``,
    ``baseline_kg_per_mu``, ``baseline_type``, ``gain_pct``, ``measured_on``, ``reviewed_at``. ``plots``: a select
    of plot ids, a collection of ids, or None for every plot. One window function over the approved rows; the
    coverage module aggregates over it in SQL (``.subquery()``)."""
    y = YieldMeasurement
    ranked = select(
        y.plot_id.label("plot_id"), y.id.label("yield_id"), y.level.label("level"),
        LEVEL_RANK_SQL.label("level_rank"), y.method.label("method"), y.crop.label("crop"),
        y.yield_kg_per_mu.label("yield_kg_per_mu"), y.baseline_kg_per_mu.label("baseline_kg_per_mu"),
        y.baseline_type.label("baseline_type"), y.gain_pct.label("gain_pct"), y.measured_on.label("measured_on"),
        y.reviewed_at.label("reviewed_at"),
        func.row_number().over(partition_by=y.plot_id, order_by=BEST_ORDER).label("rn"),
    ).where(y.review_state == "approved", y.deleted.is_(False))
    if plots is not None:
        ranked = ranked.where(y.plot_id.in_(plots if isinstance(plots, Select) else list(plots)))
    sub = ranked.subquery("ranked")
    return select(*(c for c in sub.c if c.name != "rn")).where(sub.c.rn == 1)


IN_CHUNK = 5000  # ids per IN list (SQLite's bound-parameter limit)


def best_approved(session: Session, plots: Select[Any] | Collection[str] | None = None
                  ) -> dict[str, YieldMeasurement]:
    """plot id → its highest-level approved measurement (``.level`` is the level the figure stands on); plots
    without an approved measurement are absent. One query (a window function) per 5,000 ids given as a list;
    one in all for a select of ids or None (every plot)."""
    out: dict[str, YieldMeasurement] = {}
    if plots is None or isinstance(plots, Select):
        batches: list[Select[Any] | list[str] | None] = [plots]
    else:
        ids = sorted(set(plots))
        batches = [ids[i:i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]
    for batch in batches:
        best = best_approved_query(batch).subquery("best")
        query = select(YieldMeasurement).join(best, best.c.yield_id == YieldMeasurement.id)
        out.update({m.plot_id: m for m in session.scalars(query)})
    return out
