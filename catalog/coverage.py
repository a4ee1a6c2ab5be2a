"""Coverage figures: how far the action has come, for any division (全国 → 省 → 市 → 县) or site, and one season.

Every figure is an SQL aggregate grouped by county (and by the park a plot belongs to), then rolled up the division
tree in Python: a county's figures add to its prefecture, province and the country. Nothing loads row by row, so a
national view over a million yield measurements costs a few grouped queries (``bench/coverage_bench.py``).

What each figure is (docs/guide.md has it in Chinese):

- **results matched / landed** — distinct results with an intent (``catalog.intents``) of a site in scope that is
  not dropped / that reached ``landed``; cumulative (a landed result stays landed). A site counts where it lies
  (its ``place_code``: a county, or the prefecture of a park).
- **demo plots and their area** — plots of the season, not deleted, not serving as another plot's control plot
  (对照田); area in m², shown in 亩; split into variety demos and land-quality core demos.
- **yield measurements** — all measurements of the season's plots, and the approved ones (``review_state ==
  'approved'``). A plot's figure is its *highest approved* measurement (ministry > province > city > county; at
  one level 实收 before 理论, then the latest): :func:`best_measurements`.
- **area-weighted yield gain by crop** — Σ(plot area × gain %) / Σ(plot area) over plots whose best approved
  measurement has a gain, per crop and baseline type (对照田 / CK / 县平均) — never mixed across baseline types
  unless stated (the target's headline pools them, each type beside it).
- **review levels** — how many plots' figures stand on each level (县级自测, 市级初测, 省级复测, 部级抽测).
- **land quality** — land-quality demo plots of the season by land scenario: area, and the area-weighted grade
  change (first evaluated grade − latest, GB/T 33469-2016, 1 best: positive means better) over plots with two or
  more graded soil samples.
- **events held** — matchmaking events that opened (state open or closed) and started by today, placed in the
  scope (a national event, with no place, counts for the country only); for a site: events it took part in.
- **needs open / met** — needs of sites in scope: open; matched (or closed with a result found).
- **completeness** — the county plans (``catalog.seasons.SeasonPlan``): plots expected versus plots with an
  approved measurement; *on time* when the plot's first approved measurement was measured by the plan's deadline,
  *late* otherwise. Counties without a plan add approved plots but no expectation.
- **extension / radiated area** — reported by counties (``catalog.seasons.ExtensionReport``), beside the walked
  area, never added into it.

Scoping: officers read the coverage of their own division (a province officer its province, and nothing above:
404 outside); :func:`ensure_scope_readable`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Index, and_, case, cast, func, literal, null, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Null

from catalog.access import OFFICER_ROLES, Actor
from catalog.county_gains import FIGURES as GAIN_FIGURES
from catalog.county_gains import LEVEL_COLUMNS, CountyGain, measured
from catalog.county_totals import CountyTotal
from catalog.db import beijing_today
from catalog.divisions import ROOT, Division
from catalog.errors import NotFound
from catalog.events import Event, EventSite
from catalog.field import LEVELS, DemoPlot, SoilSample, YieldMeasurement, is_control_plot
from catalog.intents import Intent
from catalog.needs import Need
from catalog.plot_figures import PlotFigure
from catalog.seasons import ExtensionReport, SeasonPlan, parse_season
from catalog.sites import Site, SiteDivision
from gis.area import M2_PER_MU

LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}  # county 0 < city 1 < province 2 < ministry 3
LEVEL_NAMES = {"county": ("县级自测", "County self-test"), "city": ("市级初测", "City test"),
               "province": ("省级复测", "Province re-test"), "ministry": ("部级抽测", "Ministry spot-check")}
BASELINE_NAMES = {"control_plot": ("对照田", "Control plot"), "check_variety": ("对照品种(CK)", "Check variety"),
                  "county_average": ("县平均", "County average")}
GRADE_SCALE = "GB/T 33469-2016"
SITE_KINDS_WITH_COUNTIES = ("innovation_county", "key_county")

# Indexes the coverage queries need (created in migrations 0008 and 0011): a season's plots by county with every
# column the grouped queries read (covering: the plots' wide rows are not read), each plot's figure likewise, a
# plot's measurements by review state with what the figures read, soil samples by plot, control plots.
Index("ix_demo_plot_coverage", DemoPlot.season, DemoPlot.county_code, DemoPlot.demo_type, DemoPlot.crop,
      DemoPlot.deleted, DemoPlot.id, DemoPlot.area_m2, DemoPlot.site_id, DemoPlot.land_scenario, DemoPlot.variety)
Index("ix_plot_figure_coverage", PlotFigure.plot_id, PlotFigure.approved, PlotFigure.measurements, PlotFigure.level,
      PlotFigure.baseline_type, PlotFigure.gain_pct, PlotFigure.yield_kg_per_mu, PlotFigure.first_on)
Index("ix_demo_plot_control_plot_id", DemoPlot.control_plot_id)
Index("ix_yield_measurement_plot_review", YieldMeasurement.plot_id, YieldMeasurement.review_state,
      YieldMeasurement.level)
Index("ix_intent_site_state", Intent.site_id, Intent.state)


# --------------------------------------------------------------------------------------------------- figures


@dataclass
class YieldGain:
    """Area-weighted yield and gain of one demo type's crop against one baseline type; ``baseline_type`` None:
    pooled over the types; ``crop`` None too: over every crop of the demo type."""

    demo_type: str                 # variety, land_quality
    crop: str | None
    baseline_type: str | None
    plots: int = 0                 # plots whose best approved measurement has a gain against this baseline
    area_m2: float = 0.0           # their area (the weights)
    gain_pct: float | None = None  # Σ(area × gain) / Σ(area)
    yield_kg_per_mu: float | None = None  # Σ(area × yield) / Σ(area)
    _gain_area: float = field(default=0.0, repr=False)
    _yield_area: float = field(default=0.0, repr=False)
    _yield_weight: float = field(default=0.0, repr=False)

    @property
    def area_mu(self) -> float:
        return self.area_m2 / M2_PER_MU

    def add(self, plots: int, area: float, gain_area: float, yield_area: float, yield_weight: float) -> None:
        self.plots += plots
        self.area_m2 += area
        self._gain_area += gain_area
        self._yield_area += yield_area
        self._yield_weight += yield_weight
        self.gain_pct = self._gain_area / self.area_m2 if self.area_m2 else None
        self.yield_kg_per_mu = self._yield_area / self._yield_weight if self._yield_weight else None


@dataclass
class LandFigure:
    """Land-quality core demo plots of one land scenario (None: no scenario recorded)."""

    land_scenario: str | None
    plots: int = 0
    area_m2: float = 0.0
    graded_plots: int = 0            # plots with two or more graded soil samples
    graded_area_m2: float = 0.0
    grade_change: float | None = None  # area-weighted (first grade − latest grade); +1 = up one grade
    _change_area: float = field(default=0.0, repr=False)

    @property
    def area_mu(self) -> float:
        return self.area_m2 / M2_PER_MU

    def add(self, plots: int, area: float, graded: int, graded_area: float, change_area: float) -> None:
        self.plots += plots
        self.area_m2 += area
        self.graded_plots += graded
        self.graded_area_m2 += graded_area
        self._change_area += change_area
        self.grade_change = self._change_area / self.graded_area_m2 if self.graded_area_m2 else None


@dataclass
class Completeness:
    """Plots expected by the plans versus plots with an approved yield measurement."""

    planned_counties: int = 0
    expected: int = 0                 # Σ plots_expected of the plans in scope
    expected_area_m2: float = 0.0
    approved: int = 0                 # plots with an approved measurement in counties with a plan
    on_time: int = 0                  # … whose first approved measurement was measured by the deadline
    late: int = 0
    deadline: dt.date | None = None   # the county's deadline (a county row); the latest one above

    @property
    def share(self) -> float | None:
        """approved / expected (may pass 1 when a county does more than it planned); None without a plan."""
        return self.approved / self.expected if self.expected else None

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.expected if self.expected else None


@dataclass
class CoverageRow:
    """The figures of one division or site for one season."""

    code: str                      # division code ("000000" for the country) or site id
    name: str
    level: str                     # country, province, prefecture, county, site
    kind: str | None = None        # a site's kind (park, innovation_county, key_county)
    province_code: str | None = None
    results_matched: int = 0
    results_landed: int = 0
    plots: int = 0
    plot_area_m2: float = 0.0
    variety_plots: int = 0
    variety_area_m2: float = 0.0
    land_plots: int = 0
    land_area_m2: float = 0.0
    measurements: int = 0          # every measurement of the season's plots
    approved_measurements: int = 0
    measured_plots: int = 0        # plots with an approved measurement
    review_levels: dict[str, int] = field(default_factory=dict)  # level → plots whose figure stands on it
    gains: list[YieldGain] = field(default_factory=list)  # by crop and baseline type, then pooled (None)
    land: list[LandFigure] = field(default_factory=list)
    events_held: int = 0
    needs_open: int = 0
    needs_met: int = 0
    completeness: Completeness = field(default_factory=Completeness)
    extension_area_m2: float = 0.0  # reported 品种推广面积
    radiated_area_m2: float = 0.0   # reported 耕地质量提升辐射面积

    @property
    def plot_area_mu(self) -> float:
        return self.plot_area_m2 / M2_PER_MU

    @property
    def variety_area_mu(self) -> float:
        return self.variety_area_m2 / M2_PER_MU

    @property
    def land_area_mu(self) -> float:
        return self.land_area_m2 / M2_PER_MU

    @property
    def extension_area_mu(self) -> float:
        return self.extension_area_m2 / M2_PER_MU

    @property
    def radiated_area_mu(self) -> float:
        return self.radiated_area_m2 / M2_PER_MU

    def gain(self, crop: str | None, baseline_type: str | None = None, demo_type: str = "variety"
             ) -> YieldGain | None:
        """The gain of ``crop`` (None: every crop) against ``baseline_type`` (None: pooled) on ``demo_type``
        plots, if any plot has one."""
        return next((g for g in self.gains if g.demo_type == demo_type and g.crop == crop
                     and g.baseline_type == baseline_type), None)

    def review_basis(self) -> str:
        """Which review level the figures stand on, in Chinese: ``县级自测 12 块；省级复测 3 块``; ``无已审核测产``."""
        parts = [f"{LEVEL_NAMES[lv][0]} {self.review_levels[lv]} 块" for lv in LEVELS if self.review_levels.get(lv)]
        return "；".join(parts) or "无已审核测产"


@dataclass
class PlotRow:
    """One plot of a county or site view (the last step of the drill-down)."""

    id: str
    name: str
    county_code: str
    site_id: str | None
    crop: str
    variety: str | None
    demo_type: str
    land_scenario: str | None
    area_m2: float | None
    flags: list[str]
    level: str | None               # the level its figure stands on (None: no approved measurement)
    method: str | None
    yield_kg_per_mu: float | None
    gain_pct: float | None
    baseline_type: str | None
    measured_on: dt.date | None


@dataclass
class Coverage:
    """The coverage of one scope and season: its own row, its children's rows, its sites' rows, its plots."""

    scope: CoverageRow
    season: str
    children: list[CoverageRow]    # provinces / prefectures / counties below a division; empty for a site
    sites: list[CoverageRow]       # the sites in the scope (for a site: itself)
    plots: list[PlotRow]           # for a county or a site only (empty above)
    computed_at: dt.datetime
    # plots with an approved measurement by county of a division scope (gaps' national median, for the country)
    county_figured: dict[str, int] | None = None


# --------------------------------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """What a scope code names: a division (the country is ``000000``) or a site."""

    kind: str                  # division, site
    code: str
    name: str
    level: str                 # country, province, prefecture, county, site
    prefix: str                # leading digits the division fixes ("" for the country)
    site: Site | None = None

    @property
    def plots_prefix(self) -> str:
        """Leading county-code digits of the scope's plots: the division's, or a site's province's."""
        if self.site is not None:
            return (self.site.province_code or "")[:2]
        return self.prefix


def _prefix(division: Division) -> str:
    return {"province": division.code[:2], "prefecture": division.code[:4]}.get(division.level, division.code)


def resolve_scope(session: Session, scope: str | None) -> Scope:
    """A division code (``000000`` or None: the country) or a site id → :class:`Scope`; 404 when unknown."""
    code = (scope or ROOT).strip()
    if code == ROOT:
        return Scope("division", ROOT, "全国", "country", "")
    division = session.get(Division, code)
    if division is not None:
        return Scope("division", code, division.name, division.level, _prefix(division))
    site = session.get(Site, code)
    if site is not None:
        return Scope("site", code, site.name, "site", "", site)
    raise NotFound(en=f"No division or site '{code}'", zh=f"区划或站点“{code}”不存在", scope=code)


def scope_division(session: Session, scope: Scope) -> str:
    """The division a scope is checked against: the division itself, a site's place (or province)."""
    if scope.site is not None:
        return scope.site.place_code or scope.site.province_code or ROOT
    return scope.code


