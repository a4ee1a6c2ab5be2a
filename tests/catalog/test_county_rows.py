"""The rows kept per county (``catalog.county_refresh``): its plot totals (``catalog.county_totals``), measured
plots (``catalog.county_gains``) and implausible yields (``catalog.yield_outliers``) stay exactly what a
from-scratch computation gives after inserts, edits, approvals, rejections, deletions, plot moves, park and area
changes, control plots and plan changes; each step's flagged plot and fences, and the totals and gains at a few
steps, computed by hand. On SQLite and PostGIS."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from catalog.county_gains import CountyGain, gains_query
from catalog.county_totals import CountyTotal, totals_query
from catalog.db import new_id
from catalog.field import DemoPlot, YieldMeasurement
from catalog.gaps import implausible_yields
from catalog.plot_figures import refresh_plot_figures
from catalog.seasons import SeasonPlan
from catalog.yield_outliers import ImplausibleYield, outlier_query
from gis.area import M2_PER_MU
from tests.catalog.coverage_data import SEASON

approx = pytest.approx
VERSIONS = Path(__file__).resolve().parents[2] / "catalog/migrations/versions"
MIGRATION, GAINS_MIGRATION = VERSIONS / "0013_county_rows.py", VERSIONS / "0014_county_gains.py"


def stored(session: Session) -> list[tuple[object, ...]]:
    o = ImplausibleYield
    return sorted(tuple(r) for r in session.execute(select(o.plot_id, o.season, o.county_code, o.crop,
                                                           o.yield_kg_per_mu, o.low, o.high)))


def recomputed(session: Session) -> list[tuple[object, ...]]:
    return sorted(tuple(r) for r in session.execute(outlier_query()))


def stored_totals(session: Session) -> list[tuple[object, ...]]:
    t = CountyTotal
    return sorted((tuple(r) for r in session.execute(
        select(t.season, t.county_code, t.site_id, t.plots, t.area_m2, t.land_plots, t.land_area_m2,
               t.variety_area_m2, t.measurements, t.approved, t.figured))), key=repr)


def recomputed_totals(session: Session) -> list[tuple[object, ...]]:
    return sorted((tuple(r) for r in session.execute(totals_query())), key=repr)


def _rounded(row: object) -> tuple[object, ...]:
    """A row with its floats to 4 places: sums of area × yield come out in the last bits as the plan adds them."""
    return tuple(round(v, 4) if isinstance(v, float) else v for v in row)  # type: ignore[attr-defined]


def stored_gains(session: Session) -> list[tuple[object, ...]]:
    g = CountyGain
    return sorted((_rounded(r) for r in session.execute(
        select(g.season, g.county_code, g.site_id, g.demo_type, g.crop, g.baseline_type, g.plots, g.level_county,
               g.level_city, g.level_province, g.level_ministry, g.gain_plots, g.gain_area_m2, g.gain_weighted,
               g.yield_weighted, g.yield_area_m2, g.planned, g.on_time, g.late))), key=repr)


def recomputed_gains(session: Session) -> list[tuple[object, ...]]:
    return sorted((_rounded(r) for r in session.execute(gains_query())), key=repr)


def gains(session: Session, county: str = "410102") -> dict[str | None, tuple[object, ...]]:
    """The kept gains of ``county`` by baseline type, after checking every kept row is exact: (plots, county / city
    / province level, plots with a gain, area-weighted gain %, area-weighted kg/亩, planned, on time, late)."""
    session.flush()
    assert stored_gains(session) == recomputed_gains(session)
    g = CountyGain
    return {r[0]: (r[1], *r[2:5], r[5], round(r[6] / r[7], 6) if r[7] else None, round(r[8] / r[9], 6), *r[10:])
            for r in session.execute(
                select(g.baseline_type, g.plots, g.level_county, g.level_city, g.level_province, g.gain_plots,
                       g.gain_weighted, g.gain_area_m2, g.yield_weighted, g.yield_area_m2, g.planned, g.on_time,
                       g.late).where(g.season == SEASON, g.county_code == county))}


def totals(session: Session, county: str = "410102") -> dict[str | None, tuple[object, ...]]:
    """The kept totals of ``county`` by park: (plots, 亩, land plots, measurements, approved, figured)."""
    t = CountyTotal
    return {r[0]: (r[1], round(r[2] / M2_PER_MU, 6), *r[3:]) for r in session.execute(
        select(t.site_id, t.plots, t.area_m2, t.land_plots, t.measurements, t.approved, t.figured)
        .where(t.season == SEASON, t.county_code == county))}


def flagged(session: Session) -> list[tuple[str, float, tuple[float, float] | None]]:
    """(name, yield, fences) of the season's implausible yields — after checking the kept rows are exact."""
    session.flush()
    assert stored(session) == recomputed(session)
    assert stored_totals(session) == recomputed_totals(session)
    assert stored_gains(session) == recomputed_gains(session)
    return [(f.name, f.yield_kg_per_mu or 0.0, f.fence) for f in implausible_yields(session, SEASON)]


