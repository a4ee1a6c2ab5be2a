"""Reference data the kit needs offline, and the server's own yield rule run on the kit.

Code lists come from what the kit pulled (the server's current lists); before the first sync the copy shipped
with the catalog stands in. The yield preview runs ``catalog.field_rules.clean_yield`` — the very rule the server
applies on push — against the shipped code lists in a private in-memory database, so the figure the agent sees
while typing is the figure the server will compute (DESIGN.md: domain rules live once, in ``catalog``).
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from catalog.access import operator
from catalog.audit import act_as
from catalog.codelists import DATA, Code, CodeList, load_code_lists
from catalog.errors import FieldError
from catalog.field import DemoPlot
from catalog.field_rules import clean_yield
from fieldkit.store import HOOK_TABLES, Listing, Store


@dataclass(frozen=True)
class Choice:
    code: str
    name_zh: str
    name_en: str
    parent: str | None = None

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh


@cache
def _shipped() -> dict[str, list[Choice]]:
    out: dict[str, list[Choice]] = {}
    with (DATA / "codes.csv").open(encoding="utf-8", newline="") as f:
        for row in sorted(csv.DictReader(f), key=lambda r: (r["list_id"], int(r["sort"]))):
            out.setdefault(row["list_id"], []).append(
                Choice(row["code"], row["name_zh"], row["name_en"], row["parent_code"] or None))
    return out


def choices(store: Store, list_id: str) -> list[Choice]:
    """Current codes of a list: the pulled list when the kit has one, else the shipped copy."""
    with store.session() as s:
        row = s.get(Listing, ("codelist", list_id))
        record = dict(row.record) if row is not None else None
    if not record or not record.get("codes"):
        return _shipped().get(list_id, [])
    codes = sorted((c for c in record["codes"] if c.get("retired_in") is None), key=lambda c: c.get("sort") or 0)
    return [Choice(c["code"], c["name_zh"], c["name_en"], c.get("parent_code")) for c in codes]


def labels(store: Store, list_id: str, lang: str) -> dict[str, str]:
    return {c.code: c.label(lang) for c in choices(store, list_id)}


def seasons(store: Store, years: range, lang: str) -> list[tuple[str, str]]:
    """(value, label) of the season codes over ``years``: ``2026-autumn_grain`` → 2026年 秋粮."""
    return [(f"{y}-{c.code}", _season_text(y, c.label(lang), lang)) for y in years for c in choices(store, "season")]


def season_label(store: Store, season: str, lang: str) -> str:
    year, _, code = season.partition("-")
    names = labels(store, "season", lang)
    return _season_text(year, names[code], lang) if code in names else season


def _season_text(year: object, name: str, lang: str) -> str:
    return f"{year} {name}" if lang == "en" else f"{year}年 {name}"


# --- the yield rule -------------------------------------------------------------------------------------------

_lock = threading.Lock()


@cache
def _reference_engine() -> Any:
    # One connection shared by every thread (StaticPool): an in-memory SQLite database lives in its connection.
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    tables = [CodeList.__table__, Code.__table__, *HOOK_TABLES]
    CodeList.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
    with act_as(Session(engine), operator("fieldkit")) as s, s.begin():
        load_code_lists(s)
    return engine


def standard_moisture(crop: str) -> float | None:
    with _lock, Session(_reference_engine()) as s:
        extra = s.scalar(select(Code.extra).where(Code.list_id == "crop", Code.code == crop))
    value = (extra or {}).get("standard_moisture")
    return float(value) if value is not None else None


def compute_yield(values: Mapping[str, Any], plot: DemoPlot | None) -> tuple[dict[str, Any], list[FieldError]]:
    """The server's cleaning of a yield measurement: normalised fields with ``standard_moisture``,
    ``yield_kg_per_mu`` and ``gain_pct``, or the refused fields (zh and en) — without writing anything."""
    # A stand-in for the plot with what the rule reads (its area and crop): the control plot's yield lives in the
    # kit's store, not in the reference database, so a control-plot baseline is given by the agent here.
    stand_in = DemoPlot(area_m2=plot.area_m2, crop=plot.crop) if plot is not None else None
    data = {k: v for k, v in values.items() if k in _YIELD_INPUTS}
    with _lock, act_as(Session(_reference_engine()), operator("fieldkit")) as s:  # reads only; closed unwritten
        out, errors = clean_yield(s, data, plot=stand_in)
    return json.loads(json.dumps(out, default=str)), errors


_YIELD_INPUTS = frozenset({"method", "level", "measured_on", "crop", "samples", "baseline_kg_per_mu",
                           "baseline_type", "panel", "notes"})
