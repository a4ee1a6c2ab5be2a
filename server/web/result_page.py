"""One result, every field in readable words, with its state history."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy import select

from catalog.access import ensure_readable
from catalog.classify import classification, may_classify
from catalog.privacy import contact_phone
from catalog.result_fields import IP_KINDS
from catalog.result_store import get_result
from catalog.results import ResultEvent
from server.auth import current_actor
from server.db import db_session
from server.web.classify_form import dimension_forms
from server.web.labels import Labels
from server.web.needs_pages import sites_needing

TRL_LEVELS = range(1, 10)


def result_page(result_id: str, errors: list[str] | None = None) -> str:
    """成果详情 / One result. An unknown id raises NotFound, which the error handler shows as the 404 page.

    Those who review the result (and may still change its codes) see the classification suggestions and a form
    to accept or change them; ``errors``: why their last decision was refused."""
    session = db_session()
    result = ensure_readable(current_actor(), get_result(session, result_id))
    labels = Labels.load(session, [*result.region_codes, *filter(None, [result.source_province])])
    events = list(session.scalars(
        select(ResultEvent).where(ResultEvent.result_id == result.id).order_by(ResultEvent.at, ResultEvent.id)))
    ip: list[tuple[str, list[str]]] = [(kind, result.ip[kind]) for kind in IP_KINDS if (result.ip or {}).get(kind)]
    fields: dict[str, Any] = {dim: result.codes_of(dim) for dim in (
        "tech_field", "industry_type", "scenario", "crop", "land_scenario", "transfer_mode")}
    review = classification(session, current_actor(), result) if may_classify(current_actor(), result) else None
    return render_template("result.html", r=result, labels=labels, events=events, ip=ip, codes=fields,
                           trl_levels=TRL_LEVELS, phone=contact_phone(current_actor(), result),
                           needing_sites=sites_needing(session, current_actor(), result),
                           review=review, review_forms=dimension_forms(review, labels) if review else [],
                           errors=errors or [])
