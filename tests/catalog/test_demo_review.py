"""The demo's yield review (catalog.demo_review): every level in every state, the order held everywhere, and a
queue waiting for each demo officer. SQLite and PostGIS."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import review
from catalog.access import Actor, Grant
from catalog.demo_plots import seed_plots
from catalog.demo_review import seed_review
from catalog.field import YieldMeasurement


def test_demo_review__every_state_the_order_held_and_a_queue_per_demo_officer(session: Session) -> None:
    seed_plots(session, 42)
    report = seed_review(session, 42)
    states = report.by_level_state
    for key in ("county/approved", "county/pending", "county/rejected", "city/approved", "city/pending",
                "province/approved", "province/pending", "province/rejected", "ministry/approved",
                "ministry/pending"):
        assert states.get(key, 0) > 0, (key, states)
    measurements = list(session.scalars(select(YieldMeasurement).where(YieldMeasurement.deleted.is_(False))))
    for m in measurements:
        if m.review_state == "approved":
            assert review.order_ok(session, m), m.id  # nothing approved above an unapproved level
            assert m.reviewed_by and m.reviewed_at
        if m.review_state == "rejected":
            assert m.review_comment
        if m.level != "county":
            lower = session.get(YieldMeasurement, m.verifies_id)
            assert lower is not None and lower.plot_id == m.plot_id and lower.level in review.LOWER[m.level]
    for role, scope in (("county_officer", "410184"), ("city_officer", "410100"), ("province_officer", "410000"),
                        ("ministry_officer", None)):  # the demo accounts of README
        officer = Actor(role, user_id="demo", grants=(Grant(role, scope),))
        assert review.review_queue(session, officer, review.QueueFilter())[1] > 0, role
    xinzheng = [m for m in measurements if m.county_code == "410184" and m.level == "county"]
    assert sorted(m.review_state for m in xinzheng) == ["approved", "pending", "rejected"]
    best = review.best_approved(session)
    assert {m.level for m in best.values()} >= {"county", "province", "ministry"}
