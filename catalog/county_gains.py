"""Each county's measured plots for a season, kept: one row per (season, county, park, demo type, crop, baseline type)
in ``county_gain``.

A division's coverage (``catalog.coverage``) reads, of every plot of the season with an approved measurement, its
best one (``catalog.plot_figures``): which review level it stands on, its yield and gain weighted by the plot's
area, and whether it came by the county plan's deadline (completeness). Read at view time that is a join of every
such plot with its figure and its county's plan (a national view: 50,000 plots, the costliest statement of the
dashboard); kept here it is a sum over the rows of a few thousand counties.

The rows count the plots as the coverage does (not deleted, not serving as a control plot). Besides the plots and
figures they read the county's plan — whether there is one, and its deadline — so a plan written, moved or deleted
recomputes its (season, county) too (``catalog.county_refresh``), as a plot or a figure does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Float, Index, Integer, String, and_, case, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from catalog import county_totals  # the module: it may be importing this one (via plot_figures)
from catalog.db import Base
from catalog.field import LEVELS, DemoPlot, is_control_plot
from catalog.plot_figures import PlotFigure
from catalog.seasons import SeasonPlan


class CountyGain(Base):
    __tablename__ = "county_gain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    season: Mapped[str] = mapped_column(String(32))
    county_code: Mapped[str] = mapped_column(String(6))
    site_id: Mapped[str | None] = mapped_column(String(32))  # the park the plots name (None: none)
    demo_type: Mapped[str] = mapped_column(String(16))
    crop: Mapped[str] = mapped_column(String(32))
    baseline_type: Mapped[str | None] = mapped_column(String(16))  # of the plots' best measurements
    plots: Mapped[int] = mapped_column(Integer)  # plots with an approved measurement
    # of them, those whose best measurement stands on each review level (catalog.field.LEVELS)
    level_county: Mapped[int] = mapped_column(Integer)
    level_city: Mapped[int] = mapped_column(Integer)
    level_province: Mapped[int] = mapped_column(Integer)
    level_ministry: Mapped[int] = mapped_column(Integer)
    gain_plots: Mapped[int] = mapped_column(Integer)  # … with a yield gain
    gain_area_m2: Mapped[float] = mapped_column(Float)  # their area
    gain_weighted: Mapped[float] = mapped_column(Float)  # Σ area × gain %
    yield_weighted: Mapped[float] = mapped_column(Float)  # Σ area × kg/亩, of the plots with a yield
    yield_area_m2: Mapped[float] = mapped_column(Float)  # their area
    planned: Mapped[int] = mapped_column(Integer)  # plots in a county with a plan for the season
    on_time: Mapped[int] = mapped_column(Integer)  # … first approved by the plan's deadline
    late: Mapped[int] = mapped_column(Integer)  # … after it (or with no first day)


Index("ix_county_gain_season_county", CountyGain.season, CountyGain.county_code)

LEVEL_COLUMNS = tuple(f"level_{lv}" for lv in LEVELS)
FIGURES = ("gain_plots", "gain_area_m2", "gain_weighted", "yield_weighted", "yield_area_m2")
_COLUMNS = ["season", "county_code", "site_id", "demo_type", "crop", "baseline_type", "plots", *LEVEL_COLUMNS,
            *FIGURES, "planned", "on_time", "late"]


def measured(*keys: Any) -> Any:
    """SELECT ``keys`` and the figures of a ``county_gain`` row — the plots, by review level, ``FIGURES``, planned,
    on time, late — over the plots' best approved measurements (``plot_figure``) joined with their plots and their
    counties' plans for the season; the caller adds its filters and groups by ``keys``. Also the live query of the
    views that read the plots themselves (``catalog.coverage``: a site, a county)."""
    p, f, plan = DemoPlot, PlotFigure, SeasonPlan
    area = func.coalesce(p.area_m2, 0.0)
    with_gain = f.gain_pct.is_not(None)
    with_yield = f.yield_kg_per_mu.is_not(None)

    def total(value: Any, when: Any, zero: Any) -> Any:
        return func.coalesce(func.sum(case((when, value), else_=zero)), zero)

    return (select(*keys, func.count(),
                   *(total(1, f.level == lv, 0) for lv in LEVELS),
                   total(1, with_gain, 0), total(area, with_gain, 0.0), total(area * f.gain_pct, with_gain, 0.0),
                   total(area * f.yield_kg_per_mu, with_yield, 0.0), total(area, with_yield, 0.0),
                   total(1, plan.id.is_not(None), 0),
                   total(1, and_(plan.deadline.is_not(None), f.first_on <= plan.deadline), 0),
                   total(1, and_(plan.deadline.is_not(None),
                                 or_(f.first_on.is_(None), f.first_on > plan.deadline)), 0))
            .select_from(f).join(p, p.id == f.plot_id)
            .outerjoin(plan, and_(plan.county_code == p.county_code, plan.season == p.season))
            .where(f.approved > 0))


def gains_query(season: Any = None, counties: Any = None) -> Any:
    """SELECT of the ``county_gain`` rows computed from the plots, their figures and the plans (of ``season`` and
    ``counties``, values or ``county_totals.SEASON`` and ``COUNTIES``; None: all)."""
    p = DemoPlot
    where: list[Any] = [p.deleted.is_(False), ~is_control_plot()]
    if season is not None:
        where.append(p.season == season)
    if counties is not None:
        where.append(p.county_code.in_(counties))
    keys = (p.season, p.county_code, p.site_id, p.demo_type, p.crop, PlotFigure.baseline_type)
    return measured(*keys).where(*where).group_by(*keys)


def refresh_gains(conn: Connection, groups: Iterable[tuple[str, str]] | None = None) -> None:
    """Recompute the rows of ``groups`` ((season, county) pairs; None: every one), in SQL."""
    county_totals.refresh_rows(conn, CountyGain.__table__, _COLUMNS, gains_query, groups)
