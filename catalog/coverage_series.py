"""Progress over time: a scope's demo plots, their area and the plots with an approved yield, season by season.

The same figures as ``catalog.coverage.coverage(...).scope`` (plots of the season, not deleted, not serving as a
control plot; a site's plots are those of its counties or, for a park, those that name it), but for many seasons in
two grouped queries, so the dashboard's chart over eight seasons costs what one season's figures cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from catalog.coverage import SITE_KINDS_WITH_COUNTIES, Scope, _is_control, site_divisions
from catalog.field import DemoPlot, YieldMeasurement
from gis.area import M2_PER_MU


@dataclass
class SeasonFigures:
    season: str
    plots: int = 0
    area_m2: float = 0.0
    measured_plots: int = 0  # plots with an approved yield measurement

    @property
    def area_mu(self) -> float:
        return self.area_m2 / M2_PER_MU


def season_series(session: Session, scope: Scope, seasons: list[str]) -> list[SeasonFigures]:
    """The figures of ``scope`` (from ``catalog.coverage.resolve_scope``) in each of ``seasons``, in that order."""
    where = [DemoPlot.deleted.is_(False), ~_is_control(), DemoPlot.season.in_(seasons)]
    if scope.site is not None:
        counties = site_divisions(session, scope.code) if scope.site.kind in SITE_KINDS_WITH_COUNTIES else []
        where.append(or_(DemoPlot.site_id == scope.code, DemoPlot.county_code.in_(counties)) if counties
                     else DemoPlot.site_id == scope.code)
    elif scope.prefix:
        where.append(DemoPlot.county_code.startswith(scope.prefix) if len(scope.prefix) < 6
                     else DemoPlot.county_code == scope.prefix)
    out = {s: SeasonFigures(s) for s in seasons}
    for season, n, area in session.connection().execute(
            select(DemoPlot.season, func.count(), func.coalesce(func.sum(DemoPlot.area_m2), 0.0))
            .where(*where).group_by(DemoPlot.season)):
        out[season].plots, out[season].area_m2 = int(n), float(area or 0.0)
    for season, n in session.connection().execute(
            select(DemoPlot.season, func.count(distinct(YieldMeasurement.plot_id)))
            .join(DemoPlot, DemoPlot.id == YieldMeasurement.plot_id)
            .where(YieldMeasurement.review_state == "approved", YieldMeasurement.deleted.is_(False), *where)
            .group_by(DemoPlot.season)):
        out[season].measured_plots = int(n)
    return [out[s] for s in seasons]
