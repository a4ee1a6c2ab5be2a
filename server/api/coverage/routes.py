"""Coverage for a scope and season (catalog.coverage), progress to the national targets (catalog.targets), gaps
(catalog.gaps) and their export (catalog.coverage_export); season plans and extension/radiated area reports
(catalog.seasons); the national targets (catalog.targets).

Scoping is the domain's: ``ensure_scope_readable`` (404 outside an officer's scope; accounts that are not officers
read no coverage, 404), ``plan_query`` / ``extension_report_query`` (what one reads), ``save_plan`` and the report
writes (404 unreadable county, 403 read-only such as an agent, 409 stale ``version``, 422 per field),
``update_target`` (ministry officers only, 403). Every write is audited by the domain (it flushes as the actor).
Areas are 亩 as plain JSON numbers (unrounded); each row names the review levels its yield figures stand on.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from catalog import seasons as season_rules
from catalog.coverage import LEVEL_NAMES, Coverage, CoverageRow, PlotRow, Scope, coverage, ensure_scope_readable
from catalog.coverage_export import coverage_tables, csv_bytes, write_xlsx
from catalog.db import beijing_today
from catalog.errors import FieldError, NotFound, ValidationFailed
from catalog.field import LEVELS
from catalog.gaps import Gaps, gaps
from catalog.seasons import ExtensionReport, SeasonPlan, default_season, parse_season
from catalog.targets import NationalTarget, TargetProgress, list_targets, progress, update_target
from gis.area import M2_PER_MU
from server.api.coverage.schemas import (
    CoverageQuery,
    ExportQuery,
    PlanInput,
    PlanPageSchema,
    PlanQuery,
    PlanSchema,
    ReportInput,
    ReportPageSchema,
    ReportPatch,
    ReportQuery,
    ReportSchema,
    TargetPatch,
    TargetSchema,
)
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("coverage", __name__, url_prefix="/api",
                description="覆盖情况、目标进度、缺口、季别计划、推广/辐射面积、全国目标 / Coverage, targets, gaps, "
                            "season plans, extension reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------------------------------- JSON


def _mu(m2: float | None) -> float | None:
    return None if m2 is None else m2 / M2_PER_MU


def _basis(row: CoverageRow) -> dict[str, Any]:
    return {"review_levels": {lv: row.review_levels.get(lv, 0) for lv in LEVELS}, "review_basis": row.review_basis()}


def row_dict(row: CoverageRow) -> dict[str, Any]:
    """One division's or site's figures: counts as integers, areas in 亩, gains in %, shares 0–1."""
    c = row.completeness
    return {
        "code": row.code, "name": row.name, "level": row.level, "kind": row.kind, "province_code": row.province_code,
        "results_matched": row.results_matched, "results_landed": row.results_landed,
        "plots": row.plots, "plot_area_mu": row.plot_area_mu, "variety_plots": row.variety_plots,
        "variety_area_mu": row.variety_area_mu, "land_plots": row.land_plots, "land_area_mu": row.land_area_mu,
        "extension_area_mu": row.extension_area_mu, "radiated_area_mu": row.radiated_area_mu,
        "measurements": row.measurements, "approved_measurements": row.approved_measurements,
        "measured_plots": row.measured_plots, **_basis(row),
        "gains": [{"demo_type": g.demo_type, "crop": g.crop, "baseline_type": g.baseline_type, "plots": g.plots,
                   "area_mu": g.area_mu, "gain_pct": g.gain_pct, "yield_kg_per_mu": g.yield_kg_per_mu}
                  for g in row.gains],
        "land": [{"land_scenario": lf.land_scenario, "plots": lf.plots, "area_mu": lf.area_mu,
                  "graded_plots": lf.graded_plots, "graded_area_mu": _mu(lf.graded_area_m2),
                  "grade_change": lf.grade_change} for lf in row.land],
        "completeness": {"planned_counties": c.planned_counties, "expected": c.expected,
                         "expected_area_mu": _mu(c.expected_area_m2), "approved": c.approved,
                         "on_time": c.on_time, "late": c.late,
                         "deadline": c.deadline.isoformat() if c.deadline else None,
                         "share": c.share, "on_time_share": c.on_time_share},
        "events_held": row.events_held, "needs_open": row.needs_open, "needs_met": row.needs_met,
    }


def plot_dict(p: PlotRow) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "county_code": p.county_code, "site_id": p.site_id, "crop": p.crop,
            "variety": p.variety, "demo_type": p.demo_type, "land_scenario": p.land_scenario,
            "area_mu": _mu(p.area_m2), "flags": p.flags, "level": p.level,
            "level_name": LEVEL_NAMES[p.level][0] if p.level else None, "method": p.method,
            "yield_kg_per_mu": p.yield_kg_per_mu, "gain_pct": p.gain_pct, "baseline_type": p.baseline_type,
            "measured_on": p.measured_on.isoformat() if p.measured_on else None}


def coverage_dict(cov: Coverage) -> dict[str, Any]:
    return {"season": cov.season, "computed_at": cov.computed_at.isoformat(), "scope": row_dict(cov.scope),
            "children": [row_dict(r) for r in cov.children], "sites": [row_dict(r) for r in cov.sites],
            "plots": [plot_dict(p) for p in cov.plots]}


def progress_dict(tp: TargetProgress) -> dict[str, Any]:
    def contributor(c: Any) -> dict[str, Any]:
        return {"code": c.code, "name": c.name, "kind": c.kind, "value": c.value}

    return {"id": tp.id, "name_zh": tp.name_zh, "name_en": tp.name_en, "unit": tp.unit, "accumulate": tp.accumulate,
            "target": tp.target, "value": tp.value, "share": tp.share, "parts": tp.parts, "by_year": tp.by_year,
            "basis": tp.basis, "contributors": [contributor(c) for c in tp.contributors],
            "sites": [contributor(c) for c in tp.sites]}


def gaps_dict(found: Gaps) -> dict[str, Any]:
    return {
        "scope": found.scope, "season": found.season, "median_share": found.median_share,
        "sites": [{"site_id": g.site_id, "name": g.name, "kind": g.kind, "province_code": g.province_code,
                   "no_landed_result": g.no_landed_result, "no_demo_plot": g.no_demo_plot, "no_yield": g.no_yield}
                  for g in found.sites],
        "behind": [{"site_id": b.site_id, "county_code": b.county_code, "name": b.name, "expected": b.expected,
                    "approved": b.approved, "share": b.share,
                    "deadline": b.deadline.isoformat() if b.deadline else None, "reasons": b.reasons}
                   for b in found.behind],
        "flagged": [{"plot_id": f.plot_id, "name": f.name, "county_code": f.county_code, "crop": f.crop,
                     "flags": f.flags, "yield_kg_per_mu": f.yield_kg_per_mu,
                     "fence": list(f.fence) if f.fence else None} for f in found.flagged],
        "flagged_total": found.flagged_total,
    }


def plan_dict(p: SeasonPlan) -> dict[str, Any]:
    return {"id": p.id, "county_code": p.county_code, "season": p.season, "plots_expected": p.plots_expected,
            "area_expected_mu": _mu(p.area_expected_m2), "deadline": p.deadline, "notes": p.notes,
            "version": p.version, "created_by": p.created_by, "updated_by": p.updated_by,
            "created_at": p.created_at, "updated_at": p.updated_at}


def report_dict(r: ExtensionReport) -> dict[str, Any]:
    return {"id": r.id, "county_code": r.county_code, "season": r.season, "kind": r.kind, "area_mu": r.area_mu,
            "crop": r.crop, "land_scenario": r.land_scenario, "evidence": r.evidence,
            "attachment_sha256": r.attachment_sha256, "reported_on": r.reported_on, "version": r.version,
            "created_by": r.created_by, "updated_by": r.updated_by, "created_at": r.created_at,
            "updated_at": r.updated_at}


# --------------------------------------------------------------------------------------------------- coverage


def _season(session: Any, asked: str | None, scope: Scope) -> str:
    """The season asked for (checked: 422 ``season``), else the scope's current one (as the dashboard)."""
    if asked:
        return parse_season(asked).key
    return default_season(session, beijing_today(), scope.plots_prefix)


