"""The coverage dashboard: 全国 → 省 → 市 → 县 → 站点 → 地块 for the signed-in officer's scope and a season.

Each view shows the scope's headline figures and its progress to the national targets, a choropleth of a chosen
figure over its children (each region a link one level down), charts by season, crop and land scenario, sortable
and filterable tables of its children, sites and plots, and its gaps; it exports to XLSX (the tables of
``catalog.coverage_export``, the same as ``yuanxian report coverage``) and to a printable page. Figures come from
``catalog.coverage``, ``catalog.targets`` and ``catalog.gaps`` only; nothing is computed twice.

Scoping is ``catalog.coverage.ensure_scope_readable``: an officer reads its own division and what lies below; any
other scope answers 404, as the API does.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog.access import Actor
from catalog.account_rules import is_officer
from catalog.coverage import (
    BASELINE_NAMES,
    LEVEL_NAMES,
    LEVEL_RANK,
    Coverage,
    CoverageRow,
    Scope,
    can_read_scope,
    coverage,
    ensure_scope_readable,
    scope_division,
)
from catalog.coverage_export import FLAG_NAMES, REASON_NAMES, SITE_KIND_NAMES, coverage_tables, write_xlsx
from catalog.coverage_series import SeasonFigures, season_series
from catalog.db import beijing_today
from catalog.divisions import ROOT, Division
from catalog.errors import NotFound, ValidationFailed
from catalog.field import DemoPlot, YieldMeasurement
from catalog.gaps import gaps
from catalog.seasons import default_season, parse_season, season_name, seasons_in_use
from catalog.targets import TargetProgress, progress
from catalog.zh_format import count_text, mu_text, pct_text, share_text
from gis import maps
from gis.area import M2_PER_MU
from server.auth import current_actor
from server.db import db_session
from server.i18n import current_lang, t
from server.web.labels import Labels

Page = str | tuple[str, int] | WerkzeugResponse
MAX_SERIES = 8  # seasons in the chart of progress over time
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------------------------------- figures


def _variety_gain(r: CoverageRow) -> float | None:
    g = r.gain(None, None, "variety")
    return g.gain_pct if g else None


def _completeness(r: CoverageRow) -> float | None:
    share = r.completeness.share
    return None if share is None else share * 100


@dataclass(frozen=True)
class Metric:
    """A figure the map can show: its name, unit and how it is read off a row."""

    key: str
    zh: str
    en: str
    unit: str
    value: Callable[[CoverageRow], float | None]

    @property
    def name(self) -> str:
        return self.en if current_lang() == "en" else self.zh


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("area", "示范面积（亩）", "Demo area (mu)", "亩", lambda r: r.plot_area_mu),
    Metric("plots", "示范地块数", "Demo plots", "块", lambda r: float(r.plots)),
    Metric("measured", "有已审核测产的地块数", "Plots with an approved yield", "块", lambda r: float(r.measured_plots)),
    Metric("gain", "面积加权增产（%，品种示范）", "Area-weighted yield gain (%, variety demos)", "%", _variety_gain),
    Metric("completeness", "完成率（%）", "Completeness (%)", "%", _completeness),
    Metric("landed", "落地成果数", "Results landed", "项", lambda r: float(r.results_landed)),
    Metric("extension", "上报推广面积（亩）", "Reported extension area (mu)", "亩", lambda r: r.extension_area_mu),
    Metric("radiated", "上报辐射面积（亩）", "Reported radiated area (mu)", "亩", lambda r: r.radiated_area_mu),
)}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def target_text(tp: TargetProgress, value: float | None) -> str:
    """A target's value or goal as officers write it: 万亩/亿亩, %, 个, 类, 等."""
    if value is None:
        return "—"
    if tp.unit == "mu":
        return mu_text(value)
    if tp.unit == "pct":
        return pct_text(value)
    if tp.unit == "count":
        return count_text(value, "个")
    if tp.unit == "scenarios":
        return f"{value:g}类"
    if tp.unit == "grade":
        return f"{value:+.2f}等"
    return f"{value:g}"


# --------------------------------------------------------------------------------------------------- charts


