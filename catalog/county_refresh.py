"""What keeps each county's derived rows exact: its plot totals (``catalog.county_totals``), its measured plots'
levels, gains and completeness (``catalog.county_gains``) and its implausible yields (``catalog.yield_outliers``),
recomputed together for a (season, county) whenever something they read changes:

- :func:`catalog.plot_figures.refresh_plot_figures` — the counties of the plots whose figures it refreshed (every
  measurement written through a Session, and the bulk writers that call it): :func:`lock_for_plots` before,
  :func:`refresh_counties` after;
- a flush hook on demo plots — a plot added, deleted, or whose season, county, park, area, crop, demo type or
  control plot changed: its old and new (season, county), and those of the control plots it names or named;
- a flush hook on season plans — a plan added, deleted, or whose season, county or deadline changed (completeness).

A recomputation reads only ``demo_plot``, ``plot_figure`` and ``season_plan``; in a batch whose figures wait
(``catalog.deferred_logs``) a county recomputed early is recomputed again when the figures are written. A process
whose database lacks the tables (the field kit's local store) is left alone.

Two transactions writing one county at once (two agents syncing, an officer approving) would each delete the rows
their snapshot sees and insert their own: under READ COMMITTED the second keeps the first's rows beside its own,
counting twice. So on PostgreSQL a recomputation first takes a transaction lock on each (season, county) it
recomputes, in order (:func:`lock_counties`): the second waits for the first to commit, and its statements after
the wait see that commit. The plot figures take the same locks before they are recomputed. SQLite has one writer
at a time and needs none.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from catalog import county_gains, county_totals, yield_outliers  # modules, not names: they may be importing this one
from catalog.field import DemoPlot
from catalog.seasons import SeasonPlan

_CHUNK = 500
# the plot columns the rows depend on (besides the plot's figure)
_COLUMNS = ("season", "county_code", "site_id", "area_m2", "crop", "demo_type", "deleted", "control_plot_id")
_PLAN_COLUMNS = ("season", "county_code", "deadline")

_HAS_TABLES: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def has_tables(conn: Connection) -> bool:
    known = _HAS_TABLES.get(conn.engine)
    if known is None:
        known = _HAS_TABLES[conn.engine] = inspect(conn).has_table("county_gain")  # the newest of them
    return known


# A set in a session's info (``catalog.deferred_logs``): the (season, county) pairs of each flush's plots wait in
# it and are recomputed once, with the figures, at the batch's end.
DEFERRED_COUNTIES = "yx_county_groups_deferred"
_LOCKS = 0x79786374  # the advisory locks' namespace ("yxct")
_EVERY = "*"  # the key a refresh of every county holds alone, and each county's refresh shares


def lock_counties(conn: Connection, groups: Iterable[tuple[str, str]] | None) -> None:
    """On PostgreSQL, hold each (season, county) of ``groups`` (None: every one) until this transaction ends."""
    if conn.dialect.name != "postgresql":
        return
    if groups is None:
        conn.execute(select(func.pg_advisory_xact_lock(_LOCKS, func.hashtext(_EVERY))))
        return
    conn.execute(select(func.pg_advisory_xact_lock_shared(_LOCKS, func.hashtext(_EVERY))))
    for season, county in sorted(set(groups)):  # one order for everyone: two writers cannot wait on each other
        conn.execute(select(func.pg_advisory_xact_lock(_LOCKS, func.hashtext(f"{season}:{county}"))))


def refresh_counties(conn: Connection, groups: Iterable[tuple[str, str]] | None = None, *,
                     locked: bool = False) -> None:
    """Recompute the rows of ``groups`` ((season, county) pairs; None: every one). ``locked``: this transaction
    holds their locks already (:func:`lock_for_plots`)."""
    if not has_tables(conn):
        return
    groups = None if groups is None else set(groups)
    if not locked:
        lock_counties(conn, groups)
    county_totals.refresh_totals(conn, groups)
    county_gains.refresh_gains(conn, groups)
    yield_outliers.refresh_outliers(conn, groups)


def _groups_of(conn: Connection, plot_ids: Iterable[str]) -> set[tuple[str, str]]:
    ids = sorted(set(plot_ids))
    out: set[tuple[str, str]] = set()
    for i in range(0, len(ids), _CHUNK):
        out.update((s, c) for s, c in conn.execute(
            select(DemoPlot.season, DemoPlot.county_code).where(DemoPlot.id.in_(ids[i:i + _CHUNK])).distinct()))
    return out


def lock_for_plots(conn: Connection, plot_ids: list[str], also: Iterable[tuple[str, str]] = ()
                   ) -> set[tuple[str, str]]:
    """Lock the (season, county) of each of ``plot_ids`` and the groups ``also``, in one order (see
    :func:`lock_counties`); those groups."""
    if not has_tables(conn):
        return set()
    groups = (_groups_of(conn, plot_ids) if plot_ids else set()) | set(also)
    if groups:
        lock_counties(conn, groups)
    return groups


@event.listens_for(Session, "after_flush")
def _follow_plots(session: Session, _flush_context: Any) -> None:
    groups: set[tuple[str, str]] = set()
    controls: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, SeasonPlan):
            groups.update(_plan_groups(session, obj))
            continue
        if not isinstance(obj, DemoPlot):
            continue
        histories = {name: get_history(obj, name) for name in _COLUMNS}
        gone = obj in session.deleted
        if obj not in session.new and not gone and not any(h.has_changes() for h in histories.values()):
            continue
        # a deleted plot's row is gone: its values are those loaded (an unloaded one cannot be read now)
        loaded = inspect(obj).dict
        now = {name: loaded.get(name) if gone else getattr(obj, name)
               for name in ("season", "county_code", "control_plot_id")}
        seasons = {now["season"], *histories["season"].deleted}
        counties = {now["county_code"], *histories["county_code"].deleted}
        groups.update((s, c) for s in seasons for c in counties if s and c)
        controls.update(c for c in (now["control_plot_id"], *histories["control_plot_id"].deleted) if c)
    if not groups and not controls:
        return
    conn = session.connection()
    if not has_tables(conn):
        return
    if controls:
        groups |= _groups_of(conn, controls)
    deferred = session.info.get(DEFERRED_COUNTIES)
    if deferred is not None:  # a sync batch: once at its end, with its plots' figures (catalog.deferred_logs)
        deferred.update(groups)
        return
    refresh_counties(conn, groups)


def _plan_groups(session: Session, plan: SeasonPlan) -> set[tuple[str, str]]:
    """The (season, county) pairs a plan written in this flush was and is for; none when it did not change."""
    histories = {name: get_history(plan, name) for name in _PLAN_COLUMNS}
    gone = plan in session.deleted
    if plan not in session.new and not gone and not any(h.has_changes() for h in histories.values()):
        return set()
    loaded = inspect(plan).dict
    seasons = {loaded.get("season") if gone else plan.season, *histories["season"].deleted}
    counties = {loaded.get("county_code") if gone else plan.county_code, *histories["county_code"].deleted}
    return {(s, c) for s in seasons for c in counties if s and c}
