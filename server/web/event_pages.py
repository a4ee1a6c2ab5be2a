"""Matchmaking pages: the event list, an event's page (showcased results, sites taking part, the register and
intent forms for a signed-in site user), the online exhibition's public showcase, and the intents page with each
intent's timeline and the form for its next step.

Forms post with the session's CSRF token and work without JavaScript; every write goes through
``catalog.matchmaking``, the same calls as the API, so a page and an endpoint never disagree.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog import matchmaking
from catalog.access import can_read
from catalog.errors import CatalogError, NotFound
from catalog.event_access import can_organise, intent_condition, sites_spoken_for, speaks_for
from catalog.events import KINDS, STATES, Event, event_query, event_results, event_sites, get_event
from catalog.field import DemoPlot
from catalog.intents import (
    Intent,
    allowed_steps,
    beijing_today,
    covers_county,
    intent_query,
    intent_steps,
    site_counties,
)
from catalog.results import Result
from catalog.sites import Site
from server.auth import current_actor
from server.db import db_session
from server.i18n import t
from server.web.account_pages import error_text, status_of
from server.web.labels import Labels

Page = str | tuple[str, int] | WerkzeugResponse
MAX_INTENTS = 200


def _sign_in_first() -> WerkzeugResponse:
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def events_page() -> str:
    """对接活动 / Matchmaking events, newest first, by kind and state."""
    session = db_session()
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    state = request.args.get("state") if request.args.get("state") in STATES else None
    events = list(session.scalars(event_query(kind, state).limit(200)))
    labels = Labels.load(session, [e.place_code for e in events if e.place_code])
    counts = {e.id: (len(event_results(session, e.id)), len(event_sites(session, e.id))) for e in events}
    return render_template("events.html", events=events, labels=labels, kind=kind, state=state, kinds=KINDS,
                           states=STATES, counts=counts)


def _event_context(event: Event) -> dict[str, Any]:
    session = db_session()
    actor = current_actor()
    showcased = [(er, r) for er, r in event_results(session, event.id) if can_read(actor, r)]
    taking_part = event_sites(session, event.id)
    mine = sites_spoken_for(session, actor) if actor.user_id else []
    registered = {s.id for _es, s in taking_part}
    my_intents = list(session.scalars(intent_query(intent_condition(actor), event_id=event.id))) \
        if actor.user_id else []
    labels = Labels.load(session, [c for c in (event.place_code, event.province_code) if c])
    return {"event": event, "showcased": showcased, "taking_part": taking_part, "labels": labels,
            "my_sites": mine, "my_registered": [s for s in mine if s.id in registered],
            "my_unregistered": [s for s in mine if s.id not in registered],
            "organiser": can_organise(actor, event.province_code), "my_intents": my_intents,
            "names": _names(my_intents), "today": beijing_today().isoformat(), "errors": [], "form": {}}


def event_page(event_id: str) -> Page:
    """一次对接活动 / One event: what it showcases, who takes part, and the forms of a signed-in site user."""
    return render_template("event.html", **_event_context(get_event(db_session(), event_id)))


def _form_failed(event: Event, exc: CatalogError) -> tuple[str, int]:
    db_session().rollback()
    ctx = _event_context(event)
    ctx.update(errors=error_text(exc), form=request.form.to_dict())
    return render_template("event.html", **ctx), status_of(exc)


def register_submit(event_id: str) -> Page:
    """报名 / A site user registers its site for the event."""
    if current_actor().user_id is None:
        return _sign_in_first()
    session = db_session()
    event = get_event(session, event_id)
    site_id = request.form.get("site_id", "")
    try:
        matchmaking.register(session, current_actor(), event.id, site_id, request.form.get("contact"))
        session.commit()
    except CatalogError as exc:
        return _form_failed(event, exc)
    flash(t("event.registered_msg"))
    return redirect(url_for("web.event", event_id=event.id) + "#my-site")


def intent_submit(event_id: str) -> Page:
    """登记意向 / A site user registers an intent on a showcased result."""
    if current_actor().user_id is None:
        return _sign_in_first()
    session = db_session()
    event = get_event(session, event_id)
    data = {k: request.form.get(k, "").strip() or None for k in ("site_id", "result_id", "on", "note")}
    try:
        intent = matchmaking.register_intent(session, current_actor(), {**data, "event_id": event.id})
        session.commit()
    except CatalogError as exc:
        return _form_failed(event, exc)
    flash(t("intent.registered_msg"))
    return redirect(url_for("web.intents", site=intent.site_id) + f"#intent-{intent.id}")


def showcase_page(event_id: str) -> str:
    """展示页 / The event's public showcase: every showcased result with what a visitor needs, printable."""
    session = db_session()
    event = get_event(session, event_id)
    showcased = [(er, r) for er, r in event_results(session, event.id) if can_read(current_actor(), r)]
    labels = Labels.load(session, [c for c in (event.place_code, event.province_code) if c])
    return render_template("event_showcase.html", event=event, showcased=showcased, labels=labels)


