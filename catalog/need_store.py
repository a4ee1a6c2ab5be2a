"""Post, edit, move and list needs; every field checked once here for every way in (API, page, seed).

Areas come in 亩 (``area_mu``, what users know) and are kept in m² (``Need.area_m2``); 1 亩 = 10000/15 m².
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.audit import flush_as
from catalog.codelists import current_codes
from catalog.db import utcnow
from catalog.errors import Conflict, FieldError, IllegalTransition, NotFound, ValidationFailed
from catalog.need_access import ensure_can_post, ensure_need_readable, ensure_need_writable, need_scope
from catalog.needs import CODE_FIELDS, STATE_NAMES, STATES, STEPS, Need
from catalog.results import Result
from catalog.sites import Site

M2_PER_MU = 10000 / 15
FIELDS = ("site_id", "title", "problem", *CODE_FIELDS, "season", "area_mu", "scale_text", "contact")
TEXT_LIMITS = {"title": 128, "problem": 4000, "scale_text": 256, "contact": 128}
MAX_AREA_MU = 10_000_000  # 1000万亩: more than any park or county posts
_SEASON = re.compile(r"^(\d{4})-([a-z_]+)$")


def _err(field: str, code: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(field=field, code=code, zh=zh, en=en, value=value)


def _list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[;；,，、|\s]+", value) if v.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(dict.fromkeys(v.strip() for v in value if v.strip()))
    return None


def clean_need(session: Session, data: Mapping[str, Any], *, partial: bool = False
               ) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalised fields and every error (field, code, zh, en); with ``partial`` only given fields count."""
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key in data:
        if key not in FIELDS:
            errors.append(_err(key, "unknown_field", "未知字段", "Unknown field"))

    def given(field: str) -> bool:
        return field in data or not partial

    if given("site_id") and not partial:
        site_id = str(data.get("site_id") or "").strip()
        if not site_id:
            errors.append(_err("site_id", "required", "请选择园区或县", "Choose the park or county"))
        elif session.get(Site, site_id) is None:
            errors.append(_err("site_id", "unknown", "园区或县不存在", "No such park or county", site_id))
        else:
            out["site_id"] = site_id
    elif "site_id" in data and partial:
        errors.append(_err("site_id", "read_only", "需求所属园区或县不能修改",
                           "A need stays with the site that posted it"))
    for field, limit in TEXT_LIMITS.items():
        if not given(field):
            continue
        raw = data.get(field)
        value = "" if raw is None else str(raw).strip()
        if field == "title" and not value:
            errors.append(_err("title", "required", "请填写需求标题", "Give the need a title"))
        elif len(value) > limit:
            errors.append(_err(field, "too_long", f"不能超过 {limit} 个字符", f"At most {limit} characters",
                               len(value)))
        else:
            out[field] = value if field in ("title", "problem") else (value or None)
    if given("problem") and not out.get("problem") and "problem" not in [e.field for e in errors]:
        errors.append(_err("problem", "required", "请用自己的话描述遇到的问题",
                           "Describe the problem in your own words"))
    for field, list_id in CODE_FIELDS.items():
        if not given(field):
            continue
        values = _list(data.get(field))
        if values is None:
            errors.append(_err(field, "invalid", "应为代码列表", "Expected a list of codes"))
            continue
        known = current_codes(session, list_id)
        bad = [v for v in values if v not in known]
        if bad:
            errors.append(_err(field, "unknown_code", f"代码不在代码表“{list_id}”中：{'、'.join(bad)}",
                               f"Not in the {list_id} code list: {', '.join(bad)}", bad))
        else:
            out[field] = values
    if given("season"):
        season = str(data.get("season") or "").strip()
        if not season:
            out["season"] = None
        elif not (m := _SEASON.match(season)):
            errors.append(_err("season", "invalid", "季别应写作 年份-季别代码，如 2026-autumn_grain",
                               "Write the season as year-code, e.g. 2026-autumn_grain", season))
        elif not 2000 <= int(m.group(1)) <= 2100 or m.group(2) not in current_codes(session, "season"):
            errors.append(_err("season", "unknown_code", "年份或季别代码不正确", "Unknown year or season code",
                               season))
        else:
            out["season"] = season
    if given("area_mu"):
        raw = data.get("area_mu")
        if raw is None or raw == "":
            out["area_m2"] = None
        else:
            try:
                mu = float(raw)
            except (TypeError, ValueError):
                mu = math.nan
            if isinstance(raw, bool) or not math.isfinite(mu) or not 0 < mu <= MAX_AREA_MU:
                errors.append(_err("area_mu", "out_of_range", f"面积应为大于 0、不超过 {MAX_AREA_MU} 的亩数",
                                   f"The area must be more than 0 and at most {MAX_AREA_MU} mu", raw))
            else:
                out["area_m2"] = mu * M2_PER_MU
    return out, errors


