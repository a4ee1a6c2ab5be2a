"""The national targets of the action (DOMAIN.md) as editable data, and progress toward them.

The targets are rows of ``national_target``, seeded from ``catalog/data/national_targets.csv`` (a row already in the
database is never overwritten by a reload: ministry officers edit them with :func:`update_target`). Each has a
``unit`` (``count``, ``mu``, ``pct``, ``scenarios``, ``grade``) and says whether it ``accumulate``s over seasons
(``cumulative``: every season up to the one asked for, e.g. 累计示范面积) or is read for one ``season``.

:func:`progress` computes, for a scope (the country, a province …) and a season, each target's value, the share done
(value ÷ target) and the areas and sites that contribute. How each value is made:

- ``varieties`` — distinct (crop, variety) on variety demo plots of soybean, rapeseed, maize, rice, wheat, every season
  up to the one asked for;
- ``variety_demo_area`` — walked variety demo area of those seasons **plus** the reported 品种推广面积 (both shown);
- ``yield_gain`` / ``grain_gain`` — the area-weighted gain of the season's variety / land-quality plots over each
  plot's highest approved measurement, pooled over baseline types (each type shown beside it);
- ``core_demo_area`` — the season's walked land-quality demo area;
- ``radiated_area`` — reported 耕地质量提升辐射面积 up to the season;
- ``land_scenarios`` — how many of the four scenarios (黑土地, 干旱半干旱耕地, 盐碱地, 红黄壤) have land-quality plots;
- ``grade_change`` — the area-weighted grade change (first grade − latest) of the season's land-quality plots.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Integer, String, Text, and_, case, distinct, func, literal, select, union_all
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.access import Actor
from catalog.audit import flush_as
from catalog.coverage import _DIV, Coverage, CoverageRow, _child_key, coverage, resolve_scope
from catalog.db import Base, UTCDateTime, utcnow
from catalog.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from catalog.field import DemoPlot, is_control_plot
from catalog.seasons import ExtensionReport, parse_season
from gis.area import M2_PER_MU

DATA = Path(__file__).parent / "data"
UNITS = ("count", "mu", "pct", "scenarios", "grade")
ACCUMULATE = ("cumulative", "season")
TARGET_CROPS = ("soybean", "rapeseed", "maize", "rice", "rice_indica", "rice_japonica", "wheat")
TARGET_SCENARIOS = ("SC0101", "SC0102", "SC0103", "SC0104")
MAX_CONTRIBUTORS = 10


class NationalTarget(Base):
    __tablename__ = "national_target"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(256))
    target_value: Mapped[float] = mapped_column(Float)  # in ``unit`` (亩 for areas, % for gains)
    unit: Mapped[str] = mapped_column(String(16))
    accumulate: Mapped[str] = mapped_column(String(16), default="season")
    by_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


def load_targets(session: Session, folder: Path = DATA) -> int:
    """Add the shipped targets that the database lacks (edited ones are kept); returns how many were added."""
    with (folder / "national_targets.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    added = 0
    for r in rows:
        if session.get(NationalTarget, r["id"]) is not None:
            continue
        session.add(NationalTarget(
            id=r["id"], sort=int(r["sort"]), name_zh=r["name_zh"], name_en=r["name_en"],
            target_value=float(r["target_value"]), unit=r["unit"], accumulate=r["accumulate"],
            by_year=int(r["by_year"]) if r["by_year"] else None, source=r["source"] or None,
            notes=r["notes"] or None, updated_by="data file"))
        added += 1
    session.flush()
    return added


def list_targets(session: Session) -> list[NationalTarget]:
    return list(session.scalars(select(NationalTarget).order_by(NationalTarget.sort, NationalTarget.id)))


def get_target(session: Session, target_id: str) -> NationalTarget:
    target = session.get(NationalTarget, target_id)
    if target is None:
        raise NotFound(en=f"No national target '{target_id}'", zh=f"全国目标“{target_id}”不存在", id=target_id)
    return target


def update_target(session: Session, actor: Actor, target_id: str, data: Mapping[str, Any],
                  expected_version: int | None = None) -> NationalTarget:
    """Change a target's value (``target_value``, > 0), its year (``by_year``), names or notes: ministry officers
    only (403), 409 on a stale ``expected_version``, 422 per bad field."""
    if not (actor.system or actor.has("ministry_officer")):
        raise Forbidden(en="Only ministry officers edit the national targets", zh="只有部级管理员可以修改全国目标")
    target = get_target(session, target_id)
    errors: list[FieldError] = []
    changes: dict[str, Any] = {}
    if "target_value" in data:
        try:
            value = float(data["target_value"])
            if not value > 0:
                raise ValueError
            changes["target_value"] = value
        except (TypeError, ValueError):
            errors.append(FieldError("target_value", "out_of_range", "目标值应为大于 0 的数字",
                                     "The target must be a number above 0", value=data["target_value"]))
    if "by_year" in data and data["by_year"] not in (None, ""):
        try:
            year = int(data["by_year"])
            if not 2000 <= year <= 2100:
                raise ValueError
            changes["by_year"] = year
        except (TypeError, ValueError):
            errors.append(FieldError("by_year", "out_of_range", "年份应在 2000–2100 之间", "The year must be 2000-2100",
                                     value=data["by_year"]))
    for name in ("name_zh", "name_en", "notes", "source"):
        if name in data:
            text = str(data[name] or "").strip()
            if not text and name in ("name_zh", "name_en"):
                errors.append(FieldError(name, "required", "必填", "Required"))
            else:
                changes[name] = text or None
    if errors:
        raise ValidationFailed(errors)
    if expected_version is not None and expected_version != target.version:
        raise Conflict(en=f"The target changed meanwhile (version {target.version})",
                       zh=f"目标已被他人修改（当前版本 {target.version}）", version=target.version)
    for k, v in changes.items():
        setattr(target, k, v)
    target.version += 1
    target.updated_by, target.updated_at = actor.name, utcnow()
    flush_as(session, actor)
    return target


# --------------------------------------------------------------------------------------------------- progress


@dataclass
class Contributor:
    """An area (division) or a site and its part of a target's value."""

    code: str
    name: str
    kind: str          # division level, or the site's kind
    value: float