def _names(intents: list[Intent]) -> dict[str, str]:
    session = db_session()
    ids = {i.site_id for i in intents} | {i.result_id for i in intents} | {i.event_id for i in intents if i.event_id}
    names = {s.id: s.name for s in session.scalars(select(Site).where(Site.id.in_(ids)))}
    names |= {r.id: r.name for r in session.scalars(select(Result).where(Result.id.in_(ids)))}
    names |= {e.id: e.title for e in session.scalars(select(Event).where(Event.id.in_(ids)))}
    return names


def _plots_for(intent: Intent) -> list[DemoPlot]:
    """Demo plots a landed step may name: of the site's county, showing the intent's result."""
    session = db_session()
    site = session.get(Site, intent.site_id)
    if site is None:
        return []
    counties = site_counties(session, site)
    plots = session.scalars(select(DemoPlot).where(DemoPlot.result_id == intent.result_id,
                                                   DemoPlot.deleted.is_(False)).order_by(DemoPlot.name))
    return [p for p in plots if covers_county(counties, p.county_code)]


def _intents_context(errors: list[str] | None = None, failed: str | None = None) -> dict[str, Any]:
    session = db_session()
    actor = current_actor()
    site = request.args.get("site") or None
    state = request.args.get("state") if request.args.get("state") in (
        "registered", "contact", "agreement", "landed", "dropped") else None
    intents = list(session.scalars(intent_query(intent_condition(actor), site_id=site, state=state)
                                   .limit(MAX_INTENTS)))
    movable = {i.id for i in intents if allowed_steps(i.state) and _speaks(i)}
    plots = {i.id: _plots_for(i) for i in intents if i.state == "agreement" and i.id in movable}
    plot_names = {p.id: p.name for p in session.scalars(select(DemoPlot).where(
        DemoPlot.id.in_([i.plot_id for i in intents if i.plot_id])))}
    return {"intents": intents, "steps": {i.id: intent_steps(session, i.id) for i in intents},
            "names": _names(intents), "movable": movable, "plots": plots, "plot_names": plot_names,
            "labels": Labels.load(session), "my_sites": sites_spoken_for(session, actor), "site": site,
            "state": state, "allowed": {i.id: allowed_steps(i.state) for i in intents},
            "today": beijing_today().isoformat(), "errors": errors or [], "failed": failed,
            "form": request.form.to_dict() if failed else {}}


def _speaks(intent: Intent) -> bool:
    site = db_session().get(Site, intent.site_id)
    return site is not None and speaks_for(db_session(), current_actor(), site)


def intents_page() -> Page:
    """对接意向 / The intents one reads, each with its timeline; the next-step form where one moves it."""
    if current_actor().user_id is None:
        return _sign_in_first()
    return render_template("intents.html", **_intents_context())


def intent_step_submit(intent_id: str) -> Page:
    """推进意向 / Record an intent's next step from the intents page."""
    if current_actor().user_id is None:
        return _sign_in_first()
    session = db_session()
    fields = ("step", "on", "note", "mode", "plot_id", "area_mu", "reason")
    data = {k: request.form.get(k, "").strip() or None for k in fields}
    try:
        step = matchmaking.step_intent(session, current_actor(), intent_id, data)
        session.commit()
    except NotFound:
        raise  # the error page, as for any record one may not read
    except CatalogError as exc:
        session.rollback()
        return render_template("intents.html", **_intents_context(error_text(exc), intent_id)), status_of(exc)
    flash(t("intent.moved_msg", state=t("intent_state." + step.state)))
    return redirect(url_for("web.intents", site=request.args.get("site") or None) + f"#intent-{intent_id}")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/events", "events", events_page)
    bp.add_url_rule("/events/<event_id>", "event", event_page)
    bp.add_url_rule("/events/<event_id>/register", "event_register", register_submit, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/intents", "event_intent", intent_submit, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/showcase", "event_showcase", showcase_page)
    bp.add_url_rule("/intents", "intents", intents_page)
    bp.add_url_rule("/intents/<intent_id>/steps", "intent_step", intent_step_submit, methods=["POST"])