def _flush_as(session: Session, actor: Actor) -> None:
    # The audit entry names who wrote, whatever the session was declared for (as catalog.field_rules does).
    flush_as(session, actor)


def get_need(session: Session, need_id: str) -> Need | None:
    return session.get(Need, need_id)


def read_need(session: Session, actor: Actor, need_id: str) -> Need:
    return ensure_need_readable(session, actor, get_need(session, need_id), need_id)


def create_need(session: Session, actor: Actor, data: Mapping[str, Any], need_id: str | None = None) -> Need:
    clean, errors = clean_need(session, data)
    if errors:
        raise ValidationFailed(errors)
    site = session.get(Site, clean["site_id"])
    assert site is not None
    ensure_can_post(actor, site)
    need = Need(**clean, province_code=site.province_code, state="open", created_by=actor.name,
                updated_by=actor.name)
    if need_id:
        need.id = need_id
    session.add(need)
    _flush_as(session, actor)
    return need


def _check_version(need: Need, expected: int | None) -> None:
    if expected is not None and expected != need.version:
        raise Conflict(en=f"The need changed meanwhile (version {need.version}, yours {expected})",
                       zh=f"需求已被他人修改（当前版本 {need.version}，您的版本 {expected}）",
                       server_version=need.version)


def update_need(session: Session, actor: Actor, need_id: str, data: Mapping[str, Any],
                expected_version: int | None = None) -> Need:
    """Edit an open or matched need (a closed one is reopened first)."""
    need = ensure_need_writable(session, actor, get_need(session, need_id), need_id)
    if need.state == "closed":
        raise IllegalTransition(STATE_NAMES[need.state], "edit", ["reopen"])
    _check_version(need, expected_version)
    clean, errors = clean_need(session, data, partial=True)
    if errors:
        raise ValidationFailed(errors)
    for key, value in clean.items():
        setattr(need, key, value)
    need.version += 1
    need.updated_at, need.updated_by = utcnow(), actor.name
    _flush_as(session, actor)
    return need


def allowed_steps(state: str) -> list[str]:
    return [a for a, (sources, _to) in STEPS.items() if state in sources]


def move_need(session: Session, actor: Actor, need_id: str, action: str, *, result_id: str | None = None,
              comment: str | None = None, expected_version: int | None = None) -> Need:
    """match (optionally naming the result found), close, or reopen a need."""
    need = ensure_need_writable(session, actor, get_need(session, need_id), need_id)
    if action not in STEPS or need.state not in STEPS[action][0]:
        raise IllegalTransition(STATE_NAMES.get(need.state, need.state), action, allowed_steps(need.state))
    _check_version(need, expected_version)
    if comment is not None and len(comment) > 2000:
        raise ValidationFailed([_err("comment", "too_long", "意见不能超过 2000 个字符", "At most 2000 characters")])
    if result_id is not None:
        if action != "match":
            raise ValidationFailed([_err("result_id", "not_allowed", "只有“已对接”可以指明成果",
                                         "Only a match names a result", result_id)])
        found = session.get(Result, result_id)
        if found is None or found.state != "published":
            raise ValidationFailed([_err("result_id", "unknown", "只能指明已发布的成果",
                                         "Name a published result", result_id)])
    need.state = STEPS[action][1]
    need.matched_result_id = result_id if action == "match" else (None if action == "reopen" else
                                                                  need.matched_result_id)
    need.state_comment = comment or None
    need.version += 1
    need.updated_at, need.updated_by = utcnow(), actor.name
    _flush_as(session, actor)
    return need


@dataclass(frozen=True)
class NeedFilter:
    site_id: str | None = None
    state: str | None = None
    province: str | None = None


def need_query(actor: Actor, filters: NeedFilter) -> Select[tuple[Need]]:
    """The needs ``actor`` reads that match ``filters``, newest first."""
    q = select(Need).where(need_scope(actor))
    if filters.site_id:
        q = q.where(Need.site_id == filters.site_id)
    if filters.state:
        if filters.state not in STATES:
            raise ValidationFailed([_err("state", "invalid", "状态应为 open、matched 或 closed",
                                         "State is open, matched or closed", filters.state)])
        q = q.where(Need.state == filters.state)
    if filters.province:
        q = q.where(Need.province_code == filters.province)
    return q.order_by(Need.created_at.desc(), Need.id)


def list_needs(session: Session, actor: Actor, filters: NeedFilter, page: int = 1, per_page: int = 50
               ) -> tuple[list[Need], int]:
    query = need_query(actor, filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(session.scalars(query.limit(per_page).offset((page - 1) * per_page))), int(total)


def site_of(session: Session, need: Need) -> Site:
    site = session.get(Site, need.site_id)
    if site is None:  # sites are reference data and never deleted; a dangling id is a fault of ours
        raise NotFound(en=f"No site {need.site_id}", zh="园区或县不存在")
    return site