def can_read_scope(actor: Actor, division_code: str) -> bool:
    """Officers read the coverage of their division and what lies below (the ministry: everything)."""
    if actor.system or actor.has("ministry_officer"):
        return True
    if division_code == ROOT:
        return False
    return actor.covers_division(division_code, OFFICER_ROLES) and _covers_whole(actor, division_code)


def _covers_whole(actor: Actor, code: str) -> bool:
    # A county officer of 410122 covers "410122" but not the province 410000 (which it shares two digits with).
    widths = {"province_officer": 2, "city_officer": 4, "county_officer": 6}
    level_width = 2 if code.endswith("0000") else 4 if code.endswith("00") else 6
    return any(g.role in widths and g.scope and widths[g.role] <= level_width
               and code[:widths[g.role]] == g.scope[:widths[g.role]] for g in actor.grants)


def ensure_scope_readable(session: Session, actor: Actor, scope: str | None) -> Scope:
    """Resolve ``scope`` for ``actor``: 404 when it does not exist or lies outside their scope."""
    resolved = resolve_scope(session, scope)
    if not can_read_scope(actor, scope_division(session, resolved)):
        raise NotFound(en=f"No division or site '{resolved.code}' in your scope",
                       zh=f"您的辖区内没有区划或站点“{resolved.code}”", scope=resolved.code)
    return resolved


