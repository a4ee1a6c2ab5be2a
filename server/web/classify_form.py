"""The reviewer's classification form on a result page: the suggestions to accept or change, without JavaScript.

Each dimension lists the suggested codes and the result's own codes as checkboxes (the proposal pre-checked; for the
technology field a radio button picks the primary one) and a multiple select for any other code of the list. The form
posts to :func:`classification_submit`, which decides through ``catalog.classify.decide``, the same as the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog.access import ensure_result_writable
from catalog.classify import FIELDS, Classification, decide
from catalog.classify_model import DIMENSIONS
from catalog.classify_rules import CODE_LISTS
from catalog.errors import CatalogError
from catalog.result_store import get_result
from server.auth import Unauthorized, current_actor
from server.db import db_session
from server.i18n import t
from server.web.labels import Labels

LABEL_KEYS = {"tech_field": "result.tech_fields", "industry_type": "result.industry_types",
              "scenario": "result.scenarios", "crop": "result.crops", "land_scenario": "result.land_scenarios"}


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    confidence: float | None  # None: not suggested (the result's own code)
    source: str | None
    words: str
    current: bool
    checked: bool


@dataclass(frozen=True)
class DimensionForm:
    dimension: str
    field: str
    label: str
    options: list[Option]
    others: list[tuple[str, str]]  # (code, label) of the rest of the list, for "add"
    primary: str | None  # the checked primary technology field


def dimension_forms(c: Classification, labels: Labels) -> list[DimensionForm]:
    current, proposed = c.current(), c.proposed()
    out = []
    for dim in DIMENSIONS:
        list_id = CODE_LISTS[dim]
        suggested = {s.code: s for s in c.suggestions.by_dimension[dim]}
        codes = list(dict.fromkeys([*suggested, *current[dim]]))
        options = [Option(code, labels.code_path(list_id, code),
                          suggested[code].confidence if code in suggested else None,
                          suggested[code].source if code in suggested else None,
                          "、".join(suggested[code].words) if code in suggested else "",
                          code in current[dim], code in proposed[dim]) for code in codes]
        others = [(code, labels.code_path(list_id, code)) for code, entry in labels.codes.get(list_id, {}).items()
                  if code not in codes and entry.retired_in is None]
        primary = proposed[dim][0] if dim == "tech_field" and proposed[dim] else None
        out.append(DimensionForm(dim, FIELDS[dim], t(LABEL_KEYS[dim]), options, others, primary))
    return out


def chosen_codes(form: MultiDict[str, str]) -> dict[str, list[str]]:
    """The codes the form holds per result field; the radio's primary technology field first."""
    out: dict[str, list[str]] = {}
    for dim, name in FIELDS.items():
        codes = list(dict.fromkeys([*form.getlist(name), *form.getlist(f"add_{name}")]))
        if dim == "tech_field":
            primary = form.get("primary_tech_field", "")
            if primary:
                codes = [primary, *(c for c in codes if c != primary)]
        out[name] = codes
    return out


def classification_submit(result_id: str) -> str | tuple[str, int] | WerkzeugResponse:
    """接受或修改分类建议 / The reviewer's decision from the result page."""
    from server.web.account_pages import error_text, status_of
    from server.web.result_page import result_page

    actor = current_actor()
    if not actor.authenticated:
        raise Unauthorized()
    session = db_session()
    result = ensure_result_writable(actor, get_result(session, result_id), "classify")
    version = request.form.get("version", "")
    try:
        decide(session, result, chosen_codes(request.form), actor.name, actor.user_id,
               int(version) if version.isdigit() else None)
    except CatalogError as exc:
        session.rollback()
        return result_page(result_id, errors=error_text(exc)), status_of(exc)
    session.commit()
    flash(t("classify.saved"))
    return redirect(url_for("web.result", result_id=result_id) + "#classification")