def _plot(session: Session, name: str, county: str = "410102") -> DemoPlot:
    plot = DemoPlot(id=new_id(), county_code=county, name=name, area_m2=10 * M2_PER_MU, crop="maize",
                    season=SEASON)
    session.add(plot)
    session.flush()
    return plot


def _measure(session: Session, plot: DemoPlot, y: float, level: str = "county",
             state: str = "approved") -> YieldMeasurement:
    m = YieldMeasurement(id=new_id(), plot_id=plot.id, county_code=plot.county_code, method="harvest", level=level,
                         crop="maize", yield_kg_per_mu=y, review_state=state)
    session.add(m)
    return m


def test_kept_rows_follow_every_write(session: Session) -> None:
    plots, ms = [], []
    for k, y in enumerate([600, 610, 620, 630, 640, 650, 660, 670, 680, 2000]):
        plots.append(_plot(session, f"P{k}"))
        ms.append(_measure(session, plots[-1], y))
    # NTILE(4) of ten values: quarters of 3, 3, 2, 2 → Q1 = 620, Q3 = 670, IQR 50, fences 470 … 820
    assert flagged(session) == [("P9", 2000, (approx(470), approx(820)))]
    assert totals(session) == {None: (10, 100.0, 0, 10, 10, 10)}  # ten plots of 10 亩, one approved yield each

    ms[9].yield_kg_per_mu = 700  # an edit: 700 lies inside the same fences
    assert flagged(session) == []

    province = _measure(session, plots[0], 100, level="province")  # a higher level: P0's figure is now 100
    # 100, 610, 620 | 630, 640, 650 | 660, 670 | 680, 700 → Q1 620, Q3 670 → 470 … 820
    assert flagged(session) == [("P0", 100, (approx(470), approx(820)))]
    province.review_state = "rejected"  # back to the county's 600
    assert flagged(session) == []

    p10 = _plot(session, "P10")
    pending = _measure(session, p10, 5000, state="pending")
    assert flagged(session) == []  # not approved: no figure
    # eleven plots; twelve measurements (P0's rejected one counts), ten approved, on ten plots
    assert totals(session) == {None: (11, 110.0, 0, 12, 10, 10)}
    pending.review_state = "approved"
    # eleven values, quarters of 3, 3, 3, 2 → Q1 620, Q3 the 9th = 680, IQR 60 → 440 … 860
    assert flagged(session) == [("P10", 5000, (approx(440), approx(860)))]

    p10.county_code = "410122"  # moved: alone in 410122 (fewer than 8), and 410102 is back to ten
    assert flagged(session) == []
    assert totals(session) == {None: (10, 100.0, 0, 11, 10, 10)}
    assert totals(session, "410122") == {None: (1, 10.0, 0, 1, 1, 1)}
    p10.site_id, p10.area_m2 = "NASTP156", 4 * M2_PER_MU  # a park's plot, smaller
    assert flagged(session) == []
    assert totals(session, "410122") == {"NASTP156": (1, 4.0, 0, 1, 1, 1)}
    p10.site_id, p10.area_m2 = None, 10 * M2_PER_MU
    p10.county_code = "410102"
    assert flagged(session) == [("P10", 5000, (approx(440), approx(860)))]
    p10.deleted = True
    assert flagged(session) == []

    ms[9].yield_kg_per_mu = 800  # inside 470 … 820
    assert flagged(session) == []
    other = _plot(session, "X", county="410122")
    other.control_plot_id = plots[0].id  # P0 serves as X's control plot: no longer a demo
    # 610, 620, 630 | 640, 650 | 660, 670 | 680, 800 → Q1 630, Q3 670, IQR 40 → 510 … 790
    assert flagged(session) == [("P9", 800, (approx(510), approx(790)))]
    assert totals(session) == {None: (9, 90.0, 0, 9, 9, 9)}  # without P0 (two measurements, one approved)
    assert totals(session, "410122") == {None: (1, 10.0, 0, 0, 0, 0)}  # X, unmeasured
    other.deleted = True  # P0 is a demo again
    assert flagged(session) == []

    other.deleted = False
    assert flagged(session) == [("P9", 800, (approx(510), approx(790)))]
    session.delete(ms[9])  # P9 has no measurement left; eight values remain, all inside
    assert flagged(session) == []
    plots[1].crop = "soybean"  # seven maize plots: too few to judge
    ms[2].yield_kg_per_mu = 9000
    assert flagged(session) == []
    plots[1].crop = "maize"
    # 610, 630 | 640, 650 | 660, 670 | 680, 9000 → Q1 630, Q3 670 → 510 … 790
    assert flagged(session) == [("P2", 9000, (approx(510), approx(790)))]