def bar_chart(items: Sequence[tuple[str, float | None, str]], *, title: str, css: str = "chart",
              width: int = 420) -> Markup:
    """Horizontal bars, one per (label, value, shown text); negative values run left of the zero line. A
    standalone ``<svg>`` with a title and a text per bar (no script, no external file)."""
    row_h, top, label_w, text_w = 24, 30, 96, 112
    height = top + max(1, len(items)) * row_h + 10
    values = [v for _l, v, _t in items if v is not None and math.isfinite(v)]
    low, high = min([0.0, *values]), max([0.0, *values])
    span = (high - low) or 1.0
    plot_w = width - label_w - text_w
    zero = label_w + (0 - low) / span * plot_w
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
           f'<text x="0" y="18" font-size="14" font-weight="bold">{escape(title)}</text>']
    if not items:
        out.append(f'<text x="0" y="{top + 16}" font-size="12" fill="#666">{escape(t("coverage.no_data"))}</text>')
    for i, (label, value, shown) in enumerate(items):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">{escape(label)}</text>')
        if value is not None and math.isfinite(value):
            x0, x1 = sorted((zero, label_w + (value - low) / span * plot_w))
            fill = "#c0392b" if value < 0 else "#2e7d32"
            out.append(f'<rect class="bar" x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 8}"'
                       f' fill="{fill}" data-value="{value}"><title>{escape(label)}：{escape(shown)}</title></rect>')
        out.append(f'<text x="{label_w + plot_w + 6}" y="{y + 15}" font-size="12">{escape(shown)}</text>')
    out.append(f'<line x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{height - 8}" stroke="#555" '
               f'stroke-width="1"/></svg>')
    return Markup("".join(out))


# --------------------------------------------------------------------------------------------------- scope


def home_scope(actor: Actor) -> str | None:
    """Where an officer's dashboard opens: the country for the ministry, else the division of its first
    officer grant; None for an account that is not an officer."""
    if actor.system or actor.has("ministry_officer"):
        return ROOT
    for g in actor.grants:
        if g.role in ("province_officer", "city_officer", "county_officer") and g.scope:
            return g.scope
    return None


def _signed_in_officer() -> Actor | WerkzeugResponse:
    actor = current_actor()
    if actor.user_id is None and not actor.system:
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    if not (actor.system or is_officer(actor)):
        abort(403)
    return actor


def _season(session: Any, scope: Scope) -> tuple[str, list[str]]:
    """The season asked for (``?season=``), else the scope's current one (``default_season``); and the seasons to
    choose from."""
    choices = seasons_in_use(session)
    asked = (request.args.get("season") or "").strip()
    if asked:
        try:
            season = parse_season(asked).key
        except ValidationFailed as exc:  # 422, saying which field and why (zh and en)
            abort(Response(render_template("coverage/bad_input.html", errors=exc.errors), 422))
    else:
        season = default_season(session, beijing_today(), scope.plots_prefix)
    if season not in choices:
        choices = [season, *choices]
    return season, choices


@dataclass
class Crumb:
    code: str
    name: str
    link: bool


def breadcrumbs(session: Any, actor: Actor, scope: Scope) -> list[Crumb]:
    """全国 › 省 › 市 › 县 (› 站点): each step a link when the actor may read it."""
    chain: list[Crumb] = []
    code: str | None = scope_division(session, scope) if scope.site is not None else scope.code
    seen: set[str] = set()
    while code and code != ROOT and code not in seen:
        seen.add(code)
        d = session.get(Division, code)
        if d is None:
            break
        chain.append(Crumb(d.code, d.name, can_read_scope(actor, d.code)))
        code = d.parent_code
    chain.append(Crumb(ROOT, "全国", can_read_scope(actor, ROOT)))
    chain.reverse()
    if scope.site is not None:
        chain.append(Crumb(scope.code, scope.name, True))
    return chain


# --------------------------------------------------------------------------------------------------- maps


def choropleth(cov: Coverage, scope: Scope, metric: Metric, season: str, plots: list[Any]) -> Markup | None:
    """The map of the view: the children coloured by ``metric`` (each a link), or a county's plots."""
    level = scope.level
    unit = metric.unit
    title = f"{scope.name} · {metric.name}"
    links = {c.code: url_for("web.coverage", scope=c.code, season=season, map=metric.key) for c in cov.children}
    values = {c.code: v for c in cov.children if (v := metric.value(c)) is not None}
    names = {c.code: c.name for c in cov.children}
    # Classes over the regions that have some of it (zeros would take every class of a sparse figure); a zero
    # region still shows in the lowest class, a region without a value in grey.
    positive = [x for x in values.values() if x > 0]
    breaks = maps.class_breaks(positive) if positive and min(values.values()) >= 0 else None
    try:
        if level == "country":
            return Markup(maps.render_area_choropleth(values, level="province", names=names, links=links,
                                                      title=title, unit=unit, breaks=breaks))
        if level == "province":
            return Markup(maps.render_area_choropleth(values, level="prefecture", within=scope.code[:2],
                                                      names=names, links=links, title=title, unit=unit,
                                                      breaks=breaks))
        if level == "prefecture":
            return Markup(maps.render_area_choropleth(values, level="county", within=scope.code[:4],
                                                      names=names, links=links, title=title, unit=unit,
                                                      breaks=breaks))
        county = scope.code if level == "county" else (scope.site.place_code if scope.site else None)
        if county and len(county) == 6 and not county.endswith("00"):
            shapes = [maps.MapPlot(p.id, p.boundary, p.name) for p in plots if p.boundary is not None]
            return Markup(maps.render_county_map(county, shapes, title=f"{scope.name} · 示范地块"))
    except KeyError:  # a division the map data lacks (retired, or outside the county polygons)
        return None
    return None