def _view(args: dict[str, Any]) -> tuple[Any, str, Coverage]:
    session = db_session()
    scope = ensure_scope_readable(session, current_actor(), args["scope"])
    season = _season(session, args.get("season"), scope)
    return scope, season, coverage(session, scope.code, season, today=beijing_today())


@blp.route("/coverage")
class CoverageView(MethodView):
    @blp.arguments(CoverageQuery, location="query")
    @blp.response(200)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """一个范围、一季的覆盖情况：本级、下级、站点、（县和站点）地块 / A scope's coverage for a season"""
        _scope, _season_key, cov = _view(args)
        return coverage_dict(cov)


@blp.route("/coverage/progress")
class ProgressView(MethodView):
    @blp.arguments(CoverageQuery, location="query")
    @blp.response(200)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """全国目标进度（本范围、本季）/ Progress to the national targets in a scope and season"""
        _scope, season, cov = _view(args)
        items = progress(db_session(), cov.scope.code, season, cov=cov, today=beijing_today())
        return {"scope": cov.scope.code, "season": season, "items": [progress_dict(t) for t in items]}


@blp.route("/coverage/gaps")
class GapsView(MethodView):
    @blp.arguments(CoverageQuery, location="query")
    @blp.response(200)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """缺口：未覆盖的站点、进度落后的重点帮扶县、待核地块 / Gaps of a scope and season"""
        _scope, season, cov = _view(args)
        return gaps_dict(gaps(db_session(), cov.scope.code, season, today=beijing_today(), cov=cov))


