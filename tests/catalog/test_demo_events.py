"""The demo matchmaking data: real sites and published demo results, intents in every state, landed intents on real
demo plots of the site's county that show the intent's result; steps in date order; a second run adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.demo import seed_results
from catalog.demo_events import seed_events
from catalog.demo_plots import seed_plots
from catalog.events import Event, EventResult, EventSite
from catalog.field import DemoPlot
from catalog.intents import STATES, Intent, covers_county, intent_steps, site_counties
from catalog.results import Result
from catalog.sites import Site


def test_demo_events__every_state__landed_on_real_plots(session: Session) -> None:
    seed_results(session, 400, seed=42)
    seed_plots(session, 42, per_county=12)
    report = seed_events(session, 42)
    assert report.events == 4 and not report.skipped
    assert set(report.intents) == set(STATES) and report.plots >= 3

    events = {e.title: e for e in session.scalars(select(Event))}
    assert events["2026年河南省农业科技成果现场对接会"].place_code == "411000"
    assert events["2026年国家科技计划农业成果网络展会"].province_code is None
    assert {e.state for e in events.values()} == {"planned", "open", "closed"}
    showcased = session.scalars(select(Result.state).join(EventResult, EventResult.result_id == Result.id)).all()
    assert showcased and set(showcased) == {"published"}
    assert session.scalar(select(func.count()).select_from(EventSite)) == report.sites

    landed = list(session.scalars(select(Intent).where(Intent.state == "landed")))
    on_plots = [i for i in landed if i.plot_id]
    assert len(on_plots) == report.plots and all(i.plot_id or i.adopted_area_m2 for i in landed)
    for intent in on_plots:
        plot = session.get(DemoPlot, intent.plot_id)
        site = session.get(Site, intent.site_id)
        assert plot is not None and site is not None
        assert plot.result_id == intent.result_id
        assert covers_county(site_counties(session, site), plot.county_code)
        assert plot.version > 1  # the result was set through the field rules, as an edit
    for intent in session.scalars(select(Intent)):
        days = [s.happened_on for s in intent_steps(session, intent.id)]
        assert days == sorted(days) and intent_steps(session, intent.id)[-1].state == intent.state

    xuchang = session.scalars(select(Intent).where(Intent.site_id == "NASTP014", Intent.state == "landed")).one()
    assert round(xuchang.adopted_area_mu or 0) == 3500 and xuchang.mode == "licence"

    assert seed_events(session, 42).skipped
    assert session.scalar(select(func.count()).select_from(Intent)) == sum(report.intents.values())
