"""Keyword rules of classification suggestions: data that officers edit, not code.

A rule says: a text containing any of these keywords suggests this code of this dimension, with this weight
(0–1, how sure the rule is). Keywords match as plain substrings — no regular expressions, so an officer's edit
can neither fail to compile nor run away — and the matched keywords are the words shown with the suggestion.
Several rules for one code combine as independent evidence: ``1 − Π(1 − weight)``.

The shipped rules (``data/classify_rules.csv``) are loaded into ``classify_rule`` once, when a database is
first set up; from then on the table is the officers' (``/api/classify/rules``, ministry officers), and a later
load never overwrites or resurrects what they changed.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Float, String, Text, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.codelists import current_codes
from catalog.db import Base, UTCDateTime, new_id, timestamp, utcnow
from catalog.errors import FieldError, NotFound, ValidationFailed
from catalog.result_index import CatalogState

DATA = Path(__file__).parent / "data"
RULES_FILE = DATA / "classify_rules.csv"
LOADED_KEY = "classify_rules"  # catalog_state row: the shipped rules were loaded once
# Dimension of a suggestion → the code list its codes come from.
CODE_LISTS: dict[str, str] = {"tech_field": "tech_field", "industry_type": "industry_type",
                              "scenario": "scenario", "crop": "crop", "land_scenario": "land_scenario"}
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 32


class ClassifyRule(Base):
    __tablename__ = "classify_rule"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    dimension: Mapped[str] = mapped_column(String(16), index=True)
    code: Mapped[str] = mapped_column(String(32))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    weight: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="officer")  # shipped, officer
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))


# -- matching -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """A rule as matching needs it (detached from the session)."""

    dimension: str
    code: str
    keywords: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class RuleHit:
    confidence: float
    words: tuple[str, ...]


def specs(rules: Iterable[ClassifyRule]) -> list[RuleSpec]:
    return [RuleSpec(r.dimension, r.code, tuple(r.keywords or ()), float(r.weight)) for r in rules]


def match(rules: Sequence[RuleSpec], text: str) -> dict[str, dict[str, RuleHit]]:
    """Per dimension and code, the combined confidence of the rules whose keywords ``text`` contains."""
    folded = text.lower()
    misses: dict[tuple[str, str], float] = {}
    words: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        found = [k for k in rule.keywords if k and k.lower() in folded]
        if not found:
            continue
        key = (rule.dimension, rule.code)
        misses[key] = misses.get(key, 1.0) * (1.0 - rule.weight)
        got = words.setdefault(key, [])
        got.extend(k for k in found if k not in got)
    out: dict[str, dict[str, RuleHit]] = {}
    for (dim, code), miss in misses.items():
        # A keyword inside a longer matched one (稻 in 双季稻) is not shown twice.
        shown = [w for w in words[(dim, code)] if not any(w != o and w in o for o in words[(dim, code)])]
        out.setdefault(dim, {})[code] = RuleHit(1.0 - miss, tuple(shown))
    return out


def rule_specs(session: Session) -> list[RuleSpec]:
    return specs(session.scalars(select(ClassifyRule).order_by(ClassifyRule.dimension, ClassifyRule.code)))


# -- the shipped rules -----------------------------------------------------------------------------------------


def shipped_rules(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [{"dimension": r["dimension"], "code": r["code"], "keywords": split_keywords(r["keywords"]),
                 "weight": float(r["weight"]), "note": r["note"] or None} for r in csv.DictReader(f)]


def load_shipped_rules(session: Session, path: Path = RULES_FILE) -> int:
    """Insert the shipped rules into an empty, never-loaded rule table; returns how many (0 when done before).

    Core inserts, like other reference data: a data file is not an officer's edit, so it is not audited."""
    if session.get(CatalogState, LOADED_KEY) is not None:
        return 0
    rows = shipped_rules(path)
    now = utcnow()
    if rows:
        session.execute(insert(ClassifyRule), [
            {"id": new_id(), **r, "origin": "shipped", "created_at": now, "updated_at": now,
             "created_by": "shipped", "updated_by": "shipped"} for r in rows])
    session.add(CatalogState(key=LOADED_KEY, value=1))
    session.flush()
    return len(rows)


# -- officers' edits --------------------------------------------------------------------------------------------


def split_keywords(value: str | Sequence[str]) -> list[str]:
    items = value.split("|") if isinstance(value, str) else list(value)
    return list(dict.fromkeys(k.strip() for k in items if k and k.strip()))


def get_rule(session: Session, rule_id: str) -> ClassifyRule:
    rule = session.get(ClassifyRule, rule_id)
    if rule is None:
        raise NotFound(en=f"No rule {rule_id}", zh="规则不存在", id=rule_id)
    return rule


def list_rules(session: Session, dimension: str | None = None, code: str | None = None) -> list[ClassifyRule]:
    query = select(ClassifyRule).order_by(ClassifyRule.dimension, ClassifyRule.code, ClassifyRule.created_at)
    if dimension:
        query = query.where(ClassifyRule.dimension == dimension)
    if code:
        query = query.where(ClassifyRule.code == code)
    return list(session.scalars(query))


def add_rule(session: Session, data: Mapping[str, Any], actor: str) -> ClassifyRule:
    clean = _clean(session, data, partial=False)
    rule = ClassifyRule(**clean, origin="officer", created_by=actor, updated_by=actor)
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, rule: ClassifyRule, data: Mapping[str, Any], actor: str) -> ClassifyRule:
    clean = _clean(session, {"dimension": rule.dimension, "code": rule.code, **data}, partial=True)
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.updated_at = utcnow()
    rule.updated_by = actor
    session.flush()
    return rule


def delete_rule(session: Session, rule: ClassifyRule) -> None:
    session.delete(rule)
    session.flush()


def _clean(session: Session, data: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    dim = data.get("dimension")
    if dim not in CODE_LISTS:
        errors.append(FieldError("dimension", "invalid", f"维度应为 {'、'.join(CODE_LISTS)} 之一",
                                 f"The dimension must be one of {', '.join(CODE_LISTS)}", value=dim))
    else:
        out["dimension"] = dim
        code = data.get("code")
        if code not in current_codes(session, CODE_LISTS[dim]):
            errors.append(FieldError("code", "unknown_code", f"代码 {code} 不在“{dim}”代码表中",
                                     f"Code {code} is not in the {dim} code list", value=code))
        else:
            out["code"] = code
    if "keywords" in data or not partial:
        keywords = split_keywords(data.get("keywords") or [])
        if not keywords:
            errors.append(FieldError("keywords", "required", "至少需要一个关键词", "At least one keyword is needed"))
        elif len(keywords) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD_CHARS for k in keywords):
            errors.append(FieldError("keywords", "too_long",
                                     f"最多 {MAX_KEYWORDS} 个关键词，每个不超过 {MAX_KEYWORD_CHARS} 字",
                                     f"At most {MAX_KEYWORDS} keywords of {MAX_KEYWORD_CHARS} characters each"))
        else:
            out["keywords"] = keywords
    if "weight" in data or not partial:
        weight = data.get("weight")
        if not isinstance(weight, int | float) or isinstance(weight, bool) or not 0 < weight <= 1:
            errors.append(FieldError("weight", "out_of_range", "权重应大于 0 且不超过 1",
                                     "The weight must be above 0 and at most 1", value=weight))
        else:
            out["weight"] = float(weight)
    if "note" in data:
        out["note"] = (str(data["note"]).strip() or None) if data["note"] is not None else None
    if errors:
        raise ValidationFailed(errors)
    return out