# --------------------------------------------------------------------------------------------------- pages


def coverage_home() -> Page:
    """覆盖情况 / Opens the officer's own scope."""
    actor = _signed_in_officer()
    if isinstance(actor, WerkzeugResponse):
        return actor
    scope = home_scope(actor)
    if scope is None:
        abort(403)
    args = {k: v for k, v in request.args.items() if k in ("season", "map", "lang")}
    return redirect(url_for("web.coverage", scope=scope, **args))


@dataclass
class View:
    """Everything one dashboard view shows."""

    scope: Scope
    season: str
    seasons: list[str]
    cov: Coverage
    targets: list[TargetProgress]
    found: Any
    labels: Labels


def _view(session: Any, actor: Actor, scope_code: str) -> View:
    scope = ensure_scope_readable(session, actor, scope_code)
    season, seasons = _season(session, scope)
    today = beijing_today()
    cov = coverage(session, scope.code, season, today=today)
    targets = progress(session, scope.code, season, cov=cov, today=today)
    found = gaps(session, scope.code, season, today=today, cov=cov)
    counties = {p.county_code for p in cov.plots} | {f.county_code for f in found.flagged}
    return View(scope, season, seasons, cov, targets, found, Labels.load(session, counties))


def _series(session: Any, scope: Scope, seasons: list[str], cov: Coverage) -> list[SeasonFigures]:
    """The scope's own figures in each of the newest seasons, oldest first (progress over time); the view's own
    season is its coverage's."""
    return season_series(session, scope, sorted(sorted(seasons, reverse=True)[:MAX_SERIES]), cov)


def coverage_page(scope: str) -> Page:
    """覆盖情况看板 / The dashboard of one division or site for a season."""
    actor = _signed_in_officer()
    if isinstance(actor, WerkzeugResponse):
        return actor
    session = db_session()
    v = _view(session, actor, scope)
    metric = METRICS.get(request.args.get("map") or "", METRICS["area"])
    plot_ids = [p.id for p in v.cov.plots]
    boundaries = list(session.scalars(select(DemoPlot).where(DemoPlot.id.in_(plot_ids)))) if plot_ids else []
    the_map = choropleth(v.cov, v.scope, metric, v.season, boundaries)
    series = _series(session, v.scope, v.seasons, v.cov)
    crop_name = lambda code: v.labels.code("crop", code)  # noqa: E731
    scen_name = lambda code: v.labels.code("land_scenario", code) if code else t("coverage.no_scenario")  # noqa: E731
    charts = [
        bar_chart([(season_name(session, f.season), f.area_mu, mu_text(f.area_mu)) for f in series],
                  title=t("coverage.chart_area_by_season"), css="chart area-by-season"),
        bar_chart([(season_name(session, f.season), float(f.measured_plots), f"{f.measured_plots} 块") for f in series],
                  title=t("coverage.chart_measured_by_season"), css="chart measured-by-season"),
        bar_chart([(crop_name(g.crop), g.gain_pct, f"{pct_text(g.gain_pct)} · {mu_text(g.area_mu)}")
                   for g in v.cov.scope.gains if g.demo_type == "variety" and g.crop and g.baseline_type is None],
                  title=t("coverage.chart_gain_by_crop"), css="chart gain-by-crop"),
        bar_chart([(scen_name(lf.land_scenario), lf.area_mu, mu_text(lf.area_mu)) for lf in v.cov.scope.land],
                  title=t("coverage.chart_land_by_scenario"), css="chart land-by-scenario"),
    ]
    return render_template(
        "coverage/dashboard.html", v=v, row=v.cov.scope, metric=metric, metrics=METRICS.values(), the_map=the_map,
        charts=charts, crumbs=breadcrumbs(session, actor, v.scope), labels=v.labels, **_helpers(session, v))


def _helpers(session: Any, v: View) -> dict[str, Any]:
    def level_name(level: str | None) -> str:
        if level is None:
            return t("coverage.no_approved")
        zh, en = LEVEL_NAMES.get(level, (level, level))
        return en if current_lang() == "en" else zh

    def baseline_name(key: str | None) -> str:
        if key is None:
            return t("coverage.all_baselines")
        zh, en = BASELINE_NAMES.get(key, (key, key))
        return en if current_lang() == "en" else zh

    return {"mu_text": mu_text, "pct_text": pct_text, "share_text": share_text, "count_text": count_text,
            "target_text": target_text, "level_name": level_name, "baseline_name": baseline_name,
            "season_label": lambda s: season_name(session, s, current_lang()), "rnd": _round,
            "kind_name": lambda k: SITE_KIND_NAMES.get(k or "", k or ""),
            "flag_name": lambda f: FLAG_NAMES.get(f, f), "reason_name": lambda r: REASON_NAMES.get(r, r),
            "variety_gain": _variety_gain, "completeness_pct": _completeness, "m2_per_mu": M2_PER_MU,
            "computed_at": v.cov.computed_at}


