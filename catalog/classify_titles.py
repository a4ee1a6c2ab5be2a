"""Real project titles labelled with a technology field: training data for the model, and its yardstick.

Each National Key R&D Program project belongs to one key special project (重点专项); ``data/special_project_tech_
field.csv`` maps every special project to its technology fields (the primary first; how the mapping was made is in
``data/DEMO_DATA.md``). A title then counts as labelled with its special project's primary field. The demo results
are built from the titles of ``data/nkrdp_agri_projects_2018_2020.csv``, so a result's project number names the
title it came from: that title is the group that evaluation folds never split.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from catalog.errors import FieldError, ValidationFailed

DATA = Path(__file__).parent / "data"
PROJECTS_FILE = DATA / "nkrdp_agri_projects_2018_2020.csv"
MAPPING_FILE = DATA / "special_project_tech_field.csv"
REQUIRED_COLUMNS = ("title", "special_project")


@dataclass(frozen=True)
class FieldMapping:
    special_project: str
    primary: str
    tech_fields: tuple[str, ...]  # primary first
    judgement: bool


@dataclass(frozen=True)
class TitleRow:
    title: str
    special_project: str
    lead_institution: str | None = None
    project_no: str | None = None

    def text(self, with_institution: bool = False) -> str:
        """What the classifier reads: the title, and the lead institution when asked for (a result's text holds
        its institutions too)."""
        if with_institution and self.lead_institution:
            return f"{self.title}\n{self.lead_institution}"
        return self.title


@cache
def tech_field_mapping() -> dict[str, FieldMapping]:
    with MAPPING_FILE.open(encoding="utf-8", newline="") as f:
        return {r["special_project"]: FieldMapping(r["special_project"], r["primary_tech_field"],
                                                   tuple(c for c in r["tech_fields"].split("|") if c),
                                                   r["judgement"] == "yes")
                for r in csv.DictReader(f)}


def read_titles(data: bytes | str, name: str = "titles.csv") -> list[TitleRow]:
    """The rows of a titles CSV (UTF-8, a BOM allowed) with at least ``title`` and ``special_project`` columns;
    every row whose special project the mapping does not know is refused, all reported at once."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed([FieldError(c, "required", f"{name} 缺少“{c}”列", f"{name} has no '{c}' column")
                                for c in missing])
    mapping = tech_field_mapping()
    rows: list[TitleRow] = []
    errors: list[FieldError] = []
    for n, r in enumerate(reader, start=2):
        title, special = (r.get("title") or "").strip(), (r.get("special_project") or "").strip()
        if not title:
            errors.append(FieldError("title", "required", "题目为空", "The title is empty", row=n))
        elif special not in mapping:
            errors.append(FieldError("special_project", "unknown",
                                     f"未知的重点专项“{special}”（见 {MAPPING_FILE.name}）",
                                     f"Unknown key special project '{special}' (see {MAPPING_FILE.name})",
                                     row=n, value=special))
        else:
            rows.append(TitleRow(title, special, (r.get("lead_institution") or "").strip() or None,
                                 (r.get("project_no") or "").strip() or None))
    if errors:
        raise ValidationFailed(errors)
    return rows


def distinct_titles(rows: list[TitleRow]) -> list[TitleRow]:
    """One row per title (a few projects were announced twice)."""
    seen: dict[str, TitleRow] = {}
    for r in rows:
        seen.setdefault(r.title, r)
    return list(seen.values())


@cache
def shipped_titles() -> tuple[TitleRow, ...]:
    return tuple(distinct_titles(read_titles(PROJECTS_FILE.read_bytes(), PROJECTS_FILE.name)))


@cache
def title_of_project() -> dict[str, str]:
    """Project number → title, for the shipped projects (the demo results' origin)."""
    rows = read_titles(PROJECTS_FILE.read_bytes(), PROJECTS_FILE.name)
    return {r.project_no: r.title for r in rows if r.project_no}