@dataclass
class TargetProgress:
    id: str
    name_zh: str
    name_en: str
    unit: str
    accumulate: str
    target: float
    value: float | None
    parts: dict[str, float] = field(default_factory=dict)  # e.g. walked / reported area (亩), by baseline type
    contributors: list[Contributor] = field(default_factory=list)  # children of the scope, largest first
    sites: list[Contributor] = field(default_factory=list)         # sites of the scope, largest first
    by_year: int | None = None
    basis: str = ""    # what the value stands on (review levels), in Chinese

    @property
    def share(self) -> float | None:
        """value ÷ target (1.0 = reached); None without a value."""
        return None if self.value is None or not self.target else self.value / self.target


def _top(items: list[Contributor]) -> list[Contributor]:
    return sorted((c for c in items if c.value), key=lambda c: (-c.value, c.code))[:MAX_CONTRIBUTORS]


def _cumulative(session: Session, prefix: str, year: int, scope: tuple[str, str]
                ) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Every season up to ``year``, per child row of ``scope`` (level, code) and in all: walked variety area,
    distinct target varieties, reported areas (m²)."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"walked": 0.0, "extension": 0.0, "radiated": 0.0,
                                                            "varieties": 0.0})
    total = {"walked": 0.0, "extension": 0.0, "radiated": 0.0, "varieties": 0.0}
    key = _child_key(*scope)
    # seasons up to ``year`` ("2026-…" < "2027"): a range on the season, which leads the plots' covering index
    until = f"{year + 1:04d}"
    where = [DemoPlot.deleted.is_(False), DemoPlot.demo_type == "variety", DemoPlot.season < until, ~is_control_plot()]
    if prefix:
        where.append(DemoPlot.county_code.startswith(prefix))
    conn = session.connection()
    variety = DemoPlot.crop.concat("/").concat(DemoPlot.variety)
    is_target = and_(DemoPlot.variety.is_not(None), DemoPlot.crop.in_(TARGET_CROPS))
    # One pass over the plots: their area by child row and target variety (a hashed GROUP BY, where
    # COUNT(DISTINCT …) sorts every plot), read twice — per child, and the distinct varieties in all.
    pairs = (select(key.label("child"), case((is_target, variety)).label("v"),
                    func.sum(DemoPlot.area_m2).label("area"))
             .join(_DIV, _DIV.c.code == DemoPlot.county_code).where(*where)
             .group_by(key, case((is_target, variety))).cte("pairs"))
    per_child = select(literal(0).label("part"), pairs.c.child, func.coalesce(func.sum(pairs.c.area), 0.0),
                       func.count(pairs.c.v)).group_by(pairs.c.child)
    in_all = select(literal(1), literal(None, String), literal(0.0), func.count(distinct(pairs.c.v)))
    for part, child, area, n in conn.execute(union_all(per_child, in_all)):
        if part == 1:
            total["varieties"] = float(n or 0)
            continue
        out[child]["walked"] += float(area or 0.0)
        out[child]["varieties"] = float(n or 0)
        total["walked"] += float(area or 0.0)
    ext_where = [ExtensionReport.season < until]
    if prefix:
        ext_where.append(ExtensionReport.county_code.startswith(prefix))
    for child, kind, area in conn.execute(
            select(key, ExtensionReport.kind, func.sum(ExtensionReport.area_m2))
            .join(_DIV, _DIV.c.code == ExtensionReport.county_code)
            .where(*ext_where).group_by(key, ExtensionReport.kind)):
        name = "radiated" if kind == "land_radiated" else "extension"
        out[child][name] += float(area or 0.0)
        total[name] += float(area or 0.0)
    return out, total


