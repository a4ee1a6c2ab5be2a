"""Implausible yields, kept: the plots whose best approved yield lies outside their county's far-out fences for the
crop (``catalog.gaps``), one row per plot in ``implausible_yield``.

The fences of a (season, county, crop) are Q1 − 3·IQR … Q3 + 3·IQR of the best approved yields (``plot_figure``)
of the county's variety demo plots of that crop in the season (not deleted, not serving as a control plot), judged
only where there are at least :data:`MIN_FOR_FENCES` of them; the quartiles are the largest value of the first and
third quarter (``NTILE(4)``). Computing them at read time sorts every plot of the season (a national view: 45,000
rows through a window sort, the costliest query of the dashboard); a county's fences move only when one of its
plots or their figures changes, so they are recomputed then, for that (season, county), and read as a few rows.

What recomputes a (season, county), with its totals (``catalog.county_totals``), is ``catalog.county_refresh``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import Float, Index, String, Table, and_, case, delete, func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from catalog import county_totals  # the module: it may be importing this one (via plot_figures)
from catalog.db import Base
from catalog.field import DemoPlot, is_control_plot
from catalog.plot_figures import PlotFigure

MIN_FOR_FENCES = 8
FENCE_K = 3.0


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


def outlier_query(season: Any = None, counties: Any = None) -> Any:
    """SELECT (plot, season, county, crop, yield, low, high) of the plots outside their fences, computed from the
    figures: of ``season`` and ``counties`` (values or ``county_totals.SEASON`` and ``COUNTIES``; None: all)."""
    f, p = PlotFigure, DemoPlot
    where: list[Any] = [f.approved > 0, f.yield_kg_per_mu.is_not(None), p.demo_type == "variety",
                        p.deleted.is_(False),
                        ~is_control_plot()]
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
    query, remove = _chunk_statements()
    for season, chunk in county_totals.season_chunks(groups):
        params = county_totals.chunk_params(season, chunk)
        rows = [dict(zip(_COLUMNS, r, strict=True)) for r in conn.execute(query, params)]
        conn.execute(remove, params)
        if rows:  # a plot moved here from a county not recomputed must not keep its old row
            conn.execute(delete(table).where(table.c.plot_id.in_([r["plot_id"] for r in rows])))
            conn.execute(insert(table), rows)


@cache
def _chunk_statements() -> tuple[Any, Any]:
    table = _table()
    season, counties = county_totals.SEASON, county_totals.COUNTIES
    return (outlier_query(season, counties),
            delete(table).where(table.c.season == season, table.c.county_code.in_(counties)))
