"""Create, read and edit result records; keeps their facet links and text index in step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.codelists import Code
from catalog.db import utcnow
from catalog.divisions import Division
from catalog.errors import Conflict, FieldError, IllegalTransition, NotFound, ValidationFailed
from catalog.lifecycle import EDITABLE_STATES, STATE_NAMES, allowed_actions
from catalog.result_fields import CODE_FIELDS, clean_result_fields
from catalog.results import Result, ResultCode, ResultEvent, ResultRegion
from catalog.search_index import ResultText, tokens

SCALARS = ("name", "summary", "keywords", "special_project", "project_no", "subject_no", "institutions",
           "people", "trl", "trl_scale", "stage", "form", "ip", "registration_no", "key_figures",
           "transfer_terms", "contact_name", "contact_phone", "contact_email", "source", "source_province",
           "list_batch")


def get_result(session: Session, result_id: str) -> Result:
    result = session.get(Result, result_id)
    if result is None:
        raise NotFound(en=f"No result {result_id}", zh="成果不存在", id=result_id)
    return result


def create_result(session: Session, data: Mapping[str, Any], actor: str | None,
                  result_id: str | None = None, state: str = "draft") -> Result:
    clean, errors = clean_result_fields(session, data)
    if errors:
        raise ValidationFailed(errors)
    _check_unique_registration(session, clean.get("registration_no"), None)
    result = Result(state=state, created_by=actor, updated_by=actor)
    if result_id:
        result.id = result_id
    _apply(session, result, clean)
    session.add(result)
    session.flush()
    index_text(session, result)
    session.add(ResultEvent(result_id=result.id, action="create", to_state=state, actor=actor))
    session.flush()
    return result


def update_result(session: Session, result: Result, data: Mapping[str, Any], actor: str | None,
                  expected_version: int | None = None) -> Result:
    """Edit fields of a draft or submitted result (reviewed ones are locked)."""
    if result.state not in EDITABLE_STATES:
        raise IllegalTransition(STATE_NAMES.get(result.state, result.state), "edit",
                                allowed_actions(result.state))
    if expected_version is not None and expected_version != result.version:
        raise Conflict(en=f"The result changed meanwhile (version {result.version}, yours {expected_version})",
                       zh=f"成果已被他人修改（当前版本 {result.version}，您的版本 {expected_version}）",
                       server_version=result.version)
    clean, errors = clean_result_fields(session, data, partial=True)
    if errors:
        raise ValidationFailed(errors)
    _check_unique_registration(session, clean.get("registration_no"), result.id)
    _apply(session, result, clean)
    result.version += 1
    result.updated_at = utcnow()
    result.updated_by = actor
    session.flush()
    index_text(session, result)
    session.add(ResultEvent(result_id=result.id, action="edit", from_state=result.state,
                            to_state=result.state, actor=actor))
    session.flush()
    return result


def _check_unique_registration(session: Session, reg: str | None, own_id: str | None) -> None:
    if not reg:
        return
    other = session.scalar(select(Result.id).where(Result.registration_no == reg))
    if other is not None and other != own_id:
        raise ValidationFailed([FieldError("registration_no", "duplicate", "登记号已被其他成果使用",
                                           "The registration number belongs to another result", value=reg)])


def _apply(session: Session, result: Result, clean: dict[str, Any]) -> None:
    for key in SCALARS:
        if key in clean:
            setattr(result, key, clean[key])
    if "institutions" in clean:
        result.lead_institution = clean["institutions"][0] if clean["institutions"] else None
    if any(f in clean for f in CODE_FIELDS):
        _apply_codes(session, result, clean)
    if "suitable_regions" in clean:
        provinces = {code: prov for code, prov in session.execute(
            select(Division.code, Division.province_code).where(Division.code.in_(clean["suitable_regions"])))}
        result.regions = [ResultRegion(division_code=c, province_code=provinces[c])
                          for c in clean["suitable_regions"]]


def _apply_codes(session: Session, result: Result, clean: dict[str, Any]) -> None:
    keep = [c for c in result.codes if not any(
        c.dimension == dim for f, (dim, _l) in CODE_FIELDS.items() if f in clean)]
    rows = list(keep)
    for field, (dim, list_id) in CODE_FIELDS.items():
        if field not in clean:
            continue
        given = clean[field]
        parents = _parents(session, list_id, given)
        for pos, code in enumerate(given):
            rows.append(ResultCode(dimension=dim, code=code, position=pos, implied=False))
        for code in parents:
            if code not in given:
                rows.append(ResultCode(dimension=dim, code=code, position=100, implied=True))
    result.codes = rows


def _parents(session: Session, list_id: str, codes: list[str]) -> list[str]:
    if not codes:
        return []
    parents = session.scalars(
        select(Code.parent_code).where(Code.list_id == list_id, Code.code.in_(codes),
                                       Code.parent_code.is_not(None))
    )
    return list(dict.fromkeys(p for p in parents if p))


def index_text(session: Session, result: Result) -> None:
    """(Re)write the result's row in the text index (the engine's index follows by trigger or column)."""
    body = " ".join([result.summary or "", *(result.keywords or [])])
    row = session.scalar(select(ResultText).where(ResultText.result_id == result.id))
    name_tokens = " ".join(tokens(result.name))
    body_tokens = " ".join(tokens(body))
    if row is None:
        session.add(ResultText(result_id=result.id, name_tokens=name_tokens, body_tokens=body_tokens))
    elif (row.name_tokens, row.body_tokens) != (name_tokens, body_tokens):
        row.name_tokens, row.body_tokens = name_tokens, body_tokens
    session.flush()