# --------------------------------------------------------------------------------------------------- queries


def _prefixed(county_code: Any, prefix: str) -> Any:
    return county_code.startswith(prefix) if len(prefix) < 6 else county_code == prefix


def _plot_filter(season: str, prefix: str, site_id: str | None = None, county_codes: list[str] | None = None
                 ) -> list[Any]:
    clauses: list[Any] = [DemoPlot.season == season, DemoPlot.deleted.is_(False), ~is_control_plot()]
    if prefix:
        clauses.append(_prefixed(DemoPlot.county_code, prefix))
    if site_id is not None:
        if county_codes:
            clauses.append(or_(DemoPlot.site_id == site_id, DemoPlot.county_code.in_(county_codes)))
        else:
            clauses.append(DemoPlot.site_id == site_id)
    return clauses


def best_measurements(season: str, prefix: str = "", site_id: str | None = None,
                      county_codes: list[str] | None = None) -> Any:
    """A subquery: one row per plot of the season in scope with an approved measurement — its highest-level
    approved measurement (ministry > province > city > county; 实收 before 理论 at one level; then the latest)
    and the day of its first approved measurement (``first_on``, for completeness). Read from the plots' figures
    (``catalog.plot_figures``), which follow the measurements."""
    f = PlotFigure
    return (select(f.plot_id.label("plot_id"), f.level.label("level"), f.method.label("method"),
                   f.yield_kg_per_mu.label("yield_kg_per_mu"), f.gain_pct.label("gain_pct"),
                   f.baseline_type.label("baseline_type"), f.measured_on.label("measured_on"),
                   f.first_on.label("first_on"))
            .join(DemoPlot, DemoPlot.id == f.plot_id)
            .where(f.approved > 0, *_plot_filter(season, prefix, site_id, county_codes))
            .subquery("best"))