def coverage_export(scope: str) -> Page:
    """覆盖情况导出 XLSX / The view's tables, one sheet each (the same as ``yuanxian report coverage``)."""
    actor = _signed_in_officer()
    if isinstance(actor, WerkzeugResponse):
        return actor
    session = db_session()
    v = _view(session, actor, scope)
    tables = coverage_tables(session, v.scope.code, v.season, cov=v.cov, targets=v.targets, found=v.found)
    out = io.BytesIO()
    write_xlsx(tables, out)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    name = f"coverage-{v.scope.code}-{v.season}-{stamp}.xlsx"
    return Response(out.getvalue(), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def coverage_print(scope: str) -> Page:
    """打印版 / The view's tables on a printable page (no navigation)."""
    actor = _signed_in_officer()
    if isinstance(actor, WerkzeugResponse):
        return actor
    session = db_session()
    v = _view(session, actor, scope)
    tables = coverage_tables(session, v.scope.code, v.season, cov=v.cov, targets=v.targets, found=v.found)
    return render_template("coverage/print.html", v=v, tables=tables, cell=print_cell,
                           printed_on=beijing_today(), **_helpers(session, v))


def print_cell(value: Any) -> str:
    """A table cell as printed: numbers with thousands separators and at most two decimals; Beijing times."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _best(measurements: list[YieldMeasurement]) -> YieldMeasurement | None:
    """The measurement a plot's figure stands on: its highest approved level, 实收 before 理论, the latest
    (``catalog.coverage.best_measurements``'s order)."""
    approved = [m for m in measurements if m.review_state == "approved" and not m.deleted]
    approved.sort(key=lambda m: (-LEVEL_RANK.get(m.level, -1), m.method != "harvest",
                                 -(m.measured_on or dt.date.min).toordinal(), m.id))
    return approved[0] if approved else None


def plot_page(plot_id: str) -> Page:
    """示范地块 / One demo plot: where it lies, its measurements at every level, the one its figures stand on."""
    actor = _signed_in_officer()
    if isinstance(actor, WerkzeugResponse):
        return actor
    session = db_session()
    plot = session.get(DemoPlot, plot_id)
    if plot is None or plot.deleted:
        raise NotFound(en=f"No demo plot '{plot_id}'", zh=f"示范地块“{plot_id}”不存在", id=plot_id)
    scope = ensure_scope_readable(session, actor, plot.county_code)  # 404 outside the officer's scope
    measurements = list(session.scalars(select(YieldMeasurement).where(
        YieldMeasurement.plot_id == plot.id, YieldMeasurement.deleted.is_(False))))
    measurements.sort(key=lambda m: (LEVEL_RANK.get(m.level, -1), m.measured_on or dt.date.min, m.id))
    best = _best(measurements)
    the_map = None
    if plot.boundary is not None:
        the_map = Markup(maps.render_region_map(plot.boundary.buffer(0.002).envelope,
                                                [maps.MapPlot(plot.id, plot.boundary, plot.name)],
                                                title=plot.name, width=640, height=420))
    control = session.get(DemoPlot, plot.control_plot_id) if plot.control_plot_id else None
    site_name = None
    if plot.site_id:
        from catalog.sites import Site

        site = session.get(Site, plot.site_id)
        site_name = site.name if site else plot.site_id
    v = View(scope, plot.season, [plot.season], Coverage(_empty_row(scope), plot.season, [], [], [],
                                                         dt.datetime.now(dt.UTC)), [], None,
             Labels.load(session, [plot.county_code]))
    return render_template("coverage/plot.html", plot=plot, measurements=measurements, best=best, the_map=the_map,
                           control=control, site_name=site_name, crumbs=breadcrumbs(session, actor, scope),
                           area_mu=(plot.area_m2 or 0) / M2_PER_MU if plot.area_m2 else None,
                           **_helpers(session, v), labels=v.labels)


def _empty_row(scope: Scope) -> CoverageRow:
    return CoverageRow(scope.code, scope.name, scope.level)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/coverage", "coverage_home", coverage_home)
    bp.add_url_rule("/coverage/plots/<plot_id>", "coverage_plot", plot_page)
    bp.add_url_rule("/coverage/<scope>", "coverage", coverage_page)
    bp.add_url_rule("/coverage/<scope>/export.xlsx", "coverage_export", coverage_export)
    bp.add_url_rule("/coverage/<scope>/print", "coverage_print", coverage_print)
