"""Every code list, hierarchical, with Chinese and English names; retired codes marked."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from sqlalchemy import select

from catalog.codelists import Code, CodeList, all_codes
from server.db import db_session
from server.i18n import t

# The order lists are read in: classification first, then the scalar fields.
LIST_ORDER = ("tech_field", "industry_type", "scenario", "land_scenario", "crop", "form", "trl", "stage",
              "transfer_mode")


@dataclass
class CodeRow:
    code: Code
    depth: int
    notes: list[str]


def _depth(code: Code, codes: dict[str, Code]) -> int:
    depth, seen = 0, {code.code}
    parent = code.parent_code
    while parent and parent in codes and parent not in seen:  # guard against a cycle in edited data
        seen.add(parent)
        depth += 1
        parent = codes[parent].parent_code
    return depth


def notes_of(code: Code) -> list[str]:
    """The code's extra attributes in words (GB/T 4754 class, standard moisture, ...)."""
    extra = code.extra or {}
    notes: list[str] = []
    for key, value in extra.items():
        if key == "verified":
            if value is False:
                notes.append(t("extra.unverified"))
        elif key == "standard_moisture" and isinstance(value, int | float):
            notes.append(t("extra.standard_moisture", v=f"{value * 100:g}"))
        elif f"extra.{key}" in _KNOWN_EXTRAS:
            notes.append(t(f"extra.{key}", v=value))
        else:
            notes.append(f"{key}: {value}")
    return notes


_KNOWN_EXTRAS = {"extra.gb4754", "extra.industry_type", "extra.scale"}


def _ordered(code_lists: list[CodeList]) -> list[CodeList]:
    rank = {name: i for i, name in enumerate(LIST_ORDER)}
    return sorted(code_lists, key=lambda cl: (rank.get(cl.id, len(rank)), cl.id))


def _hierarchical(codes: dict[str, Code]) -> list[Code]:
    """Parents before their children, each level in its list order."""
    children: dict[str | None, list[Code]] = {}
    for c in codes.values():
        parent = c.parent_code if c.parent_code in codes else None
        children.setdefault(parent, []).append(c)
    out: list[Code] = []

    def walk(parent: str | None) -> None:
        for c in sorted(children.get(parent, []), key=lambda c: (c.sort, c.code)):
            out.append(c)
            if c.code != parent:
                walk(c.code)

    walk(None)
    return out


def codelists_page() -> str:
    """代码表 / All code lists."""
    session = db_session()
    codes = all_codes(session)
    lists = _ordered(list(session.scalars(select(CodeList))))
    rows = {cl.id: [CodeRow(c, _depth(c, codes.get(cl.id, {})), notes_of(c))
                    for c in _hierarchical(codes.get(cl.id, {}))] for cl in lists}
    return render_template("codelists.html", lists=lists, rows=rows)
