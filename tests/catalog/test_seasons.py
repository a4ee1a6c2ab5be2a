"""Seasons, county plans, extension/radiated area reports, national targets and each plot's figure, on a real
database (SQLite and PostGIS): what is refused, field by field, who may write, and what a failed write leaves."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant, operator
from catalog.errors import Conflict, Forbidden, NotFound, ValidationFailed
from catalog.field import YieldMeasurement
from catalog.plot_figures import PlotFigure, figure_query, refresh_plot_figures
from catalog.seasons import (
    ExtensionReport,
    Season,
    SeasonPlan,
    create_extension_report,
    parse_season,
    plan_query,
    save_plan,
    season_name,
)
from catalog.targets import get_target, load_targets, update_target
from catalog.zh_format import area_text, mu_text, pct_text, share_text
from gis.area import M2_PER_MU
from tests.catalog.coverage_data import SEASON, build

ZHONGMOU = Actor("zm", user_id="u-zm", grants=(Grant("county_officer", "410122"),))
HENAN = Actor("hn", user_id="u-hn", grants=(Grant("province_officer", "410000"),))
AGENT = Actor("ag", user_id="u-ag", grants=(Grant("agent", "410122"),))
MINISTRY = Actor("mo", user_id="u-mo", grants=(Grant("ministry_officer", None),))
PLAN = {"county_code": "410122", "season": "2026-autumn_grain", "plots_expected": 12, "area_expected_mu": 600,
        "deadline": "2026-11-15"}


def plans(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(SeasonPlan)) or 0)


def test_season__harvest_year_and_code() -> None:
    assert parse_season("2026-summer_grain") == Season(2026, "summer_grain")
    assert Season(2026, "late_rice").key == "2026-late_rice"


def test_season_name__in_chinese(session: Session) -> None:
    assert season_name(session, "2026-summer_grain") == "2026年夏粮"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("season", "2026 autumn", "invalid_season"),
    ("season", "2026-spring_grain", "unknown_season"),
    ("county_code", "410100", "unknown_county"),       # a prefecture, not a county
    ("plots_expected", -1, "out_of_range"),
    ("plots_expected", 2.5, "not_an_integer"),
    ("area_expected_mu", "many", "not_a_number"),
    ("deadline", "2026-02-30", "invalid_date"),
    ("deadline", "2025-01-10", "outside_season"),       # before autumn grain's field work starts (March)
])
def test_plan__bad_field__refused_and_nothing_written(session: Session, field: str, value: object,
                                                     code: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        save_plan(session, ZHONGMOU, {**PLAN, field: value})
    assert [(x.field, x.code) for x in e.value.errors] == [(field, code)]
    assert plans(session) == 0


def test_plan__one_per_county_and_season__replaced_with_its_version(session: Session) -> None:
    plan = save_plan(session, ZHONGMOU, PLAN)
    assert (plan.plots_expected, plan.area_expected_m2 / M2_PER_MU, plan.version) == (12, pytest.approx(600), 1)
    again = save_plan(session, HENAN, {**PLAN, "plots_expected": 15}, expected_version=1)
    assert (again.id, again.plots_expected, again.version, plans(session)) == (plan.id, 15, 2, 1)
    with pytest.raises(Conflict):
        save_plan(session, ZHONGMOU, {**PLAN, "plots_expected": 9}, expected_version=1)
    assert session.get(SeasonPlan, plan.id).plots_expected == 15


@pytest.mark.parametrize(("actor", "error"), [
    (Actor("other", user_id="u2", grants=(Grant("county_officer", "410184"),)), NotFound),  # another county
    (Actor("hb", user_id="u3", grants=(Grant("province_officer", "130000"),)), NotFound),   # another province
    (AGENT, Forbidden),                                                                    # reads, may not write
])
def test_plan__outside_the_officers_scope__refused(session: Session, actor: Actor, error: type) -> None:
    with pytest.raises(error):
        save_plan(session, actor, PLAN)
    assert plans(session) == 0


def test_plan_query__a_province_officer_lists_only_its_province(session: Session) -> None:
    save_plan(session, ZHONGMOU, PLAN)
    save_plan(session, operator("test"), {**PLAN, "county_code": "130425"})
    assert [p.county_code for p in session.scalars(plan_query(HENAN, SEASON))] == ["410122"]
    assert [p.county_code for p in session.scalars(plan_query(MINISTRY, SEASON))] == ["130425", "410122"]


def test_extension_report__needs_evidence_and_a_known_kind(session: Session) -> None:
    with pytest.raises(ValidationFailed) as e:
        create_extension_report(session, ZHONGMOU, {"county_code": "410122", "season": SEASON, "kind": "walked",
                                                     "area_mu": 0, "evidence": " ",
                                                     "attachment_sha256": "abc"})
    assert sorted(x.field for x in e.value.errors) == ["area_mu", "attachment_sha256", "evidence", "kind"]
    assert session.scalar(select(func.count()).select_from(ExtensionReport)) == 0
    r = create_extension_report(session, ZHONGMOU, {"county_code": "410122", "season": SEASON,
                                                    "kind": "variety_extension", "area_mu": 25000,
                                                    "evidence": "乡镇推广面积汇总表", "attachment_sha256": "a" * 64})
    assert (r.area_mu, r.created_by) == (pytest.approx(25000), "zm")


def test_targets__loaded_once_edited_by_ministry_only(session: Session) -> None:
    assert get_target(session, "variety_demo_area").target_value == 500_000_000
    with pytest.raises(Forbidden):
        update_target(session, HENAN, "yield_gain", {"target_value": 9})
    with pytest.raises(ValidationFailed):
        update_target(session, MINISTRY, "yield_gain", {"target_value": 0})
    update_target(session, MINISTRY, "yield_gain", {"target_value": 9})
    assert load_targets(session) == 0  # a reload keeps the officers' value
    assert (get_target(session, "yield_gain").target_value, get_target(session, "yield_gain").version) == (9, 2)


def test_plot_figure__follows_approval_and_deletion(session: Session) -> None:
    data = build(session)
    b = session.get(PlotFigure, data.plots["B"])
    assert (b.level, b.gain_pct, b.measurements, b.approved) == ("county", 12, 2, 1)
    pending = session.scalars(select(YieldMeasurement).where(YieldMeasurement.plot_id == data.plots["B"],
                                                             YieldMeasurement.level == "ministry")).one()
    pending.review_state = "approved"
    session.flush()
    session.expire_all()
    b = session.get(PlotFigure, data.plots["B"])
    assert (b.level, b.gain_pct, b.approved) == ("ministry", 30, 2)
    province = session.scalars(select(YieldMeasurement).where(YieldMeasurement.plot_id == data.plots["A"],
                                                              YieldMeasurement.level == "province")).one()
    province.deleted = True
    session.flush()
    session.expire_all()
    a = session.get(PlotFigure, data.plots["A"])
    assert (a.level, a.gain_pct, a.measurements) == ("county", 10, 1)
    kept = sorted(tuple(r) for r in session.execute(select(PlotFigure.plot_id, PlotFigure.level,
                                                           PlotFigure.gain_pct, PlotFigure.first_on)))
    refresh_plot_figures(session)  # recomputed from scratch: the same rows the hook kept
    assert sorted(tuple(r) for r in session.execute(select(PlotFigure.plot_id, PlotFigure.level,
                                                           PlotFigure.gain_pct, PlotFigure.first_on))) == kept
    assert len(session.execute(figure_query()).all()) == len(kept)


def test_zh_format__areas_in_mu_wan_and_yi() -> None:
    assert mu_text(86.44) == "86.4亩"
    assert mu_text(12_345) == "1.23万亩"
    assert mu_text(500_000_000) == "5亿亩"
    assert area_text(300_000 * M2_PER_MU) == "30万亩"
    assert (pct_text(7.912), pct_text(-1.25), share_text(0.4567), mu_text(None)) == ("+7.9%", "-1.2%", "45.7%", "—")


def test_seasons__newest_year_first_in_the_code_lists_order__default_the_busiest_begun(session: Session) -> None:
    from catalog.db import new_id
    from catalog.field import DemoPlot
    from catalog.seasons import default_season, seasons_in_use

    def plot(county: str, season: str) -> None:
        session.add(DemoPlot(id=new_id(), county_code=county, name=f"{county}-{season}-{new_id()[:4]}", crop="maize",
                             season=season))

    for county, season, n in [("410122", "2026-xiaochun", 1), ("410122", "2026-autumn_grain", 3),
                              ("410122", "2026-summer_grain", 2), ("410122", "2025-autumn_grain", 5),
                              ("450102", "2026-late_rice", 4), ("410122", "2027-summer_grain", 1),
                              ("410122", "2027-autumn_grain", 9)]:
        for _ in range(n):
            plot(county, season)
    session.flush()
    assert seasons_in_use(session) == ["2027-summer_grain", "2027-autumn_grain", "2026-summer_grain",
                                       "2026-autumn_grain", "2026-late_rice", "2026-xiaochun", "2025-autumn_grain"]
    # 1 December 2026: 2027's wheat is sown (its season began in September), 2027's maize not yet
    today = dt.date(2026, 12, 1)
    assert default_season(session, today, "41") == "2027-summer_grain"
    assert default_season(session, dt.date(2026, 8, 20), "41") == "2026-autumn_grain"  # busier than 2026's wheat
    assert default_season(session, dt.date(2026, 8, 20), "45") == "2026-late_rice"  # 广西 opens on its rice
    assert default_season(session, dt.date(2026, 8, 20), "11") == "2026-autumn_grain"  # no plots: this year's 秋粮
