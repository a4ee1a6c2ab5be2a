"""Where the action has not reached, for a scope and a season.

- **Sites without** a landed result (cumulative), a demo plot this season, or an approved yield measurement this
  season (active sites of the three lists placed in the scope).
- **Key assistance counties behind**: a key county (重点帮扶县) is *behind* when its completeness (plots with an
  approved measurement ÷ plots its plan expects) is below the median completeness of every county with a plan for
  the season (nationwide, so a province's counties are judged against the same bar), or when its plan's deadline
  has passed with fewer approved plots than planned; a key county with no plan for the season is listed as
  ``no_plan``.
- **Flagged plots**: plots of the season whose review flags say ``outside_county`` or ``overlaps`` (set when the
  plot was received, ``catalog.field_rules``), and plots whose best approved yield is **implausible** against its
  county's distribution for the crop: outside Q1 − 3·IQR … Q3 + 3·IQR of the county's best approved yields of
  that crop in the season (Tukey's far-out fences), judged only where the county has at least
  :data:`MIN_FOR_FENCES` such yields. The quartiles are taken in SQL as the largest value of the first and third
  quarter (``NTILE(4)``) — the lower quartile by the nearest-rank rule; they are kept per county as its plots
  change (``catalog.yield_outliers``), not sorted again for every view.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from catalog.county_totals import CountyTotal
from catalog.coverage import (
    Coverage,
    _plot_filter,
    coverage,
    resolve_scope,
)
from catalog.db import beijing_today
from catalog.divisions import ROOT
from catalog.field import DemoPlot
from catalog.seasons import SeasonPlan, parse_season
from catalog.sites import SiteDivision
from catalog.yield_outliers import FENCE_K, MIN_FOR_FENCES, ImplausibleYield

__all__ = ["FENCE_K", "MIN_FOR_FENCES", "gaps", "implausible_yields", "national_median_share"]

REVIEW_FLAGS = ("outside_county", "overlaps")
MAX_FLAGGED = 500


@dataclass
class SiteGap:
    site_id: str
    name: str
    kind: str
    province_code: str | None
    no_landed_result: bool
    no_demo_plot: bool
    no_yield: bool


@dataclass
class BehindCounty:
    site_id: str
    county_code: str
    name: str
    expected: int | None
    approved: int
    share: float | None
    deadline: dt.date | None
    reasons: list[str]  # below_median, deadline_passed, no_plan


@dataclass
class FlaggedPlot:
    plot_id: str
    name: str
    county_code: str
    crop: str
    flags: list[str]                       # outside_county, overlaps, implausible_yield
    yield_kg_per_mu: float | None = None
    fence: tuple[float, float] | None = None  # the county's plausible range for the crop (kg/亩)


@dataclass
class Gaps:
    scope: str
    season: str
    sites: list[SiteGap] = field(default_factory=list)
    behind: list[BehindCounty] = field(default_factory=list)
    median_share: float | None = None      # the national median completeness the counties are judged against
    flagged: list[FlaggedPlot] = field(default_factory=list)
    flagged_total: int = 0                 # before the list's cap (MAX_FLAGGED)


def national_median_share(session: Session, season: str, figured: dict[str, int] | None = None) -> float | None:
    """The median completeness of the counties that have a plan for ``season`` (approved plots ÷ expected).
    ``figured``: the plots with an approved measurement of every county, when the caller has them (the national
    coverage's ``county_figured``), instead of counting them again."""
    if figured is None:  # from the counties' kept totals (catalog.county_totals)
        t = CountyTotal
        figured = {county: int(n) for county, n in session.connection().execute(
            select(t.county_code, func.sum(t.figured)).where(t.season == season).group_by(t.county_code))}
    shares = [float(figured.get(county, 0)) / expected for county, expected in session.connection().execute(
        select(SeasonPlan.county_code, SeasonPlan.plots_expected)
        .where(SeasonPlan.season == season, SeasonPlan.plots_expected > 0))]
    return statistics.median(shares) if shares else None


def implausible_yields(session: Session, season: str, prefix: str = "") -> list[FlaggedPlot]:
    """Plots whose best approved yield lies outside their county's far-out fences for the crop (module doc), as
    ``catalog.yield_outliers`` keeps them."""
    o = ImplausibleYield
    where = [o.season == season]
    if prefix:
        where.append(o.county_code.startswith(prefix) if len(prefix) < 6 else o.county_code == prefix)
    rows = session.connection().execute(
        select(o.plot_id, DemoPlot.name, o.county_code, o.crop, o.yield_kg_per_mu, o.low, o.high)
        .join(DemoPlot, DemoPlot.id == o.plot_id).where(*where)
        .order_by(o.county_code, o.crop, o.plot_id))
    return [FlaggedPlot(pid, name, county, crop, ["implausible_yield"], float(y), (float(lo), float(hi)))
            for pid, name, county, crop, y, lo, hi in rows]


def _review_flagged(session: Session, season: str, prefix: str) -> list[FlaggedPlot]:
    flags_text = cast(DemoPlot.flags, Text)
    rows = session.connection().execute(
        select(DemoPlot.id, DemoPlot.name, DemoPlot.county_code, DemoPlot.crop, DemoPlot.flags)
        .where(*_plot_filter(season, prefix), flags_text.is_not(None), flags_text.not_in(("{}", "null")))
        .order_by(DemoPlot.county_code, DemoPlot.id))
    out = []
    for pid, name, county, crop, flags in rows:
        found = [f for f in REVIEW_FLAGS if f in (flags or {})]
        if found:
            out.append(FlaggedPlot(pid, name, county, crop, found))
    return out


def gaps(session: Session, scope: str | None, season: str, *, today: dt.date | None = None,
         cov: Coverage | None = None) -> Gaps:
    """The gaps of ``scope`` (a division code or the country; a site gives its own) for ``season`` (module doc).
    Pass ``cov`` (the coverage of the same scope and season, with its sites) to reuse it."""
    season = parse_season(season).key
    today = today or beijing_today()
    resolved = resolve_scope(session, scope)
    prefix = resolved.prefix
    if resolved.site is not None:
        prefix = resolved.site.place_code or (resolved.site.province_code or "")[:2]
    cov = cov or coverage(session, resolved.code, season, today=today, with_plots=False)
    out = Gaps(resolved.code, season)
    for s in cov.sites:
        gap = SiteGap(s.code, s.name, s.kind or "", s.province_code, s.results_landed == 0, s.plots == 0,
                      s.measured_plots == 0)
        if gap.no_landed_result or gap.no_demo_plot or gap.no_yield:
            out.sites.append(gap)

    national = resolved.code == ROOT and cov.county_figured is not None
    out.median_share = national_median_share(session, season, cov.county_figured if national else None)
    key_sites = [s for s in cov.sites if s.kind == "key_county"]
    if key_sites:
        counties = dict(session.connection().execute(select(SiteDivision.site_id, SiteDivision.division_code)
                                        .where(SiteDivision.site_id.in_([s.code for s in key_sites]))).all())
        plans = {c: (e, d) for c, e, d in session.connection().execute(
            select(SeasonPlan.county_code, SeasonPlan.plots_expected, SeasonPlan.deadline)
            .where(SeasonPlan.season == season, SeasonPlan.county_code.in_(list(counties.values()))))}
        for s in key_sites:
            county = counties.get(s.code, "")
            expected, deadline = plans.get(county, (None, None))
            approved = s.completeness.approved
            share = approved / expected if expected else None
            reasons = []
            if expected is None:
                reasons.append("no_plan")
            else:
                if share is not None and out.median_share is not None and share < out.median_share:
                    reasons.append("below_median")
                if deadline is not None and deadline < today and approved < expected:
                    reasons.append("deadline_passed")
            if reasons:
                out.behind.append(BehindCounty(s.code, county, s.name, expected, approved, share, deadline, reasons))
    flagged: dict[str, FlaggedPlot] = {f.plot_id: f for f in _review_flagged(session, season, prefix)}
    for f in implausible_yields(session, season, prefix):
        if f.plot_id in flagged:
            flagged[f.plot_id].flags.append("implausible_yield")
            flagged[f.plot_id].yield_kg_per_mu, flagged[f.plot_id].fence = f.yield_kg_per_mu, f.fence
        else:
            flagged[f.plot_id] = f
    ordered = sorted(flagged.values(), key=lambda f: (f.county_code, f.plot_id))
    out.flagged_total = len(ordered)
    out.flagged = ordered[:MAX_FLAGGED]
    return out