def test_bulk_refresh_and_the_migrations_fill_equal_the_computation(session: Session) -> None:
    for k, y in enumerate([600, 610, 620, 630, 640, 650, 660, 670, 680, 2000]):
        _measure(session, _plot(session, f"P{k}"), y)
    session.flush()
    expected = recomputed(session)
    assert [r[4] for r in expected] == [2000]
    conn = session.connection()
    expected_totals = recomputed_totals(session)
    assert [r[3:] for r in expected_totals] == [(10, approx(100 * M2_PER_MU), 0, 0.0, approx(100 * M2_PER_MU),
                                                 10, 10, 10)]
    expected_gains = recomputed_gains(session)
    assert [r[6:] for r in expected_gains] == [(10, 10, 0, 0, 0, 0, 0.0, 0.0, approx(sum(
        [600, 610, 620, 630, 640, 650, 660, 670, 680, 2000]) * 10 * M2_PER_MU), approx(100 * M2_PER_MU), 0, 0, 0)]
    conn.execute(delete(ImplausibleYield))
    conn.execute(delete(CountyTotal))
    conn.execute(delete(CountyGain))
    refresh_plot_figures(conn)  # every plot, as the bulk writers call it
    assert stored(session) == expected
    assert stored_totals(session) == expected_totals
    assert stored_gains(session) == expected_gains
    m13, m14 = (_load(path) for path in (MIGRATION, GAINS_MIGRATION))
    conn.execute(delete(ImplausibleYield))
    conn.execute(delete(CountyTotal))
    conn.execute(delete(CountyGain))
    conn.execute(text(m13.FILL), {"no": False})
    conn.execute(text(m13.FILL_TOTALS), {"no": False})
    conn.execute(text(m14.FILL), {"no": False})
    assert stored(session) == expected
    assert stored_totals(session) == expected_totals
    assert stored_gains(session) == expected_gains


