"""Each plot's figure: its highest approved yield measurement, kept in one row per plot (``plot_figure``).

A plot's figure is its **highest approved** measurement, in the order of :data:`catalog.review.BEST_ORDER`
(ministry > province > city > county; at one level 实收 before 理论, then the latest), with the day of its first
approved measurement (for completeness: on time or late) and how many measurements, and approved ones, it has.
The coverage figures (``catalog.coverage``) read these rows — one per plot instead of ten measurements per plot —
so a national view over a million measurements stays a few grouped queries.

The rows follow the measurements in the same transaction: a flush hook recomputes the rows of every plot whose
measurements were inserted, changed or deleted through a Session (approval, sync, import, seed all write that way).
A bulk write that bypasses the ORM (``insert()``/``update()`` on ``yield_measurement``) must call
:func:`refresh_plot_figures` for the plots it touched (or for all of them); it recomputes their counties' totals
and implausible yields too (``catalog.county_refresh``, which read the figures). A process whose database has no
``plot_figure`` table (the field kit's local store) is left alone.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Date, Float, Integer, String, Table, case, delete, event, func, insert, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from catalog.db import Base
from catalog.field import YieldMeasurement
from catalog.review import BEST_ORDER

_CHUNK = 500


class PlotFigure(Base):
    __tablename__ = "plot_figure"

    plot_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    measurements: Mapped[int] = mapped_column(Integer, default=0)  # not deleted
    approved: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[str | None] = mapped_column(String(16))           # of the best approved measurement
    method: Mapped[str | None] = mapped_column(String(16))
    yield_kg_per_mu: Mapped[float | None] = mapped_column(Float)
    gain_pct: Mapped[float | None] = mapped_column(Float)
    baseline_type: Mapped[str | None] = mapped_column(String(16))
    measured_on: Mapped[dt.date | None] = mapped_column(Date)
    first_on: Mapped[dt.date | None] = mapped_column(Date)          # the first approved measurement's day


def figure_query(plot_ids: Iterable[str] | None = None) -> Any:
    """SELECT of the ``plot_figure`` rows computed from ``yield_measurement`` (of ``plot_ids``, or every plot).

    One pass over the measurements: each plot's counts are window aggregates over its rows, and its best approved
    one (review's order, approved rows first) is the row kept. Not a join of the counts with
    ``best_approved_query``: without statistics (a new SQLite file, a bulk load not yet analysed) SQLite scanned
    the best rows once per plot — ten minutes for 20,000 plots, hours at 100,000."""
    y = YieldMeasurement
    approved = y.review_state == "approved"
    where: list[Any] = [y.deleted.is_(False)]
    if plot_ids is not None:
        where.append(y.plot_id.in_(list(plot_ids)))
    ranked = select(
        y.plot_id.label("plot_id"), func.count().over(partition_by=y.plot_id).label("n"),
        func.sum(case((approved, 1), else_=0)).over(partition_by=y.plot_id).label("n_approved"),
        *(case((approved, col)).label(col.key) for col in (
            y.level, y.method, y.yield_kg_per_mu, y.gain_pct, y.baseline_type, y.measured_on)),
        func.min(case((approved, y.measured_on))).over(partition_by=y.plot_id).label("first_on"),
        func.row_number().over(partition_by=y.plot_id,
                               order_by=(case((approved, 0), else_=1), *BEST_ORDER)).label("rn"),
    ).where(*where).subquery("ranked")
    return select(*(c for c in ranked.c if c.name != "rn")).where(ranked.c.rn == 1)


_COLUMNS = ["plot_id", "measurements", "approved", "level", "method", "yield_kg_per_mu", "gain_pct",
            "baseline_type", "measured_on", "first_on"]


def refresh_plot_figures(conn: Connection | Session, plot_ids: Iterable[str] | None = None,
                         also: Iterable[tuple[str, str]] = ()) -> None:
    """Recompute the figures of ``plot_ids`` (None: every plot) from their measurements, in SQL, then the rows
    of their (season, county) pairs and of the pairs ``also``."""
    bind = conn.connection() if isinstance(conn, Session) else conn
    table = PlotFigure.__table__
    assert isinstance(table, Table)
    if plot_ids is None:
        county_refresh.lock_counties(bind, None)
        bind.execute(delete(table))
        bind.execute(insert(table).from_select(_COLUMNS, figure_query()))
        county_refresh.refresh_counties(bind)
        return
    ids = sorted(set(plot_ids))
    # before reading: a concurrent writer's commit is then seen
    groups = county_refresh.lock_for_plots(bind, ids, also)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        bind.execute(delete(table).where(table.c.plot_id.in_(chunk)))
        bind.execute(insert(table).from_select(_COLUMNS, figure_query(chunk)))
    # the counties' totals and fences move with their figures (their locks taken above)
    county_refresh.refresh_counties(bind, groups, locked=True)


_HAS_TABLE: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()
# A set here (``catalog.deferred_logs``): the plots of each flush wait in it, refreshed once at the batch's end.
DEFERRED_FIGURES = "yx_plot_figures_deferred"


def _has_table(conn: Connection) -> bool:
    engine = conn.engine
    known = _HAS_TABLE.get(engine)
    if known is None:
        known = _HAS_TABLE[engine] = inspect(conn).has_table("plot_figure")
    return known


@event.listens_for(Session, "after_flush")
def _follow_measurements(session: Session, _flush_context: Any) -> None:
    plots: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, YieldMeasurement):
            if obj.plot_id:
                plots.add(obj.plot_id)
            plots.update(p for p in get_history(obj, "plot_id").deleted if p)  # a measurement moved to another plot
    if not plots:
        return
    deferred = session.info.get(DEFERRED_FIGURES)
    if deferred is not None:
        deferred.update(plots)
        return
    follow(session, plots)


def follow(session: Session, plots: Iterable[str], also: Iterable[tuple[str, str]] = ()) -> None:
    """Refresh the figures of ``plots`` (and the county rows of theirs and of ``also``) in the session's
    transaction, where the database keeps them."""
    conn = session.connection()
    if _has_table(conn):
        refresh_plot_figures(conn, plots, also)


# Last: the counties' rows read the figures (and import this module). Imported with it, not at the first refresh,
# so that their flush hook is registered before any flush (a hook added during a flush's dispatch breaks it).
from catalog import county_refresh  # noqa: E402
