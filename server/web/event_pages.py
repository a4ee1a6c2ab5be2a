"""Matchmaking pages: the event list (with the new-event form for organisers), an event's page (showcased
results, sites taking part, the register and intent forms for a signed-in site user, and the organiser's controls:
state steps, showcasing published results, inviting sites), the online exhibition's public showcase, and the
intents page with each intent's timeline and the form for its next step.

Forms post with the session's CSRF token and work without JavaScript; every write goes through
``catalog.matchmaking``, the same calls as the API, so a page and an endpoint never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog import matchmaking
from catalog.access import can_read
from catalog.db import beijing_today
from catalog.divisions import Division
from catalog.errors import CatalogError, FieldError, NotFound, ValidationFailed
from catalog.event_access import can_organise, default_scope, intent_condition, sites_spoken_for, speaks_for
from catalog.events import (
    EVENT_STEPS,
    KINDS,
    STATES,
    Event,
    event_counts,
    event_query,
    event_results,
    event_sites,
    get_event,
)
from catalog.field import DemoPlot
from catalog.intents import (
    Intent,
    allowed_steps,
    covers_county,
    intent_names,
    intent_query,
    site_counties,
    steps_of,
)
from catalog.results import Result
from catalog.sites import Site
from server.auth import current_actor
from server.db import db_session
from server.i18n import current_lang, t
from server.web.account_pages import error_text, status_of
from server.web.labels import Labels

Page = str | tuple[str, int] | WerkzeugResponse
MAX_INTENTS = 200
MAX_CANDIDATES = 20  # published results offered for the showcase: the newest matches of the name searched
EVENT_FIELDS = ("kind", "title", "starts_on", "ends_on", "place_code", "address", "organiser", "description")


def _sign_in_first() -> WerkzeugResponse:
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def _field_errors(exc: CatalogError) -> dict[str, str]:
    """Each refused field's reason in the page's language, to show beside the field."""
    if not isinstance(exc, ValidationFailed):
        return {}
    en = current_lang() == "en"
    return {e.field: e.en if en else e.zh for e in exc.errors}


def _places(province: str | None) -> list[Division]:
    """Where an on-site event may be held, offered in the form: the province's prefectures and counties (the
    prefectures only for a national organiser, who may pick any of 3,000 counties by code)."""
    q = select(Division).where(Division.valid_to.is_(None))
    q = q.where(Division.level.in_(("prefecture", "county")), Division.province_code == province) if province \
        else q.where(Division.level == "prefecture")
    return list(db_session().scalars(q.order_by(Division.code)))


def _events_context(form: dict[str, str] | None = None, errors: list[str] | None = None,
                    field_errors: dict[str, str] | None = None) -> dict[str, Any]:
    session = db_session()
    actor = current_actor()
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    state = request.args.get("state") if request.args.get("state") in STATES else None
    events = list(session.scalars(event_query(kind, state).limit(200)))
    scope = default_scope(actor)
    may_organise = actor.user_id is not None and can_organise(actor, scope)
    labels = Labels.load(session, [c for c in [e.place_code for e in events] + [scope] if c])
    counts = event_counts(session, [e.id for e in events])
    return {"events": events, "labels": labels, "kind": kind, "state": state, "kinds": KINDS, "states": STATES,
            "counts": counts, "may_organise": may_organise, "scope": scope,
            "places": _places(scope) if may_organise else [], "form": form or {"kind": "onsite"},
            "errors": errors or [], "field_errors": field_errors or {}}


def events_page() -> str:
    """对接活动 / Matchmaking events, newest first, by kind and state; the new-event form for organisers."""
    return render_template("events.html", **_events_context())


def event_new_submit() -> Page:
    """新建对接活动 / An organiser creates an event in its scope (a province officer's province, else national)."""
    if current_actor().user_id is None:
        return _sign_in_first()
    session = db_session()
    form = {k: request.form.get(k, "").strip() for k in EVENT_FIELDS}
    data: dict[str, Any] = {k: v or None for k, v in form.items()}
    data["description"] = form["description"]
    try:
        event = matchmaking.organise_event(session, current_actor(), data)
        session.commit()
    except CatalogError as exc:
        session.rollback()
        ctx = _events_context(form, error_text(exc), _field_errors(exc))
        return render_template("events.html", **ctx), status_of(exc)
    flash(t("event.created_msg"))
    return redirect(url_for("web.event", event_id=event.id) + "#organise")


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
    organiser = actor.user_id is not None and can_organise(actor, event.province_code)
    return {"event": event, "showcased": showcased, "taking_part": taking_part, "labels": labels,
            "my_sites": mine, "my_registered": [s for s in mine if s.id in registered],
            "my_unregistered": [s for s in mine if s.id not in registered],
            "organiser": organiser, "my_intents": my_intents, "names": _names(my_intents),
            "today": beijing_today().isoformat(), "errors": [], "form": {},
            "steps": [a for a, s in EVENT_STEPS.items() if event.state in s.sources] if organiser else [],
            "q": request.args.get("q", "").strip(),
            "candidates": _candidates(event, {r.id for _er, r in showcased}) if organiser else []}


def _candidates(event: Event, showcased: set[str]) -> list[Result]:
    """Published results the organiser may add to the showcase: the newest whose name holds the search."""
    if event.state == "closed":
        return []
    q = select(Result).where(Result.state == "published")
    if showcased:
        q = q.where(Result.id.not_in(showcased))
    text = request.args.get("q", "").strip()
    if text:
        q = q.where(Result.name.contains(text, autoescape=True))
    return list(db_session().scalars(q.order_by(Result.updated_at.desc(), Result.name).limit(MAX_CANDIDATES)))


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


def _organiser_post(event_id: str, write: Any, message: str, anchor: str) -> Page:
    """One organiser write from the event page: sign-in first, the refusal on the page with the API's status."""
    if current_actor().user_id is None:
        return _sign_in_first()
    session = db_session()
    event = get_event(session, event_id)
    try:
        text = write(session, event)
        session.commit()
    except CatalogError as exc:
        return _form_failed(event, exc)
    flash(t(message, name=text or ""))
    back = url_for("web.event", event_id=event.id, q=request.args.get("q") or None)
    return redirect(back + anchor)


def event_step_submit(event_id: str) -> Page:
    """开始 / 结束活动 / The organiser moves the event's state."""
    action = request.form.get("action", "")

    def write(session: Any, event: Event) -> str:
        matchmaking.step_event(session, current_actor(), event.id, action)
        return t("event_state." + event.state)
    return _organiser_post(event_id, write, "event.stepped_msg", "#organise")


def _result_name(session: Any, result_id: str) -> str:
    result = session.get(Result, result_id)
    return result.name if result is not None else result_id


def event_showcase_add(event_id: str) -> Page:
    """展示 / The organiser adds a published result to the showcase."""
    result_id = request.form.get("result_id", "")

    def write(session: Any, event: Event) -> str:
        matchmaking.showcase(session, current_actor(), event.id, result_id, request.form.get("note"))
        return _result_name(session, result_id)
    return _organiser_post(event_id, write, "event.showcased_msg", "#organise")


def event_showcase_remove(event_id: str, result_id: str) -> Page:
    """取消展示 / The organiser takes a result off the showcase."""
    def write(session: Any, event: Event) -> str:
        matchmaking.unshowcase(session, current_actor(), event.id, result_id)
        return _result_name(session, result_id)
    return _organiser_post(event_id, write, "event.unshowcased_msg", "#showcased")


def _find_site(session: Any, text: str) -> Site:
    """The site named by its id, its full name, or the one active site whose name holds ``text``."""
    site = session.get(Site, text) if text else None
    if site is not None:
        return site
    matches = list(session.scalars(select(Site).where(Site.active.is_(True), Site.name.contains(text, autoescape=True))
                                   .order_by(Site.id).limit(6))) if text else []
    exact = [m for m in matches if m.name == text]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if matches:
        names = [m.name for m in matches[:5]]
        raise ValidationFailed([FieldError("site", "ambiguous", "有多个园区或县与之相符：" + "、".join(names),
                                           "Several sites match: " + ", ".join(names), value=text)])
    raise ValidationFailed([FieldError("site", "unknown_site", "没有这个编号或名称的园区或县",
                                       "No site with that id or name", value=text)])


def event_invite(event_id: str) -> Page:
    """邀请 / The organiser invites a site, found by its id or name."""
    def write(session: Any, event: Event) -> str:
        site = _find_site(session, request.form.get("site", "").strip())
        matchmaking.register(session, current_actor(), event.id, site.id, request.form.get("contact"))
        return site.name
    return _organiser_post(event_id, write, "event.invited_msg", "#sites")


def event_uninvite(event_id: str, site_id: str) -> Page:
    """取消报名 / The organiser takes a site off the event (not one with intents registered here)."""
    def write(session: Any, event: Event) -> str:
        matchmaking.unregister(session, current_actor(), event.id, site_id)
        site = session.get(Site, site_id)
        return site.name if site is not None else site_id
    return _organiser_post(event_id, write, "event.uninvited_msg", "#sites")


def showcase_page(event_id: str) -> str:
    """展示页 / The event's public showcase: every showcased result with what a visitor needs, printable."""
    session = db_session()
    event = get_event(session, event_id)
    showcased = [(er, r) for er, r in event_results(session, event.id) if can_read(current_actor(), r)]
    labels = Labels.load(session, [c for c in (event.place_code, event.province_code) if c])
    return render_template("event_showcase.html", event=event, showcased=showcased, labels=labels)


def _names(intents: list[Intent]) -> dict[str, str]:
    return intent_names(db_session(), intents)


def _plots_by_intent(intents: list[Intent]) -> dict[str, list[DemoPlot]]:
    """The demo plots a landed step of each intent may name: of its site's counties, showing its result.

    One query for the plots of all the intents' results and one look-up a site, whatever the number of intents.
    """
    if not intents:
        return {}
    session = db_session()
    by_result: dict[str, list[DemoPlot]] = defaultdict(list)
    for plot in session.scalars(select(DemoPlot).where(DemoPlot.result_id.in_({i.result_id for i in intents}),
                                                       DemoPlot.deleted.is_(False)).order_by(DemoPlot.name)):
        by_result[plot.result_id].append(plot)
    counties: dict[str, list[str]] = {}
    for site_id in {i.site_id for i in intents}:
        site = session.get(Site, site_id)
        counties[site_id] = site_counties(session, site) if site is not None else []
    return {i.id: [p for p in by_result[i.result_id] if covers_county(counties[i.site_id], p.county_code)]
            for i in intents}


def _intents_context(errors: list[str] | None = None, failed: str | None = None) -> dict[str, Any]:
    session = db_session()
    actor = current_actor()
    site = request.args.get("site") or None
    state = request.args.get("state") if request.args.get("state") in (
        "registered", "contact", "agreement", "landed", "dropped") else None
    intents = list(session.scalars(intent_query(intent_condition(actor), site_id=site, state=state)
                                   .limit(MAX_INTENTS)))
    # once a site, not an intent: a page lists up to MAX_INTENTS, mostly of a few sites
    speaks = {s: _speaks(s) for s in {i.site_id for i in intents if allowed_steps(i.state)}}
    movable = {i.id for i in intents if allowed_steps(i.state) and speaks[i.site_id]}
    plots = _plots_by_intent([i for i in intents if i.state == "agreement" and i.id in movable])
    plot_names = {p.id: p.name for p in session.scalars(select(DemoPlot).where(
        DemoPlot.id.in_([i.plot_id for i in intents if i.plot_id])))}
    return {"intents": intents, "steps": steps_of(session, [i.id for i in intents]),
            "names": _names(intents), "movable": movable, "plots": plots, "plot_names": plot_names,
            "labels": Labels.load(session), "my_sites": sites_spoken_for(session, actor), "site": site,
            "state": state, "allowed": {i.id: allowed_steps(i.state) for i in intents},
            "today": beijing_today().isoformat(), "errors": errors or [], "failed": failed,
            "form": request.form.to_dict() if failed else {}}


def _speaks(site_id: str) -> bool:
    site = db_session().get(Site, site_id)
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
    bp.add_url_rule("/events", "event_new", event_new_submit, methods=["POST"])
    bp.add_url_rule("/events/<event_id>", "event", event_page)
    bp.add_url_rule("/events/<event_id>/steps", "event_step", event_step_submit, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/showcased", "event_showcase_add", event_showcase_add, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/showcased/<result_id>/remove", "event_showcase_remove",
                    event_showcase_remove, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/sites", "event_invite", event_invite, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/sites/<site_id>/remove", "event_uninvite", event_uninvite, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/register", "event_register", register_submit, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/intents", "event_intent", intent_submit, methods=["POST"])
    bp.add_url_rule("/events/<event_id>/showcase", "event_showcase", showcase_page)
    bp.add_url_rule("/intents", "intents", intents_page)
    bp.add_url_rule("/intents/<intent_id>/steps", "intent_step", intent_step_submit, methods=["POST"])
