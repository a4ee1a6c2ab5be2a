"""Implausible yields, kept: the plots whose best approved yield lies outside their county's far-out fences for the
crop (``catalog.gaps``), one row per plot in ``implausible_yield``.

The fences of a (season, county, crop) are Q1 − 3·IQR … Q3 + 3·IQR of the best approved yields (``plot_figure``)
of the county's variety demo plots of that crop in the season (not deleted, not serving as a control plot), judged
only where there are at least :data:`MIN_FOR_FENCES` of them; the quartiles are the largest value of the first and
third quarter (``NTILE(4)``). Computing them at read time sorts every plot of the season (a national view: 45,000
rows through a window sort, the costliest query of the dashboard); a county's fences move only when one of its
plots or their figures changes, so they are recomputed then, for that (season, county), and read as a few rows.

What recomputes a (season, county):

- :func:`catalog.plot_figures.refresh_plot_figures` — the counties of the plots whose figures it refreshed (every
  measurement written through a Session, and the bulk writers that call it);
- a flush hook on demo plots — a plot added, deleted, or whose season, county, crop, demo type or control plot
  changed: its old and new (season, county), and those of the control plots it names or named.

A recomputation reads only ``plot_figure`` and ``demo_plot``; in a batch whose figures wait
(``catalog.deferred_logs``) a county recomputed early is recomputed again when the figures are written.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Float, Index, String, Table, and_, case, delete, event, func, insert, inspect, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from catalog.db import Base
from catalog.field import DemoPlot
from catalog.plot_figures import PlotFigure

MIN_FOR_FENCES = 8
FENCE_K = 3.0
_CHUNK = 500
# the plot columns a plot's fences depend on (besides its figure)
_FENCE_COLUMNS = ("season", "county_code", "crop", "demo_type", "deleted", "control_plot_id")


class ImplausibleYield(Base):
    __tablename__ = "implausible_yield"

    plot_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    season: Mapped[str] = mapped_column(String(32))
    county_code: Mapped[str] = mapped_column(String(6))
    crop: Mapped[str] = mapped_column(String(32))
    yield_kg_per_mu: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)   # the fences of the plot's (season, county, crop)
    high: Mapped[float] = mapped_column(Float)


Index("ix_implausible_yield_season_county", ImplausibleYield.season, ImplausibleYield.county_code)

_COLUMNS = ["plot_id", "season", "county_code", "crop", "yield_kg_per_mu", "low", "high"]


def outlier_query(season: str | None = None, counties: list[str] | None = None) -> Any:
    """SELECT (plot, season, county, crop, yield, low, high) of the plots outside their fences, computed from the
    figures: of ``season`` and ``counties`` (None: all)."""
    f, p = PlotFigure, DemoPlot
    control = DemoPlot.__table__.alias("control_of")
    where: list[Any] = [f.approved > 0, f.yield_kg_per_mu.is_not(None), p.demo_type == "variety",
                        p.deleted.is_(False),
                        p.id.not_in(select(control.c.control_plot_id).where(control.c.control_plot_id.is_not(None),
                                                                            control.c.deleted.is_(False)))]
    if season is not None:
        where.append(p.season == season)
    if counties is not None:
        where.append(p.county_code.in_(counties))
    group = (p.season, p.county_code, p.crop)
    ranked = (select(f.plot_id, f.yield_kg_per_mu.label("y"), p.season.label("season"),
                     p.county_code.label("county"), p.crop.label("crop"),
                     func.ntile(4).over(partition_by=group, order_by=f.yield_kg_per_mu).label("quarter"),
                     func.count().over(partition_by=group).label("n"))
              .select_from(f).join(p, p.id == f.plot_id).where(*where)
              .cte("ranked"))  # read twice (fences, then the plots outside them): a CTE computes it once
    fences = (select(ranked.c.season, ranked.c.county, ranked.c.crop,
                     func.max(case((ranked.c.quarter == 1, ranked.c.y))).label("q1"),
                     func.max(case((ranked.c.quarter == 3, ranked.c.y))).label("q3"))
              .where(ranked.c.n >= MIN_FOR_FENCES)
              .group_by(ranked.c.season, ranked.c.county, ranked.c.crop).subquery("fences"))
    iqr = fences.c.q3 - fences.c.q1
    low, high = fences.c.q1 - FENCE_K * iqr, fences.c.q3 + FENCE_K * iqr
    return (select(ranked.c.plot_id, ranked.c.season, ranked.c.county, ranked.c.crop, ranked.c.y,
                   low.label("low"), high.label("high"))
            .join(fences, and_(fences.c.season == ranked.c.season, fences.c.county == ranked.c.county,
                               fences.c.crop == ranked.c.crop))
            .where(or_(ranked.c.y < low, ranked.c.y > high)))


def _table() -> Table:
    table = ImplausibleYield.__table__
    assert isinstance(table, Table)
    return table


def refresh_outliers(conn: Connection, groups: Iterable[tuple[str, str]] | None = None) -> None:
    """Recompute the implausible yields of ``groups`` ((season, county) pairs; None: every one), in SQL."""
    table = _table()
    if groups is None:
        conn.execute(delete(table))
        conn.execute(insert(table).from_select(_COLUMNS, outlier_query()))
        return
    by_season: dict[str, set[str]] = defaultdict(set)
    for season, county in groups:
        if season and county:
            by_season[season].add(county)
    for season, counties in sorted(by_season.items()):
        ordered = sorted(counties)
        for i in range(0, len(ordered), _CHUNK):
            chunk = ordered[i:i + _CHUNK]
            rows = [dict(zip(_COLUMNS, r, strict=True)) for r in conn.execute(outlier_query(season, chunk))]
            conn.execute(delete(table).where(table.c.season == season, table.c.county_code.in_(chunk)))
            if rows:  # a plot moved here from a county not recomputed must not keep its old row
                conn.execute(delete(table).where(table.c.plot_id.in_([r["plot_id"] for r in rows])))
                conn.execute(insert(table), rows)


def refresh_for_plots(conn: Connection, plot_ids: list[str]) -> None:
    """Recompute the (season, county) of each of ``plot_ids`` (where the database keeps implausible yields)."""
    if not plot_ids or not has_table(conn):
        return
    groups: set[tuple[str, str]] = set()
    for i in range(0, len(plot_ids), _CHUNK):
        groups.update((s, c) for s, c in conn.execute(
            select(DemoPlot.season, DemoPlot.county_code).where(DemoPlot.id.in_(plot_ids[i:i + _CHUNK]))
            .distinct()))
    refresh_outliers(conn, groups)


_HAS_TABLE: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def has_table(conn: Connection) -> bool:
    """Whether the database keeps them (the field kit's local store does not)."""
    known = _HAS_TABLE.get(conn.engine)
    if known is None:
        known = _HAS_TABLE[conn.engine] = inspect(conn).has_table("implausible_yield")
    return known


@event.listens_for(Session, "after_flush")
def _follow_plots(session: Session, _flush_context: Any) -> None:
    groups: set[tuple[str, str]] = set()
    controls: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, DemoPlot):
            continue
        histories = {name: get_history(obj, name) for name in _FENCE_COLUMNS}
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
    if not has_table(conn):
        return
    ids = sorted(controls)
    for i in range(0, len(ids), _CHUNK):
        groups.update((s, c) for s, c in conn.execute(
            select(DemoPlot.season, DemoPlot.county_code).where(DemoPlot.id.in_(ids[i:i + _CHUNK])).distinct()))
    refresh_outliers(conn, groups)