def _season_value(target_id: str, row: CoverageRow) -> tuple[float | None, dict[str, float]]:
    if target_id in ("yield_gain", "grain_gain"):
        demo_type = "variety" if target_id == "yield_gain" else "land_quality"
        pooled = row.gain(None, None, demo_type)
        parts: dict[str, float] = {}
        for baseline in ("control_plot", "check_variety", "county_average"):
            w = a = 0.0
            for g in row.gains:
                if g.demo_type == demo_type and g.crop is not None and g.baseline_type == baseline \
                        and g.gain_pct is not None:
                    w += g.gain_pct * g.area_m2
                    a += g.area_m2
            if a:
                parts[baseline] = w / a
        return (pooled.gain_pct if pooled else None), parts
    if target_id == "core_demo_area":
        return row.land_area_mu, {}
    if target_id == "land_scenarios":
        return float(sum(1 for lf in row.land if lf.land_scenario in TARGET_SCENARIOS and lf.plots)), {}
    if target_id == "grade_change":
        w = a = 0.0
        for lf in row.land:
            if lf.grade_change is not None:
                w += lf.grade_change * lf.graded_area_m2
                a += lf.graded_area_m2
        return (w / a if a else None), {}
    return None, {}


def progress(session: Session, scope: str | None, season: str, *, cov: Coverage | None = None,
             today: dt.date | None = None) -> list[TargetProgress]:
    """Each national target with its value in ``scope`` (a division code, the country by default) for ``season``,
    the share done and the contributing children and sites (largest first, at most 10 of each). Pass ``cov`` (the
    :func:`catalog.coverage.coverage` of the same scope and season) to reuse it."""
    parsed = parse_season(season)
    resolved = resolve_scope(session, scope)
    cov = cov or coverage(session, resolved.code, parsed.key, today=today, with_plots=False)
    prefix = resolved.prefix if resolved.site is None else (resolved.site.place_code or "")
    per_child, total = _cumulative(session, prefix, parsed.year, (resolved.level, resolved.code)) \
        if resolved.site is None else ({}, {})
    names = {c.code: (c.name, c.level) for c in cov.children}

    out: list[TargetProgress] = []
    for t in list_targets(session):
        item = TargetProgress(t.id, t.name_zh, t.name_en, t.unit, t.accumulate, t.target_value, None,
                              by_year=t.by_year, basis=cov.scope.review_basis())
        if t.id in ("varieties", "variety_demo_area", "radiated_area") and resolved.site is None:
            def value(acc: dict[str, float], target_id: str = t.id) -> float:
                if target_id == "varieties":
                    return acc["varieties"]
                if target_id == "variety_demo_area":
                    return (acc["walked"] + acc["extension"]) / M2_PER_MU
                return acc["radiated"] / M2_PER_MU

            item.value = value(total)
            if t.id == "variety_demo_area":
                item.parts = {"walked_mu": total["walked"] / M2_PER_MU, "reported_mu": total["extension"] / M2_PER_MU}
            item.contributors = _top([Contributor(c, *names[c], value(acc))
                                      for c, acc in per_child.items() if c in names])
            if t.id != "radiated_area":
                item.sites = _top([Contributor(s.code, s.name, s.kind or "site",
                                               s.variety_area_mu if t.id == "variety_demo_area" else 0.0)
                                   for s in cov.sites])
            if t.id == "radiated_area":
                item.basis = "县级上报，附依据"
        elif t.id in ("varieties", "variety_demo_area", "radiated_area"):
            row = cov.scope  # a site: this season's figures
            item.value = {"varieties": None, "variety_demo_area": row.variety_area_mu + row.extension_area_mu,
                          "radiated_area": row.radiated_area_mu}[t.id]
        else:
            item.value, item.parts = _season_value(t.id, cov.scope)
            item.contributors = _top([Contributor(c.code, c.name, c.level, _season_value(t.id, c)[0] or 0.0)
                                      for c in cov.children])
            item.sites = _top([Contributor(s.code, s.name, s.kind or "site", _season_value(t.id, s)[0] or 0.0)
                               for s in cov.sites])
        out.append(item)
    return out