@dataclass(slots=True)
class _Acc:
    """Additive figures of one unit (a county, a park's plots, a site place), rolled up by adding."""

    plots: int = 0
    area: float = 0.0
    variety_plots: int = 0
    variety_area: float = 0.0
    land_plots: int = 0
    land_area: float = 0.0
    measurements: int = 0
    approved_measurements: int = 0
    measured_plots: int = 0
    figured: int = 0  # plots with an approved measurement, of a county (``_field_figures``' "figured" units)
    levels: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gains: dict[tuple[str, str, str | None], list[float]] = field(default_factory=dict)
    land: dict[str | None, list[float]] = field(default_factory=dict)
    planned: int = 0
    expected: int = 0
    expected_area: float = 0.0
    approved_planned: int = 0
    on_time: int = 0
    late: int = 0
    deadline: dt.date | None = None
    extension: float = 0.0
    radiated: float = 0.0
    needs_open: int = 0
    needs_met: int = 0
    matched: set[str] = field(default_factory=set)
    landed: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)

    def merge(self, other: _Acc, sets: bool = True, events: bool = True) -> None:
        self.plots += other.plots
        self.area += other.area
        self.variety_plots += other.variety_plots
        self.variety_area += other.variety_area
        self.land_plots += other.land_plots
        self.land_area += other.land_area
        self.measurements += other.measurements
        self.approved_measurements += other.approved_measurements
        self.measured_plots += other.measured_plots
        self.planned += other.planned
        self.expected += other.expected
        self.expected_area += other.expected_area
        self.approved_planned += other.approved_planned
        self.on_time += other.on_time
        self.late += other.late
        self.extension += other.extension
        self.radiated += other.radiated
        self.needs_open += other.needs_open
        self.needs_met += other.needs_met
        if other.levels:
            for lv, n in other.levels.items():
                self.levels[lv] += n
        for key, values in other.gains.items():
            mine = self.gains.get(key)
            if mine is None:
                self.gains[key] = list(values)
            else:
                self.gains[key] = [a + b for a, b in zip(mine, values, strict=True)]
        for scen, values in other.land.items():
            mine = self.land.get(scen)
            if mine is None:
                self.land[scen] = list(values)
            else:
                self.land[scen] = [a + b for a, b in zip(mine, values, strict=True)]
        if other.deadline is not None and (self.deadline is None or other.deadline > self.deadline):
            self.deadline = other.deadline
        if sets:
            self.matched |= other.matched
            self.landed |= other.landed
        if sets and events:
            self.events |= other.events


_DIV = Division.__table__.alias("div")


def _child_key(scope_level: str, scope_code: str) -> Any:
    """The code of the child row (of a scope) a county's figures go to, from the county's division row ``div``:
    the province below the country; the prefecture (or the county itself, when directly under the province)
    below a province; the county below a prefecture."""
    if scope_level == "country":
        return _DIV.c.province_code
    if scope_level == "province":
        return case((_DIV.c.parent_code == scope_code, _DIV.c.code), else_=_DIV.c.parent_code)
    return _DIV.c.code


