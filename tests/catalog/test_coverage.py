"""Coverage figures, progress to the national targets and gaps on the small data set of
``tests/catalog/coverage_data.py``, every expectation computed by hand there; on SQLite and PostGIS."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.coverage import coverage, ensure_scope_readable, resolve_scope
from catalog.coverage_series import season_series
from catalog.errors import NotFound, ValidationFailed
from catalog.field import DemoPlot, YieldMeasurement
from catalog.gaps import MIN_FOR_FENCES, gaps, implausible_yields, national_median_share
from catalog.targets import progress
from gis.area import M2_PER_MU
from tests.catalog.coverage_data import SEASON, TODAY, build

approx = pytest.approx


@pytest.fixture
def data(session: Session):  # type: ignore[no-untyped-def]
    return build(session)


def mu(m2: float) -> float:
    return m2 / M2_PER_MU


def test_county__plots_area_measurements_and_gains_by_baseline(session: Session, data) -> None:
    row = coverage(session, "410122", SEASON, today=TODAY).scope
    assert (row.plots, mu(row.plot_area_m2)) == (3, approx(60))  # A, B, C; not the control plot H, not deleted J
    assert (row.measurements, row.approved_measurements, row.measured_plots) == (5, 4, 3)
    assert row.review_levels == {"county": 2, "province": 1}   # A stands on its province re-test
    ck = row.gain("maize", "check_variety")
    assert (ck.plots, ck.area_mu, ck.gain_pct, ck.yield_kg_per_mu) == (2, approx(40), approx(9.0), approx(697.5))
    control = row.gain("maize", "control_plot")
    assert (control.plots, control.gain_pct, control.yield_kg_per_mu) == (1, approx(4.0), approx(650))
    pooled = row.gain("maize", None)
    assert (pooled.gain_pct, pooled.yield_kg_per_mu) == (approx(440 / 60), approx(40900 / 60))
    assert mu(row.extension_area_m2) == approx(10000)


def test_county__completeness_on_time_and_late_against_the_plan(session: Session, data) -> None:
    c = coverage(session, "410122", SEASON, today=TODAY).scope.completeness
    assert (c.expected, c.approved, c.on_time, c.late) == (4, 3, 2, 1)  # B measured 11-20, after 11-15
    assert c.share == approx(0.75)
    other = coverage(session, "410184", SEASON, today=TODAY).scope.completeness
    assert (other.expected, other.approved, other.on_time, other.late, other.share) == (2, 1, 1, 0, approx(0.5))


def test_county__plots_of_the_drill_down_stand_on_their_best_measurement(session: Session, data) -> None:
    plots = {p.name: p for p in coverage(session, "410122", SEASON, today=TODAY).plots}
    assert sorted(plots) == ["A", "B", "C"]
    assert (plots["A"].level, plots["A"].gain_pct, plots["A"].flags) == ("province", 8, ["outside_county"])
    assert (plots["B"].level, plots["B"].gain_pct) == ("county", 12)  # the pending ministry +30 is not a figure


def test_land_quality__area_and_grade_change_by_scenario(session: Session, data) -> None:
    row = coverage(session, "410225", SEASON, today=TODAY).scope
    assert (row.land_plots, mu(row.land_area_m2), row.variety_plots) == (1, approx(60), 0)
    (land,) = row.land
    assert (land.land_scenario, land.plots, land.graded_plots, land.grade_change) == ("SC0103", 1, 1, approx(1.0))
    assert row.gain(None, None, "land_quality").gain_pct == approx(11)
    assert row.completeness.share is None  # no plan
    assert mu(row.radiated_area_m2) == approx(5000)


def test_rollup__prefecture_and_province(session: Session, data) -> None:
    henan = coverage(session, "410000", SEASON, today=TODAY)
    children = {c.code: c for c in henan.children}
    zz = children["410100"]
    assert (zz.plots, mu(zz.plot_area_m2), zz.measured_plots) == (5, approx(150), 4)
    assert (zz.completeness.expected, zz.completeness.approved, zz.completeness.on_time) == (6, 4, 3)
    assert (children["410200"].plots, mu(children["410200"].land_area_m2)) == (1, approx(60))
    row = henan.scope
    assert (row.plots, mu(row.plot_area_m2), mu(row.variety_area_m2), mu(row.land_area_m2)) == \
        (6, approx(210), approx(150), approx(60))
    assert row.gain(None, None).gain_pct == approx(740 / 110)          # A, B, C, E pooled, by area
    assert row.gain("maize", "check_variety").gain_pct == approx(9.0)  # A and B
    c = row.completeness
    assert (c.expected, c.approved, c.on_time, c.late, c.share) == (6, 4, 3, 1, approx(4 / 6))
    assert (row.results_matched, row.results_landed) == (2, 1)         # R1 and R2; R3 dropped
    assert (row.needs_open, row.needs_met, row.events_held) == (1, 1, 1)  # not the planned one, not the national
    assert (mu(row.extension_area_m2), mu(row.radiated_area_m2)) == (approx(10000), approx(5000))


def test_rollup__country(session: Session, data) -> None:
    cov = coverage(session, None, SEASON, today=TODAY)
    row = cov.scope
    assert (row.code, row.plots, mu(row.plot_area_m2), mu(row.variety_area_m2)) == ("000000", 7, approx(310),
                                                                                   approx(250))
    ck = row.gain("maize", "check_variety")
    assert (ck.plots, ck.gain_pct, ck.yield_kg_per_mu) == (3, approx(9.0), approx(98900 / 140))
    assert row.gain(None, None).gain_pct == approx(1640 / 210)
    c = row.completeness
    assert (c.expected, c.approved, c.on_time, c.late) == (12, 5, 4, 1)
    assert row.review_levels == {"county": 5, "province": 1}
    assert row.events_held == 2
    provinces = {c.code: c for c in cov.children}
    assert len(provinces) == 34 and provinces["130000"].plots == 1 and provinces["410000"].plots == 6


def test_sites__county_sites_take_their_counties_parks_their_plots(session: Session, data) -> None:
    sites = {s.code: s for s in coverage(session, "410000", SEASON, today=TODAY).sites}
    xz = sites["IC1-410184"]
    assert (xz.plots, mu(xz.plot_area_m2), xz.results_matched, xz.results_landed) == (2, approx(90), 2, 1)
    assert (xz.needs_open, xz.needs_met, xz.events_held, xz.completeness.expected) == (1, 1, 1, 2)
    park = sites["NASTP156"]
    assert (park.plots, park.land_plots, park.results_matched, park.results_landed, park.events_held) == \
        (1, 1, 1, 0, 1)
    alone = coverage(session, "IC1-410184", SEASON, today=TODAY)
    assert (alone.scope.plots, alone.scope.measured_plots, sorted(p.name for p in alone.plots)) == (2, 1, ["D", "E"])


def test_progress__every_target_value_and_share(session: Session, data) -> None:
    t = {p.id: p for p in progress(session, None, SEASON, today=TODAY)}
    assert (t["varieties"].value, t["varieties"].share) == (5, approx(0.05))
    area = t["variety_demo_area"]
    assert area.value == approx(10275) and area.share == approx(10275 / 5e8)
    assert area.parts == {"walked_mu": approx(275), "reported_mu": approx(10000)}
    assert [(c.code, c.value) for c in area.contributors] == [("410000", approx(10175)), ("130000", approx(100))]
    gain = t["yield_gain"]
    assert gain.value == approx(1640 / 210) and gain.share == approx(1640 / 210 / 8)
    assert gain.parts == {"check_variety": approx(9.0), "control_plot": approx(4.0), "county_average": approx(6.0)}
    assert [(c.code, c.value) for c in gain.contributors] == [("130000", approx(9.0)), ("410000", approx(740 / 110))]
    assert (t["core_demo_area"].value, t["core_demo_area"].share) == (approx(60), approx(60 / 300000))
    assert (t["radiated_area"].value, t["radiated_area"].share) == (approx(5000), approx(5000 / 4e8))
    assert (t["grain_gain"].value, t["grain_gain"].share) == (approx(11), approx(1.1))
    assert (t["land_scenarios"].value, t["land_scenarios"].share) == (1, approx(0.25))
    assert (t["grade_change"].value, t["grade_change"].share) == (approx(1.0), approx(1.0))
    assert "县级自测 5 块" in gain.basis and "省级复测 1 块" in gain.basis


def test_progress__edited_target_changes_the_share(session: Session, data) -> None:
    from catalog.access import operator
    from catalog.targets import update_target

    update_target(session, operator("test"), "yield_gain", {"target_value": 10})
    t = {p.id: p for p in progress(session, None, SEASON, today=TODAY)}
    assert t["yield_gain"].share == approx(1640 / 210 / 10)


def test_gaps__sites_behind_and_flagged(session: Session, data) -> None:
    found = gaps(session, None, SEASON, today=TODAY)
    assert found.median_share == approx(0.625)  # 0, 0.5, 0.75, 1.0
    behind = {b.site_id: b for b in found.behind}
    assert behind["KC-150422"].reasons == ["below_median", "deadline_passed"]
    assert (behind["KC-150422"].expected, behind["KC-150422"].approved) == (5, 0)
    assert behind["KC-150524"].reasons == ["no_plan"]
    site_gaps = {g.site_id: g for g in found.sites}
    assert "IC1-410184" not in site_gaps
    park = site_gaps["NASTP156"]
    assert (park.no_landed_result, park.no_demo_plot, park.no_yield) == (True, False, False)
    assert [(f.name, f.flags) for f in found.flagged] == [("A", ["outside_county"])]


def test_gaps__implausible_yield_outside_the_county_fences(session: Session) -> None:
    from catalog.db import new_id

    yields = [600, 610, 620, 630, 640, 650, 660, 670, 680, 2000]
    assert len(yields) >= MIN_FOR_FENCES
    for k, y in enumerate(yields):
        plot = DemoPlot(id=new_id(), county_code="410102", name=f"P{k}", area_m2=10 * M2_PER_MU, crop="maize",
                        season=SEASON)
        session.add(plot)
        session.flush()
        session.add(YieldMeasurement(plot_id=plot.id, county_code="410102", method="harvest", level="county",
                                     crop="maize", yield_kg_per_mu=y, review_state="approved"))
    session.flush()
    # NTILE(4) of ten values: quarters of 3, 3, 2, 2 → Q1 = 620, Q3 = 670, IQR 50, fences 470 … 820
    (flagged,) = implausible_yields(session, SEASON)
    assert (flagged.name, flagged.yield_kg_per_mu, flagged.fence) == ("P9", 2000, (approx(470), approx(820)))


@pytest.mark.parametrize(("grant", "scope", "readable"), [
    (Grant("province_officer", "410000"), "410000", True),
    (Grant("province_officer", "410000"), "410122", True),
    (Grant("province_officer", "410000"), "IC1-410184", True),
    (Grant("province_officer", "410000"), "000000", False),
    (Grant("province_officer", "410000"), "130000", False),
    (Grant("province_officer", "410000"), "KC-150422", False),
    (Grant("city_officer", "410100"), "410122", True),
    (Grant("city_officer", "410100"), "410000", False),
    (Grant("city_officer", "410100"), "410225", False),
    (Grant("county_officer", "410122"), "410122", True),
    (Grant("county_officer", "410122"), "410100", False),
    (Grant("ministry_officer", None), "000000", True),
    (Grant("agent", "410122"), "410122", False),
])
def test_scope__readable_only_inside_the_officers_division(session: Session, grant: Grant, scope: str,
                                                           readable: bool) -> None:
    actor = Actor("someone", user_id="u1", grants=(grant,))
    if readable:
        assert ensure_scope_readable(session, actor, scope).code == scope
    else:
        with pytest.raises(NotFound):
            ensure_scope_readable(session, actor, scope)


def test_bad_season_and_unknown_scope_are_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as e:
        coverage(session, "410000", "autumn 2026")
    assert e.value.errors[0].field == "season"
    with pytest.raises(NotFound):
        coverage(session, "999999", SEASON)


def test_reused_figures__equal_those_counted_again(session: Session, data) -> None:
    # the national median from the coverage's one pass, and the series' own season from the coverage, are the
    # figures a separate scan gives (0, 0.5, 0.75, 1.0 as above; the season's 7 plots, 6 with an approved yield)
    cov = coverage(session, None, SEASON, today=TODAY)
    assert national_median_share(session, SEASON, cov.county_figured) == national_median_share(session, SEASON) \
        == approx(0.625)
    scope = resolve_scope(session, "000000")
    seasons = ["2025-autumn_grain", SEASON]
    reused, counted = season_series(session, scope, seasons, cov), season_series(session, scope, seasons)
    assert [(f.plots, f.area_m2, f.measured_plots) for f in reused] \
        == [(f.plots, approx(f.area_m2), f.measured_plots) for f in counted]
    assert [(f.plots, f.measured_plots) for f in reused] == [(1, 0), (7, 6)]
