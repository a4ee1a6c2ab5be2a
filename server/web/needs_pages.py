"""Needs pages: the needs one reads, a need with its ranked matches and their reasons, and the new-need form.

Rules come from ``catalog.need_access`` and writes from ``catalog.need_store``, the same as the API. Forms post
with the session's CSRF token and work without JavaScript; a refused form answers the API's status for the
same error and says why, field by field.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog.access import Actor
from catalog.codelists import current_codes
from catalog.errors import CatalogError
from catalog.matching import SiteMatch, rank_results, rank_sites
from catalog.need_access import can_post_for, postable_sites
from catalog.need_store import M2_PER_MU, NeedFilter, allowed_steps, create_need, list_needs, move_need, read_need
from catalog.needs import CODE_FIELDS, STATES, Need
from catalog.results import Result
from catalog.sites import Site
from server.auth import current_actor
from server.db import db_session
from server.i18n import t
from server.web.account_pages import error_text, status_of
from server.web.labels import Labels

PER_PAGE = 20
Page = str | tuple[str, int] | WerkzeugResponse


def _sign_in_first() -> WerkzeugResponse:
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def area_mu(need: Need) -> str | None:
    if need.area_m2 is None:
        return None
    return f"{need.area_m2 / M2_PER_MU:,.0f}" if need.area_m2 >= 100 * M2_PER_MU else f"{need.area_m2 / M2_PER_MU:g}"


def needs_list() -> Page:
    """需求 / The needs one reads, by state and site."""
    actor = current_actor()
    if actor.user_id is None and not actor.system:
        return _sign_in_first()
    session = db_session()
    state = request.args.get("state") or None
    state = state if state in STATES else None
    site_id = (request.args.get("site") or "").strip()[:32] or None
    try:
        page = max(1, min(10000, int(request.args.get("page", "1"))))
    except ValueError:
        page = 1
    items, total = list_needs(session, actor, NeedFilter(site_id, state), page, PER_PAGE)
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_({n.site_id for n in items})))}
    return render_template("needs.html", needs=items, sites=sites, total=total, page=page,
                           pages=max(1, math.ceil(total / PER_PAGE)), state=state, site_id=site_id,
                           states=STATES, can_post=bool(postable_sites(session, actor)),
                           labels=Labels.load(session), area_mu=area_mu)


def need_new() -> Page:
    """发布需求 / The new-need form (park managers for their park, county officers for their county)."""
    actor = current_actor()
    if actor.user_id is None and not actor.system:
        return _sign_in_first()
    session = db_session()
    sites = postable_sites(session, actor)
    errors: list[str] = []
    status = 200
    form: dict[str, Any] = {"site_id": sites[0].id if sites else ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in
                ("site_id", "title", "problem", "season", "area_mu", "scale_text", "contact")}
        for f in CODE_FIELDS:
            form[f] = request.form.getlist(f)
        data = {k: v for k, v in form.items() if v not in ("", [])}
        data.setdefault("site_id", "")
        try:
            need = create_need(session, actor, data)
            session.commit()
            flash(t("needs.created"))
            return redirect(url_for("web.need", need_id=need.id))
        except CatalogError as exc:
            session.rollback()
            errors, status = error_text(exc), status_of(exc)
    elif not sites:
        errors, status = [t("needs.cannot_post")], 403
    choices = {f: list(current_codes(session, lid).values()) for f, lid in CODE_FIELDS.items()}
    seasons = list(current_codes(session, "season").values())
    return render_template("need_new.html", sites=sites, form=form, errors=errors, choices=choices,
                           seasons=seasons), status


def need_page(need_id: str) -> Page:
    """一条需求及为它匹配的成果（附理由）/ One need and the results ranked for it, with the reasons."""
    actor = current_actor()
    if actor.user_id is None and not actor.system:
        return _sign_in_first()
    session = db_session()
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            move_need(session, actor, need_id, action, result_id=request.form.get("result_id") or None,
                      comment=request.form.get("comment", "").strip() or None)
            session.commit()
            flash(t(f"needs.moved.{action}"))
            return redirect(url_for("web.need", need_id=need_id))
        except CatalogError as exc:
            session.rollback()
            errors, status = error_text(exc), status_of(exc)
    need = read_need(session, actor, need_id)
    site = session.get(Site, need.site_id)
    assert site is not None
    matches = rank_results(session, need, 20, site)
    writable = can_post_for(actor, site)
    labels = Labels.load(session, list(filter(None, [site.place_code])))
    return render_template("need.html", need=need, site=site, matches=matches, labels=labels, area_mu=area_mu,
                           writable=writable, steps=allowed_steps(need.state) if writable else [],
                           errors=errors), status


def sites_needing(session: Session, actor: Actor, result: Result, limit: int = 10) -> list[SiteMatch] | None:
    """For the result page: the sites whose open needs this published result fits (None: not shown, i.e.
    signed out, where needs are not readable, or a result that is not published)."""
    if (actor.user_id is None and not actor.system) or result.state != "published":
        return None
    return rank_sites(session, actor, result.id, limit)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/needs", "needs", needs_list)
    bp.add_url_rule("/needs/new", "need_new", need_new, methods=["GET", "POST"])
    bp.add_url_rule("/needs/<need_id>", "need", need_page, methods=["GET", "POST"])
