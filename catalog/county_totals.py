"""Each county's plot totals for a season, kept: one row per (season, county, park) in ``county_total``.

A division's coverage (``catalog.coverage``) and its chart over the seasons (``catalog.coverage_series``) add up
its counties' demo plots — how many, their area (variety and land-quality demos), their measurements, the approved
ones, and the plots with an approved measurement. Counted at read time that is a join of every plot of the season
with its figure (a national view: 50,000 plots, twice); kept here it is a sum over a few thousand rows.

The rows count the plots as the coverage does (not deleted, not serving as a control plot), with their figures
(``catalog.plot_figures``), split by the park a plot names (``site_id``, None for none) so a park's figures stay
apart. They are recomputed, per (season, county), with the implausible yields (``catalog.county_refresh``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Table, bindparam, case, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base
from catalog.field import DemoPlot, is_control_plot
from catalog.plot_figures import PlotFigure

_CHUNK = 500
# A push batch refreshes its counties' rows: their statements are built once, with the season and the counties as
# parameters — building one per batch cost more than running it (SQLAlchemy caches only the compilation).
SEASON = bindparam("yx_season")
COUNTIES = bindparam("yx_counties", expanding=True)


class CountyTotal(Base):
    __tablename__ = "county_total"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    season: Mapped[str] = mapped_column(String(32))
    county_code: Mapped[str] = mapped_column(String(6))
    site_id: Mapped[str | None] = mapped_column(String(32))  # the park the plots name (None: none)
    plots: Mapped[int] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float)
    land_plots: Mapped[int] = mapped_column(Integer)
    land_area_m2: Mapped[float] = mapped_column(Float)
    variety_area_m2: Mapped[float] = mapped_column(Float)
    measurements: Mapped[int] = mapped_column(Integer)
    approved: Mapped[int] = mapped_column(Integer)  # approved measurements
    figured: Mapped[int] = mapped_column(Integer)   # plots with an approved measurement


Index("ix_county_total_season_county", CountyTotal.season, CountyTotal.county_code)

_COLUMNS = ["season", "county_code", "site_id", "plots", "area_m2", "land_plots", "land_area_m2", "variety_area_m2",
            "measurements", "approved", "figured"]


def totals_query(season: Any = None, counties: Any = None) -> Any:
    """SELECT of the ``county_total`` rows computed from the plots and their figures (of ``season`` and
    ``counties``, values or :data:`SEASON` and :data:`COUNTIES`; None: all)."""
    p, f = DemoPlot, PlotFigure
    where: list[Any] = [p.deleted.is_(False),
                        ~is_control_plot()]
    if season is not None:
        where.append(p.season == season)
    if counties is not None:
        where.append(p.county_code.in_(counties))
    is_land = p.demo_type == "land_quality"
    return (select(p.season, p.county_code, p.site_id, func.count(), func.coalesce(func.sum(p.area_m2), 0.0),
                   func.coalesce(func.sum(case((is_land, 1), else_=0)), 0),
                   func.coalesce(func.sum(case((is_land, p.area_m2), else_=0.0)), 0.0),
                   func.coalesce(func.sum(case((is_land, 0.0), else_=p.area_m2)), 0.0),
                   func.coalesce(func.sum(f.measurements), 0), func.coalesce(func.sum(f.approved), 0),
                   func.coalesce(func.sum(case((f.approved > 0, 1), else_=0)), 0))
            .outerjoin(f, f.plot_id == p.id).where(*where)
            .group_by(p.season, p.county_code, p.site_id))


def refresh_totals(conn: Connection, groups: Iterable[tuple[str, str]] | None = None) -> None:
    """Recompute the totals of ``groups`` ((season, county) pairs; None: every one), in SQL."""
    refresh_rows(conn, CountyTotal.__table__, _COLUMNS, totals_query, groups)


def refresh_rows(conn: Connection, table: Any, columns: list[str], query: Callable[..., Any],
                 groups: Iterable[tuple[str, str]] | None) -> None:
    """Replace the rows of ``table`` of ``groups`` ((season, county) pairs; None: every one) with those
    ``query(season, counties)`` selects into ``columns``."""
    assert isinstance(table, Table)
    if groups is None:
        conn.execute(delete(table))
        conn.execute(insert(table).from_select(columns, query()))
        return
    remove, add = _chunk_statements(table, tuple(columns), query)
    for season, chunk in season_chunks(groups):
        conn.execute(remove, chunk_params(season, chunk))
        conn.execute(add, chunk_params(season, chunk))


@cache
def _chunk_statements(table: Table, columns: tuple[str, ...], query: Callable[..., Any]) -> tuple[Any, Any]:
    return (delete(table).where(table.c.season == SEASON, table.c.county_code.in_(COUNTIES)),
            insert(table).from_select(list(columns), query(SEASON, COUNTIES)))


def chunk_params(season: str, counties: list[str]) -> dict[str, Any]:
    """The values of :data:`SEASON` and :data:`COUNTIES`."""
    return {"yx_season": season, "yx_counties": counties}


def season_chunks(groups: Iterable[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """(season, up to 500 of its counties, in order) for the (season, county) pairs of ``groups``."""
    by_season: dict[str, set[str]] = defaultdict(set)
    for season, county in groups:
        if season and county:
            by_season[season].add(county)
    for season, counties in sorted(by_season.items()):
        ordered = sorted(counties)
        for i in range(0, len(ordered), _CHUNK):
            yield season, ordered[i:i + _CHUNK]