def _field_figures(session: Session, season: str, prefix: str, site_id: str | None = None,
                   county_codes: list[str] | None = None, *, group: str = "county",
                   scope: tuple[str, str] | None = None, split_counties: list[str] | None = None
                   ) -> dict[Any, _Acc]:
    """Plot, measurement, gain, land and completeness figures of the season's plots under ``prefix`` (all: "")
    or of one site (``site_id``: the plots naming it, or in its ``county_codes``), grouped by ``group``:
    ``county``; ``site`` — the park a plot names (plots naming none are left out; plans and reports too);
    ``units`` — one pass for the child rows, the county sites and the parks: keyed ``("child", code)`` by the
    child row of ``scope`` (level, code) the county lies in (:func:`_child_key`), ``("county", code)`` for each
    of ``split_counties``, ``("site", id)`` by the site plots name (plans and reports name none), and
    ``("figured", county)`` (only ``figured``: plots with an approved measurement) for every county."""
    out: dict[Any, _Acc] = defaultdict(_Acc)
    where = _plot_filter(season, prefix, site_id, county_codes)
    if county_codes is not None and site_id is None:
        where.append(DemoPlot.county_code.in_(county_codes))
    if group == "site":
        where.append(DemoPlot.site_id.is_not(None))
    joined = group == "units"

    def key_of(county: Any, site: Any) -> tuple[Any, ...]:
        if group == "site":
            return (site,)
        if not joined:
            return (county,)
        assert scope is not None
        return _child_key(*scope), case((county.in_(split_counties), county)) if split_counties else null(), site

    def with_div(q: Any, column: Any) -> Any:
        return q.join(_DIV, _DIV.c.code == column) if joined else q

    split_set = set(split_counties or ())

    def split(row: Any, n: int) -> tuple[list[_Acc], Any]:
        """A row → the accumulators it adds to, and its figures. In ``units`` each (child, county, site) adds to
        its child row, to its county when one of ``split_counties``, to its site when it names one."""
        if not joined:
            return [out[row[0]]], row[n:]
        child, county, site = row[:n]
        accs = [out["child", child]]
        if county in split_set:
            accs.append(out["county", county])
        if site is not None:
            accs.append(out["site", site])
        return accs, row[n:]

    def grouped(keys: tuple[Any, ...]) -> list[Any]:
        return [k for k in keys if not isinstance(k, Null)]

    pk = key_of(DemoPlot.county_code, DemoPlot.site_id)
    gk = grouped(pk)

    # plots and area (variety / land-quality demos); their measurements, and the approved ones (from the plots'
    # figures); in ``units`` by every county (a few thousand rows), whose plots with an approved measurement give
    # the national median (gaps)
    if joined:  # a division: its counties' kept totals (catalog.county_totals), a few thousand rows
        t = CountyTotal
        pk1 = (key_of(t.county_code, t.site_id)[0], t.county_code, t.site_id)
        totals = with_div(select(*pk1, func.sum(t.plots), func.sum(t.area_m2), func.sum(t.land_plots),
                                 func.sum(t.land_area_m2), func.sum(t.variety_area_m2), func.sum(t.measurements),
                                 func.sum(t.approved), func.sum(t.figured)), t.county_code) \
            .where(t.season == season, *((_prefixed(t.county_code, prefix),) if prefix else ())) \
            .group_by(*pk1)
    else:
        pk1 = pk
        is_land = DemoPlot.demo_type == "land_quality"
        totals = (select(*pk1, func.count(), func.coalesce(func.sum(DemoPlot.area_m2), 0.0),
                         func.coalesce(func.sum(case((is_land, 1), else_=0)), 0),
                         func.coalesce(func.sum(case((is_land, DemoPlot.area_m2), else_=0.0)), 0.0),
                         func.coalesce(func.sum(case((is_land, 0.0), else_=DemoPlot.area_m2)), 0.0),
                         func.coalesce(func.sum(PlotFigure.measurements), 0),
                         func.coalesce(func.sum(PlotFigure.approved), 0),
                         func.coalesce(func.sum(case((PlotFigure.approved > 0, 1), else_=0)), 0))
                  .outerjoin(PlotFigure, PlotFigure.plot_id == DemoPlot.id)
                  .where(*where).group_by(*grouped(pk1)))
    for row in session.connection().execute(totals):
        accs, (n, total, n_land, land_total, variety_total, n_measured, n_approved, n_figured) = split(row, len(pk1))
        if joined:
            out["figured", row[1]].figured += int(n_figured)
        for acc in accs:
            acc.plots += int(n)
            acc.area += float(total or 0.0)
            acc.measurements += int(n_measured)
            acc.approved_measurements += int(n_approved)
            acc.land_plots += int(n_land)
            acc.land_area += float(land_total or 0.0)
            acc.variety_plots += int(n) - int(n_land)
            acc.variety_area += float(variety_total or 0.0)

    # each plot's best approved measurement: levels, gains by crop and baseline, completeness against the plan;
    # in ``units`` from the counties' kept rows (catalog.county_gains), a few thousand counties' rows
    if joined:
        g = CountyGain
        gkey = key_of(g.county_code, g.site_id)
        gains_q = with_div(select(*gkey, g.demo_type, g.crop, g.baseline_type, func.sum(g.plots),
                                  *(func.sum(getattr(g, c)) for c in (*LEVEL_COLUMNS, *GAIN_FIGURES)),
                                  func.sum(g.planned), func.sum(g.on_time), func.sum(g.late)), g.county_code) \
            .where(g.season == season, *((_prefixed(g.county_code, prefix),) if prefix else ())) \
            .group_by(*grouped(gkey), g.demo_type, g.crop, g.baseline_type)
    else:  # the plots themselves, as the kept rows count them
        gains_q = measured(*pk, DemoPlot.demo_type, DemoPlot.crop, PlotFigure.baseline_type) \
            .where(*where).group_by(*gk, DemoPlot.demo_type, DemoPlot.crop, PlotFigure.baseline_type)
    for row in session.connection().execute(gains_q).all():
        accs, rest = split(row, len(pk))
        demo_type, crop, baseline, n = rest[:4]
        by_level = rest[4:4 + len(LEVELS)]
        figures = rest[4 + len(LEVELS):4 + len(LEVELS) + len(GAIN_FIGURES)]
        n_planned, n_on_time, n_late = rest[4 + len(LEVELS) + len(GAIN_FIGURES):]
        for acc in accs:
            acc.measured_plots += int(n)
            for lv, k in zip(LEVELS, by_level, strict=True):
                if k:
                    acc.levels[lv] += int(k)
            acc.approved_planned += int(n_planned or 0)
            acc.on_time += int(n_on_time or 0)
            acc.late += int(n_late or 0)
            values = acc.gains.setdefault((demo_type, crop, baseline), [0.0] * 5)
            for i, v in enumerate(figures):
                values[i] += float(v or 0.0)

    # land quality: plots by scenario, grade change from their soil samples
    area = func.coalesce(DemoPlot.area_m2, 0.0)
    graded = (select(SoilSample.plot_id.label("plot_id"), SoilSample.grade.label("grade"),
                     func.row_number().over(partition_by=SoilSample.plot_id,
                                            order_by=(SoilSample.sampled_on, SoilSample.id)).label("first_rn"),
                     func.row_number().over(partition_by=SoilSample.plot_id,
                                            order_by=(SoilSample.sampled_on.desc(), SoilSample.id.desc()))
                     .label("last_rn"))
              .join(DemoPlot, DemoPlot.id == SoilSample.plot_id)
              .where(SoilSample.deleted.is_(False), SoilSample.grade.is_not(None),
                     SoilSample.grade_scale == GRADE_SCALE, DemoPlot.demo_type == "land_quality", *where)
              .subquery("graded"))
    per_plot = (select(graded.c.plot_id,
                       func.max(case((graded.c.first_rn == 1, graded.c.grade))).label("first_grade"),
                       func.max(case((graded.c.last_rn == 1, graded.c.grade))).label("last_grade"),
                       func.count().label("samples"))
                .group_by(graded.c.plot_id).subquery("per_plot"))
    is_graded = func.coalesce(per_plot.c.samples, 0) >= 2
    change = cast(per_plot.c.first_grade - per_plot.c.last_grade, Float)
    for row in session.connection().execute(
            with_div(select(*pk, DemoPlot.land_scenario, func.count(), func.coalesce(func.sum(area), 0.0),
                            func.coalesce(func.sum(case((is_graded, 1), else_=0)), 0),
                            func.coalesce(func.sum(case((is_graded, area), else_=0.0)), 0.0),
                            func.coalesce(func.sum(case((is_graded, area * change), else_=0.0)), 0.0))
                     .outerjoin(per_plot, per_plot.c.plot_id == DemoPlot.id), DemoPlot.county_code)
            .where(DemoPlot.demo_type == "land_quality", *where)
            .group_by(*gk, DemoPlot.land_scenario)):
        accs, (scenario, n, land_area, n_graded, graded_area, change_area) = split(row, len(pk))
        for acc in accs:
            values = acc.land.setdefault(scenario, [0.0] * 5)
            for i, v in enumerate((n, land_area, n_graded, graded_area, change_area)):
                values[i] += float(v)

    # plans and reported areas (by county)
    if group == "site":
        return out
    plan_key, ext_key = key_of(SeasonPlan.county_code, null()), key_of(ExtensionReport.county_code, null())
    plan_q = with_div(select(*plan_key, func.count(), func.sum(SeasonPlan.plots_expected),
                             func.sum(SeasonPlan.area_expected_m2), func.max(SeasonPlan.deadline)),
                      SeasonPlan.county_code).where(SeasonPlan.season == season).group_by(*grouped(plan_key))
    ext_q = (with_div(select(*ext_key, ExtensionReport.kind, func.sum(ExtensionReport.area_m2)),
                      ExtensionReport.county_code)
             .where(ExtensionReport.season == season)
             .group_by(*grouped(ext_key), ExtensionReport.kind))
    if county_codes is not None and site_id is None:
        plan_q = plan_q.where(SeasonPlan.county_code.in_(county_codes))
        ext_q = ext_q.where(ExtensionReport.county_code.in_(county_codes))
    if site_id is not None:  # a site's plans are those of its counties (a park has none)
        plan_q = plan_q.where(SeasonPlan.county_code.in_(county_codes or []))
        ext_q = ext_q.where(ExtensionReport.county_code.in_(county_codes or []))
    elif prefix:
        plan_q = plan_q.where(SeasonPlan.county_code.startswith(prefix))
        ext_q = ext_q.where(ExtensionReport.county_code.startswith(prefix))
    for row in session.connection().execute(plan_q):
        accs, (planned, expected, expected_area, deadline) = split(row, len(plan_key))
        for acc in accs:
            acc.planned += int(planned)
            acc.expected += int(expected or 0)
            acc.expected_area += float(expected_area or 0.0)
            if deadline is not None and (acc.deadline is None or deadline > acc.deadline):
                acc.deadline = deadline
    for row in session.connection().execute(ext_q):
        accs, (kind, total) = split(row, len(ext_key))
        for acc in accs:
            if kind == "land_radiated":
                acc.radiated += float(total or 0.0)
            else:
                acc.extension += float(total or 0.0)
    return out