def _load(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kept_gains_follow_levels_baselines_and_the_plan(session: Session) -> None:
    d = dt.date
    a, b, c = (_plot(session, name) for name in "ABC")
    c.area_m2 = 30 * M2_PER_MU
    ma = _measure(session, a, 600)
    ma.measured_on, ma.baseline_type, ma.gain_pct = d(2026, 9, 20), "check_variety", 10.0
    mc = _measure(session, c, 700)
    mc.measured_on, mc.baseline_type, mc.gain_pct = d(2026, 10, 20), "check_variety", 2.0
    mb = _measure(session, b, 650)
    mb.measured_on = d(2026, 9, 25)  # no baseline: no gain
    # A 10 亩 +10 %, C 30 亩 +2 % → (10×10 + 30×2) / 40 = 4 %; yields (600×10 + 700×30) / 40 = 675; no plan
    assert gains(session) == {"check_variety": (2, 2, 0, 0, 2, approx(4.0), approx(675.0), 0, 0, 0),
                              None: (1, 1, 0, 0, 0, None, approx(650.0), 0, 0, 0)}

    plan = SeasonPlan(county_code="410102", season=SEASON, plots_expected=3, deadline=d(2026, 10, 1))
    session.add(plan)  # A and B by the deadline, C after it
    assert gains(session) == {"check_variety": (2, 2, 0, 0, 2, approx(4.0), approx(675.0), 2, 1, 1),
                              None: (1, 1, 0, 0, 0, None, approx(650.0), 1, 1, 0)}
    plan.deadline = d(2026, 10, 31)  # all on time
    assert gains(session)["check_variety"][-3:] == (2, 2, 0)
    city = _measure(session, c, 720, level="city")  # C's figure now stands on the city's re-test
    city.measured_on, city.baseline_type, city.gain_pct = d(2026, 10, 25), "check_variety", 5.0
    # (10×10 + 30×5) / 40 = 6.25 %; (600×10 + 720×30) / 40 = 690; C first approved on 10-20 still
    assert gains(session)["check_variety"] == (2, 1, 1, 0, 2, approx(6.25), approx(690.0), 2, 2, 0)
    plan.county_code = "410122"  # the plan was 410122's: 410102 has none now
    assert gains(session)["check_variety"][-3:] == (0, 0, 0)
    plan.county_code = "410102"
    assert gains(session)["check_variety"][-3:] == (2, 2, 0)
    session.delete(plan)
    assert gains(session)["check_variety"][-3:] == (0, 0, 0)
    b.deleted = True
    assert set(gains(session)) == {"check_variety"}


@pytest.mark.postgis
def test_two_transactions_writing_one_county_at_once__keep_one_exact_row(postgis_url: str) -> None:
    """Two writers of the same county (two agents syncing, an officer approving): the second's recomputation must
    see the first's commit, not add a second row beside it (a delete-and-insert under READ COMMITTED would)."""
    import threading

    from catalog.access import operator
    from catalog.audit import act_as
    from catalog.db import make_engine

    engine = make_engine(postgis_url)
    with act_as(Session(engine), operator("test")) as s:
        _measure(s, _plot(s, "P0"), 600)
        s.commit()
    first = act_as(Session(engine), operator("a"))
    _measure(first, _plot(first, "P1"), 610)
    first.flush()  # holds the county's rows until it commits

    def second_writer() -> None:  # a re-test of P0 alone: one recomputation of the county, which must be right
        with act_as(Session(engine), operator("b")) as s:
            p0 = s.scalars(select(DemoPlot).where(DemoPlot.name == "P0")).one()
            _measure(s, p0, 620, level="province")
            s.commit()

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(1.0)  # the second writer waits for the first's county
    first.commit()
    first.close()
    thread.join(30)
    assert not thread.is_alive()
    with Session(engine) as s:
        assert stored_totals(s) == recomputed_totals(s)
        assert totals(s) == {None: (2, 20.0, 0, 3, 3, 2)}
        assert stored(s) == recomputed(s)
    engine.dispose()
