"""Readable names for what a result stores as codes: code-list entries, divisions, states, sources."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.codelists import Code, all_codes
from catalog.divisions import Division
from server.i18n import name_of, t

# Facet (or record field) → the code list its values come from.
CODE_LIST_OF: dict[str, str] = {
    "tech_field": "tech_field",
    "industry_type": "industry_type",
    "scenario": "scenario",
    "crop": "crop",
    "land_scenario": "land_scenario",
    "transfer_mode": "transfer_mode",
    "trl": "trl",
    "form": "form",
    "stage": "stage",
}


@dataclass
class Labels:
    codes: dict[str, dict[str, Code]]
    divisions: dict[str, Division]

    @classmethod
    def load(cls, session: Session, division_codes: Iterable[str] = ()) -> Labels:
        """Every code list, the provinces, and the given divisions with their ancestors."""
        divisions = {d.code: d for d in session.scalars(select(Division).where(Division.level == "province"))}
        wanted = set(division_codes) - set(divisions)
        while wanted:  # walk up county → prefecture → province, one query per level
            rows = list(session.scalars(select(Division).where(Division.code.in_(wanted))))
            divisions.update((d.code, d) for d in rows)
            wanted = {d.parent_code for d in rows if d.parent_code and d.parent_code not in divisions}
        return cls(all_codes(session), divisions)

    def code(self, list_id: str, value: str | None) -> str:
        if value is None or value == "":
            return t("none")
        found = self.codes.get(list_id, {}).get(str(value))
        return name_of(found) if found else t("unknown_code", code=value)

    def code_path(self, list_id: str, value: str) -> str:
        """A code's name after its parent's (耕地保育与地力提升 › 黑土地保护)."""
        found = self.codes.get(list_id, {}).get(value)
        if found is not None and found.parent_code:
            return f"{self.code(list_id, found.parent_code)} › {name_of(found)}"
        return self.code(list_id, value)

    def codes_of(self, facet: str, values: Iterable[str]) -> list[str]:
        return [self.code(CODE_LIST_OF[facet], v) for v in values]

    def division(self, code: str | None) -> str:
        if not code:
            return t("none")
        found = self.divisions.get(code)
        return found.name if found else t("unknown_code", code=code)

    def division_path(self, code: str) -> str:
        """黑龙江省 › 哈尔滨市 › 五常市: the division after its ancestors."""
        names: list[str] = []
        current = self.divisions.get(code)
        if current is None:
            return t("unknown_code", code=code)
        while current is not None:
            names.append(current.name)
            current = self.divisions.get(current.parent_code) if current.parent_code else None
        return " › ".join(reversed(names))

    def provinces(self) -> list[Division]:
        return sorted((d for d in self.divisions.values() if d.level == "province" and d.valid_to is None),
                      key=lambda d: d.code)


def facet_value_label(labels: Labels, facet: str, value: str) -> str:
    """The label of one facet value, whatever kind of facet it is."""
    if facet in CODE_LIST_OF:
        return labels.code_path(CODE_LIST_OF[facet], value) if facet != "trl" else labels.code("trl", value)
    if facet == "province":
        return labels.division(value)
    if facet == "source":
        return t(f"source.{value}") if value in ("national", "local") else value
    if facet == "state":
        return state_label(value)
    return value


def state_label(state: str | None) -> str:
    key = f"state.{state}"
    try:
        return t(key)
    except KeyError:
        return state or t("none")