def _site_place(site: Any) -> str:
    return site.place_code or site.province_code or ROOT


def _site_figures(session: Session, prefix: str, today: dt.date, site_ids: list[str] | None = None
                  ) -> dict[str, _Acc]:
    """Intents, needs and events by site (cumulative), for sites placed in scope."""
    out: dict[str, _Acc] = defaultdict(_Acc)
    site_where: list[Any] = []
    if prefix:
        site_where.append(or_(Site.place_code.startswith(prefix),
                              and_(Site.place_code.is_(None), Site.province_code.startswith(prefix))))
    if site_ids is not None:
        site_where.append(Site.id.in_(site_ids))
    for site_id, result_id, landed in session.connection().execute(
            select(Intent.site_id, Intent.result_id,
                   func.max(case((Intent.state == "landed", 1), else_=0)))
            .join(Site, Site.id == Intent.site_id)
            .where(Intent.state != "dropped", *site_where)
            .group_by(Intent.site_id, Intent.result_id)):
        acc = out[site_id]
        acc.matched.add(result_id)
        if landed:
            acc.landed.add(result_id)
    met = or_(Need.state == "matched", and_(Need.state == "closed", Need.matched_result_id.is_not(None)))
    for site_id, n_open, n_met in session.connection().execute(
            select(Need.site_id, func.coalesce(func.sum(case((Need.state == "open", 1), else_=0)), 0),
                   func.coalesce(func.sum(case((met, 1), else_=0)), 0))
            .join(Site, Site.id == Need.site_id).where(*site_where).group_by(Need.site_id)):
        out[site_id].needs_open += int(n_open)
        out[site_id].needs_met += int(n_met)
    for site_id, event_id in session.connection().execute(
            select(EventSite.site_id, EventSite.event_id)
            .join(Event, Event.id == EventSite.event_id).join(Site, Site.id == EventSite.site_id)
            .where(Event.state.in_(("open", "closed")), Event.starts_on <= today, *site_where)):
        out[site_id].events.add(event_id)
    return out


