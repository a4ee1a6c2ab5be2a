"""Demo coverage data: each demo county's plan for every season its plots are in, the extension and radiated area
it reports, plans of a few key assistance counties that have no plots yet (so the gaps show them), and the national
targets (loaded with the reference data, ``catalog.targets``).

Plans are entered as the county's officer through ``catalog.seasons.save_plan``: most counties plan a little more
than they walked (a plan is a target), one plans exactly what it did; deadlines fall some weeks after the season's
harvest month. Reports carry evidence text the way county offices write it. ``random.Random(seed)`` makes it
deterministic; a second run leaves existing plans alone.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.demo_plots import COUNTIES
from catalog.field import DemoPlot
from catalog.seasons import ExtensionReport, SeasonPlan, create_extension_report, save_plan, season_dates
from gis.area import M2_PER_MU

# Key assistance counties (重点帮扶县, shipped list) with a plan but no plot yet: the gaps page has someone behind.
KEY_COUNTIES_PLANNED = (("150422", "2026-autumn_grain", 12), ("150524", "2026-autumn_grain", 8),
                        ("450124", "2026-early_rice", 6))
LAND_RADIATED = {"230184": "SC0101", "130425": "SC0103"}  # 五常 黑土地, 大名 盐碱地
EVIDENCE = ("县农业农村局{season}推广面积统计表（各乡镇汇总，加盖公章）", "县农技推广中心{season}品种推广情况调查报告",
            "{season}乡镇农业综合服务站上报面积汇总")


@dataclass
class CoverageSeedReport:
    plans: int = 0
    reports: int = 0
    skipped: bool = False


def _officer(county: str) -> Actor:
    return Actor(f"demo-officer-{county}", grants=(Grant("county_officer", county),), channel="seed")


def seed_coverage(session: Session, seed: int = 42) -> CoverageSeedReport:
    """Plans and extension reports for the demo counties (flushes, never commits)."""
    report = CoverageSeedReport()
    if session.scalar(select(func.count()).select_from(SeasonPlan)):
        report.skipped = True
        return report
    rng = random.Random(f"coverage:{seed}")
    control_ids = select(DemoPlot.control_plot_id).where(DemoPlot.control_plot_id.is_not(None))
    for county in COUNTIES:
        officer = _officer(county.code)
        rows = session.execute(
            select(DemoPlot.season, func.count(), func.coalesce(func.sum(DemoPlot.area_m2), 0.0))
            .where(DemoPlot.county_code == county.code, DemoPlot.deleted.is_(False),
                   DemoPlot.id.not_in(control_ids))
            .group_by(DemoPlot.season).order_by(DemoPlot.season)).all()
        exact = county.code == "230184"  # 五常 plans what it walks
        for season, n, area in rows:
            area_m2 = float(area or 0.0)
            window = season_dates(session, season)
            if window is None:
                continue
            expected = int(n) if exact else int(math.ceil(int(n) * rng.uniform(1.1, 1.4)))
            plan = next((c for c in county.crops if season.endswith(c.season)), None)
            if county.code in ("410122", "341221") and plan is not None:  # tight deadlines: some plots are late
                deadline = dt.date(int(season[:4]), plan.month, 15)
            else:
                deadline = window[1] - dt.timedelta(days=rng.randint(5, 25))
            save_plan(session, officer, {
                "county_code": county.code, "season": season, "plots_expected": expected,
                "area_expected_mu": round(area_m2 / M2_PER_MU * expected / max(1, int(n)), 1),
                "deadline": deadline.isoformat(), "notes": "县农业农村局年度示范计划"})
            report.plans += 1
            walked_mu = area_m2 / M2_PER_MU
            if season[:4] >= "2025":
                create_extension_report(session, officer, {
                    "county_code": county.code, "season": season, "kind": "variety_extension",
                    "area_mu": round(walked_mu * rng.uniform(40, 120), -2),
                    "crop": county.crops[0].crop if county.crops[0].season in season else None,
                    "evidence": rng.choice(EVIDENCE).format(season=season), "reported_on": deadline.isoformat()})
                report.reports += 1
                if county.code in LAND_RADIATED:
                    create_extension_report(session, officer, {
                        "county_code": county.code, "season": season, "kind": "land_radiated",
                        "area_mu": round(walked_mu * rng.uniform(150, 400), -3),
                        "land_scenario": LAND_RADIATED[county.code],
                        "evidence": f"{season}耕地质量提升辐射面积调查（县耕地质量监测站）",
                        "reported_on": deadline.isoformat()})
                    report.reports += 1
    for code, season, expected in KEY_COUNTIES_PLANNED:
        window = season_dates(session, season)
        if window is None:
            continue
        save_plan(session, _officer(code), {"county_code": code, "season": season, "plots_expected": expected,
                                            "area_expected_mu": expected * 50, "deadline": window[1].isoformat(),
                                            "notes": "帮扶县示范计划"})
        report.plans += 1
    session.flush()
    return report


def coverage_counts(session: Session) -> tuple[int, int]:
    return (int(session.scalar(select(func.count()).select_from(SeasonPlan)) or 0),
            int(session.scalar(select(func.count()).select_from(ExtensionReport)) or 0))
