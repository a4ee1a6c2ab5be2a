"""Review pages of yield measurements: the officer's queue with approve / reject forms, and the printable
measurement sheet (测产结果表 / 测产验收单) for the panel to sign.

Rules and writes come from ``catalog.review`` (the API's own); forms post with the session's CSRF token and work
without JavaScript; a refused decision answers the API's status for the same error and says why.
"""

from __future__ import annotations

import math

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog import review
from catalog.db import beijing_today
from catalog.errors import CatalogError, Forbidden
from catalog.field import LEVELS, REVIEW_STATES, DemoPlot
from catalog.yield_sheet import build_sheet
from gis.area import M2_PER_MU
from server.auth import current_actor
from server.db import db_session
from server.i18n import current_lang, t
from server.web.account_pages import error_text, status_of
from server.web.labels import Labels

PER_PAGE = 30
Page = str | tuple[str, int] | WerkzeugResponse


def _sign_in_first() -> WerkzeugResponse:
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def _args() -> review.QueueFilter:
    level = request.args.get("level") or None
    state = request.args.get("state") or "pending"
    county = (request.args.get("county") or "").strip()
    season = (request.args.get("season") or "").strip()[:32] or None
    return review.QueueFilter(level if level in LEVELS else None,
                              county if len(county) == 6 and county.isdigit() else None, season,
                              state if state in REVIEW_STATES else "pending")


def review_page() -> Page:
    """测产审核 / The officer's queue: pending measurements of its level and scope whose level below is approved."""
    actor = current_actor()
    if actor.user_id is None and not actor.system:
        return _sign_in_first()
    session = db_session()
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "")
        yield_id = request.form.get("yield_id", "")
        version = request.form.get("version", "")
        try:
            review.decide(session, actor, yield_id, action, request.form.get("comment"),
                          int(version) if version.isdigit() else None)
            session.commit()
            flash(t(f"review.done.{action}"))
            return redirect(request.full_path.rstrip("?"))
        except CatalogError as exc:
            session.rollback()
            errors, status = error_text(exc), status_of(exc)
    if not review.can_review_anything(actor):
        errors, status = errors or [t("review.not_officer")], status if errors else 403
    filters = _args()
    try:
        page = max(1, min(10000, int(request.args.get("page", "1"))))
    except ValueError:
        page = 1
    rows, total = review.review_queue(session, actor, filters, page, PER_PAGE) \
        if review.can_review_anything(actor) else ([], 0)
    labels = Labels.load(session, {m.county_code for m, _p in rows})
    return render_template("review.html", rows=rows, total=total, page=page, pages=max(1, math.ceil(total / PER_PAGE)),
                           filters=filters, levels=LEVELS, states=REVIEW_STATES, errors=errors, labels=labels,
                           my_levels=review.decider_levels(actor), level_name=level_name,
                           area_mu=lambda p: p.area_m2 / M2_PER_MU if p.area_m2 else None), status


def level_name(level: str) -> str:
    zh, en = review.LEVEL_NAMES.get(level, (level, level))
    return en if current_lang() == "en" else zh


def sheet_page(yield_id: str) -> Page:
    """测产结果表：地块、样点、逐步计算、测产专家组签字 / The printable measurement sheet."""
    actor = current_actor()
    if actor.user_id is None and not actor.system:
        return _sign_in_first()
    session = db_session()
    m = review.get_measurement(session, actor, yield_id)
    plot = session.get(DemoPlot, m.plot_id)
    if plot is None:
        raise Forbidden()
    sheet = build_sheet(session, m, current_lang())
    above = review.verified_by(session, m)
    control = session.scalar(select(DemoPlot.name).where(DemoPlot.id == plot.control_plot_id)) \
        if plot.control_plot_id else None
    return render_template("yield_sheet.html", sheet=sheet, m=m, plot=plot, above=above, control=control,
                           level_name=level_name, printed_on=beijing_today(),
                           labels=Labels.load(session, [plot.county_code]))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/review", "review", review_page, methods=["GET", "POST"])
    bp.add_url_rule("/yields/<yield_id>/sheet", "yield_sheet", sheet_page)