@blp.route("/coverage/export.xlsx")
class ExportView(MethodView):
    @blp.arguments(ExportQuery, location="query")
    @blp.response(200, content_type=XLSX)
    @login_required
    def get(self, args: dict[str, Any]) -> Response:
        """导出：XLSX 每张表一个工作表（与 yuanxian report coverage 相同）；format=csv 时一张表（table）/ Export"""
        _scope, season, cov = _view(args)
        session = db_session()
        tables = coverage_tables(session, cov.scope.code, season, today=beijing_today(), cov=cov)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
        if args["format"] == "csv":
            table = next((t for t in tables if t.key == args["table"]), None)
            if table is None:
                raise ValidationFailed([FieldError("table", "invalid_choice", "没有这张表",
                                                   f"No table '{args['table']}' here; one of "
                                                   f"{', '.join(t.key for t in tables)}", value=args["table"])])
            name = f"coverage-{cov.scope.code}-{season}-{table.key}-{stamp}.csv"
            return Response(b"".join(csv_bytes(table)), mimetype="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        out = io.BytesIO()
        write_xlsx(tables, out)
        name = f"coverage-{cov.scope.code}-{season}-{stamp}.xlsx"
        return Response(out.getvalue(), mimetype=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --------------------------------------------------------------------------------------------------- plans


def _page(query: Any, args: dict[str, Any], to_dict: Any) -> dict[str, Any]:
    session = db_session()
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"]))
    return {"items": [to_dict(r) for r in rows], "total": total, "page": args["page"], "per_page": args["per_page"],
            "pages": max(1, math.ceil(total / args["per_page"]))}


@blp.route("/plans")
class Plans(MethodView):
    @blp.arguments(PlanQuery, location="query")
    @blp.response(200, PlanPageSchema)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """季别计划（本人可读的县）/ Season plans of the counties one reads"""
        return _page(season_rules.plan_query(current_actor(), args.get("season"), args.get("county")), args,
                     plan_dict)


def _plan_of(county: str, season: str) -> SeasonPlan:
    plan = db_session().scalar(season_rules.plan_query(current_actor(), season, county)
                               .where(SeasonPlan.county_code == county))
    if plan is None:
        raise NotFound(en=f"No plan of {county} for {season}", zh=f"{county} 没有 {season} 的计划",
                       county_code=county, season=season)
    return plan


@blp.route("/plans/<county>/<season>")
class Plan(MethodView):
    @blp.response(200, PlanSchema)
    @login_required
    def get(self, county: str, season: str) -> dict[str, Any]:
        """一个县一季的计划 / One county's plan for a season"""
        return plan_dict(_plan_of(county, season))

    @blp.arguments(PlanInput)
    @blp.response(200, PlanSchema)
    @login_required
    def put(self, data: dict[str, Any], county: str, season: str) -> dict[str, Any]:
        """填写或替换一个县一季的计划（带 version 时版本不一致答 409）/ Create or replace a plan"""
        session = db_session()
        version = data.pop("version", None)
        plan = season_rules.save_plan(session, current_actor(), {**data, "county_code": county, "season": season},
                                      expected_version=version)
        session.commit()
        return plan_dict(plan)

    @blp.response(204)
    @login_required
    def delete(self, county: str, season: str) -> None:
        """删除一个县一季的计划 / Delete a plan"""
        session = db_session()
        season_rules.delete_plan(session, current_actor(), _plan_of(county, season).id)
        session.commit()


# --------------------------------------------------------------------------------------------------- reports


@blp.route("/extension-reports")
class Reports(MethodView):
    @blp.arguments(ReportQuery, location="query")
    @blp.response(200, ReportPageSchema)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """推广面积、辐射面积报告（本人可读的县）/ Extension and radiated area reports"""
        q = season_rules.extension_report_query(current_actor(), args.get("season"), args.get("county"),
                                                args.get("kind"))
        return _page(q, args, report_dict)

    @blp.arguments(ReportInput)
    @blp.response(201, ReportSchema)
    @login_required
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """上报一个县一季的推广或辐射面积（须写明依据）/ Report a county's extension or radiated area"""
        session = db_session()
        report = season_rules.create_extension_report(session, current_actor(), data)
        session.commit()
        return report_dict(report)


@blp.route("/extension-reports/<report_id>")
class Report(MethodView):
    @blp.response(200, ReportSchema)
    @login_required
    def get(self, report_id: str) -> dict[str, Any]:
        """一条面积报告 / One report"""
        return report_dict(season_rules.get_extension_report(db_session(), current_actor(), report_id))

    @blp.arguments(ReportPatch)
    @blp.response(200, ReportSchema)
    @login_required
    def patch(self, data: dict[str, Any], report_id: str) -> dict[str, Any]:
        """修改一条面积报告（带 version 时版本不一致答 409）/ Change a report"""
        session = db_session()
        version = data.pop("version", None)
        report = season_rules.update_extension_report(session, current_actor(), report_id, data,
                                                      expected_version=version)
        session.commit()
        return report_dict(report)

    @blp.response(204)
    @login_required
    def delete(self, report_id: str) -> None:
        """删除一条面积报告 / Delete a report"""
        session = db_session()
        season_rules.delete_extension_report(session, current_actor(), report_id)
        session.commit()


# --------------------------------------------------------------------------------------------------- targets


@blp.route("/targets")
class Targets(MethodView):
    @blp.response(200, TargetSchema(many=True))
    @login_required
    def get(self) -> list[NationalTarget]:
        """全国目标（目标值；进度见 /api/coverage/progress）/ The national targets"""
        return list_targets(db_session())


@blp.route("/targets/<target_id>")
class Target(MethodView):
    @blp.arguments(TargetPatch)
    @blp.response(200, TargetSchema)
    @login_required
    def patch(self, data: dict[str, Any], target_id: str) -> NationalTarget:
        """修改全国目标（仅部级管理员）/ Change a national target (ministry officers only)"""
        session = db_session()
        version = data.pop("version", None)
        target = update_target(session, current_actor(), target_id, data, expected_version=version)
        session.commit()
        return target