def _event_places(session: Session, prefix: str, today: dt.date) -> list[tuple[str, str]]:
    """(event id, the division it is placed in) of events held in scope; national events are placed at ROOT."""
    place = func.coalesce(Event.place_code, Event.province_code, literal(ROOT))
    q = select(Event.id, place).where(Event.state.in_(("open", "closed")), Event.starts_on <= today)
    if prefix:
        q = q.where(place.startswith(prefix))
    return [(str(i), str(p)) for i, p in session.connection().execute(q)]


# --------------------------------------------------------------------------------------------------- roll-up


@dataclass
class _Tree:
    parent: dict[str, str | None]
    name: dict[str, str]
    level: dict[str, str]
    retired: set[str]

    def chain(self, code: str) -> list[str]:
        """``code`` and every division above it, up to and including ROOT."""
        out, seen = [], set()
        current: str | None = code
        while current is not None and current not in seen and current != ROOT:
            out.append(current)
            seen.add(current)
            current = self.parent.get(current)
        out.append(ROOT)
        return out


def _tree(session: Session, prefix: str) -> _Tree:
    q = select(Division.code, Division.parent_code, Division.name, Division.level, Division.valid_to)
    if prefix:
        q = q.where(Division.code.startswith(prefix[:2]))
    parent: dict[str, str | None] = {}
    name, level, retired = {ROOT: "全国"}, {ROOT: "country"}, set()
    for code, parent_code, nm, lv, valid_to in session.connection().execute(q):
        parent[code] = parent_code if parent_code else (ROOT if lv == "province" else None)
        name[code] = nm
        level[code] = lv
        if valid_to is not None:
            retired.add(code)
    return _Tree(parent, name, level, retired)


