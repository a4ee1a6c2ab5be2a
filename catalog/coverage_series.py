"""Progress over time: a scope's demo plots, their area and the plots with an approved yield, season by season.

The same figures as ``catalog.coverage.coverage(...).scope`` (plots of the season, not deleted, not serving as a
control plot; a site's plots are those of its counties or, for a park, those that name it), but for many seasons in
one grouped query: for a division over its counties' kept totals (``catalog.county_totals``), for a site over the
plots and their figures (``catalog.plot_figures``: a plot has an approved measurement when its figure counts one),
so the dashboard's chart over eight seasons reads no measurement row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from catalog.county_totals import CountyTotal
from catalog.coverage import SITE_KINDS_WITH_COUNTIES, Coverage, Scope, _prefixed, site_divisions
from catalog.field import DemoPlot, is_control_plot
from catalog.plot_figures import PlotFigure
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


def season_series(session: Session, scope: Scope, seasons: list[str], cov: Coverage | None = None
                  ) -> list[SeasonFigures]:
    """The figures of ``scope`` (from ``catalog.coverage.resolve_scope``) in each of ``seasons``, in that order.
    ``cov``: the scope's coverage of one of the seasons, whose figures it takes instead of counting them again."""
    out = {s: SeasonFigures(s) for s in seasons}
    known = cov.season if cov is not None and cov.scope.code == scope.code and cov.season in out else None
    if cov is not None and known is not None:
        out[known] = SeasonFigures(known, cov.scope.plots, cov.scope.plot_area_m2, cov.scope.measured_plots)
    rest = [s for s in seasons if s != known]
    if not rest:
        return [out[s] for s in seasons]
    if scope.site is None:  # a division: its counties' kept totals (catalog.county_totals)
        t = CountyTotal
        q = select(t.season, func.sum(t.plots), func.sum(t.area_m2), func.sum(t.figured)).where(t.season.in_(rest))
        if scope.prefix:
            q = q.where(_prefixed(t.county_code, scope.prefix))
        for season, n, area, n_measured in session.connection().execute(q.group_by(t.season)):
            out[season] = SeasonFigures(season, int(n), float(area or 0.0), int(n_measured))
        return [out[s] for s in seasons]
    counties = site_divisions(session, scope.code) if scope.site.kind in SITE_KINDS_WITH_COUNTIES else []
    where = [DemoPlot.deleted.is_(False), ~is_control_plot(), DemoPlot.season.in_(rest),
             or_(DemoPlot.site_id == scope.code, DemoPlot.county_code.in_(counties)) if counties
             else DemoPlot.site_id == scope.code]
    measured = func.coalesce(func.sum(case((PlotFigure.approved > 0, 1), else_=0)), 0)
    for season, n, area, n_measured in session.connection().execute(
            select(DemoPlot.season, func.count(), func.coalesce(func.sum(DemoPlot.area_m2), 0.0), measured)
            .outerjoin(PlotFigure, PlotFigure.plot_id == DemoPlot.id)
            .where(*where).group_by(DemoPlot.season)):
        out[season].plots, out[season].area_m2 = int(n), float(area or 0.0)
        out[season].measured_plots = int(n_measured)
    return [out[s] for s in seasons]