def _row(code: str, name: str, level: str, acc: _Acc, **extra: Any) -> CoverageRow:
    gains: list[YieldGain] = []
    pooled: dict[tuple[str, str | None], YieldGain] = {}
    for (demo_type, crop, baseline), (n, gain_w, gain_area, yield_area, yield_w) in sorted(
            acc.gains.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        if not (n or yield_w):
            continue
        if baseline is not None and n:
            g = YieldGain(demo_type, crop, baseline)
            g.add(int(n), gain_w, gain_area, yield_area, yield_w)
            gains.append(g)
        for key in ((demo_type, crop), (demo_type, None)):
            p = pooled.setdefault(key, YieldGain(key[0], key[1], None))
            p.add(int(n), gain_w, gain_area, yield_area, yield_w)
    gains.extend(pooled[k] for k in sorted(pooled, key=lambda k: (k[0], k[1] is None, k[1] or "")))
    land = []
    for scen in sorted(acc.land, key=lambda s: s or "~"):
        n, area, n_graded, graded_area, change_area = acc.land[scen]
        lf = LandFigure(scen)
        lf.add(int(n), area, int(n_graded), graded_area, change_area)
        land.append(lf)
    completeness = Completeness(acc.planned, acc.expected, acc.expected_area, acc.approved_planned, acc.on_time,
                                acc.late, acc.deadline)
    return CoverageRow(
        code=code, name=name, level=level, results_matched=len(acc.matched), results_landed=len(acc.landed),
        plots=acc.plots, plot_area_m2=acc.area, variety_plots=acc.variety_plots, variety_area_m2=acc.variety_area,
        land_plots=acc.land_plots, land_area_m2=acc.land_area, measurements=acc.measurements,
        approved_measurements=acc.approved_measurements, measured_plots=acc.measured_plots,
        review_levels={lv: acc.levels[lv] for lv in LEVELS if acc.levels.get(lv)}, gains=gains, land=land,
        events_held=len(acc.events), needs_open=acc.needs_open, needs_met=acc.needs_met, completeness=completeness,
        extension_area_m2=acc.extension, radiated_area_m2=acc.radiated, **extra)


def _check_season(season: str) -> str:
    return parse_season(season).key


# --------------------------------------------------------------------------------------------------- public


def coverage(session: Session, scope: str | None, season: str, *, today: dt.date | None = None,
             with_sites: bool = True, with_plots: bool = True) -> Coverage:
    """The coverage of ``scope`` (a division code, ``000000``/None for the country, or a site id) for ``season``
    (``"2026-autumn_grain"``): the scope's own row, its direct children (provinces of the country, prefectures of
    a province, counties of a prefecture), the sites placed in it and, for a county or a site, its plots.

    Call :func:`ensure_scope_readable` first for an actor. ``today`` (Beijing) decides which events were held.
    Raises :class:`ValidationFailed` for a season that does not read, :class:`NotFound` for an unknown scope.
    """
    season = _check_season(season)
    today = today or beijing_today()
    resolved = resolve_scope(session, scope)
    if resolved.site is not None:
        return _site_coverage(session, resolved.site, season, today)
    prefix = resolved.prefix
    tree = _tree(session, prefix)
    site_accs = _site_figures(session, prefix, today)
    sites = list(session.connection().execute(
        select(Site.id, Site.name, Site.kind, Site.province_code, Site.place_code)
        .where(Site.active.is_(True),
               *((or_(Site.place_code.startswith(prefix),
                      and_(Site.place_code.is_(None), Site.province_code.startswith(prefix))),) if prefix else ()))
        .order_by(Site.id)))
    site_counties = _site_counties(session, [s.id for s in sites if s.kind in SITE_KINDS_WITH_COUNTIES]) \
        if with_sites else {}
    # one pass over the season's plots, grouped by (child row, county of a county site, park): the child rows,
    # the county sites and the parks add up from it
    units = _field_figures(session, season, prefix, group="units", scope=(resolved.level, resolved.code),
                           split_counties=sorted({c for cs in site_counties.values() for c in cs}))
    by_child, by_county, by_site, figured = _split_units(units)

    child_codes = sorted(c for c, p in tree.parent.items() if p == resolved.code and c in tree.level
                         and c not in tree.retired and (resolved.code != ROOT or tree.level[c] == "province"))
    needed = {resolved.code, *child_codes}  # only the rows shown are rolled up
    rolled: dict[str, _Acc] = defaultdict(_Acc)
    for key, acc in by_child.items():
        if key in needed:
            rolled[key].merge(acc)
        if key != resolved.code:
            rolled[resolved.code].merge(acc)
    by_id = {s.id: s for s in sites}
    for site_id, acc in site_accs.items():
        site = by_id.get(site_id)
        if site is None:
            continue
        for code in tree.chain(_site_place(site)):
            if code in needed:  # a division's events are those placed in it, not those its sites went to
                rolled[code].merge(acc, events=False)
    for event_id, place in _event_places(session, prefix, today):
        for code in tree.chain(place):
            if code in needed:
                rolled[code].events.add(event_id)

    own = rolled.get(resolved.code, _Acc())
    scope_row = _row(resolved.code, resolved.name, resolved.level, own,
                     province_code=None if resolved.code == ROOT else resolved.code[:2] + "0000")
    children = [_row(c, tree.name[c], tree.level[c], rolled.get(c, _Acc()), province_code=c[:2] + "0000")
                for c in child_codes]

    site_rows: list[CoverageRow] = []
    if with_sites:
        for s in sites:
            acc = _Acc()
            acc.merge(site_accs.get(s.id, _Acc()))
            _add_site_field(acc, s.id, s.kind, site_counties.get(s.id, []), by_county, by_site)
            site_rows.append(_row(s.id, s.name, "site", acc, kind=s.kind, province_code=s.province_code))
    plots = _plot_rows(session, season, prefix) if with_plots and resolved.level == "county" else []
    return Coverage(scope_row, season, children, site_rows, plots, dt.datetime.now(dt.UTC), figured)


def _split_units(units: dict[Any, _Acc]
                 ) -> tuple[dict[str, _Acc], dict[str, _Acc], dict[str, _Acc], dict[str, int]]:
    """:func:`_field_figures`' ``units`` → by child row, by county (of county sites), by site, and the plots with
    an approved measurement by county."""
    parts: dict[str, dict[Any, Any]] = {"child": {}, "county": {}, "site": {}, "figured": {}}
    for (tag, code), acc in units.items():
        parts[tag][code] = acc.figured if tag == "figured" else acc
    return parts["child"], parts["county"], parts["site"], parts["figured"]


def _site_counties(session: Session, site_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if not site_ids:
        return out
    for site_id, code in session.connection().execute(select(SiteDivision.site_id, SiteDivision.division_code)
                                         .where(SiteDivision.site_id.in_(site_ids))):
        out[site_id].append(code)
    return out


def _add_site_field(acc: _Acc, site_id: str, kind: str, counties: list[str],
                    by_county: dict[str | None, _Acc], by_site: dict[str | None, _Acc]) -> None:
    """A county site's field figures are its counties'; a park's are the plots that name it."""
    units = [by_county[c] for c in counties if c in by_county] if kind in SITE_KINDS_WITH_COUNTIES \
        else [by_site[site_id]] if site_id in by_site else []
    for unit in units:
        acc.merge(unit, sets=False)


def _site_coverage(session: Session, site: Site, season: str, today: dt.date) -> Coverage:
    counties = site_divisions(session, site.id) if site.kind in SITE_KINDS_WITH_COUNTIES else []
    acc = _Acc()
    acc.merge(_site_figures(session, "", today, [site.id]).get(site.id, _Acc()))
    for unit in _field_figures(session, season, "", site.id, counties).values():
        acc.merge(unit, sets=False)
    row = _row(site.id, site.name, "site", acc, kind=site.kind, province_code=site.province_code)
    plots = _plot_rows(session, season, "", site.id, counties)
    return Coverage(row, season, [], [row], plots, dt.datetime.now(dt.UTC))


def site_divisions(session: Session, site_id: str) -> list[str]:
    from catalog.sites import site_divisions as _divisions

    return _divisions(session, site_id)


def _plot_rows(session: Session, season: str, prefix: str, site_id: str | None = None,
               county_codes: list[str] | None = None) -> list[PlotRow]:
    best = best_measurements(season, prefix, site_id, county_codes)
    rows = session.connection().execute(
        select(DemoPlot.id, DemoPlot.name, DemoPlot.county_code, DemoPlot.site_id, DemoPlot.crop, DemoPlot.variety,
               DemoPlot.demo_type, DemoPlot.land_scenario, DemoPlot.area_m2, DemoPlot.flags, best.c.level,
               best.c.method, best.c.yield_kg_per_mu, best.c.gain_pct, best.c.baseline_type, best.c.measured_on)
        .outerjoin(best, best.c.plot_id == DemoPlot.id)
        .where(*_plot_filter(season, prefix, site_id, county_codes))
        .order_by(DemoPlot.county_code, DemoPlot.name, DemoPlot.id))
    return [PlotRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], sorted((r[9] or {}).keys()),
                    *r[10:]) for r in rows]
