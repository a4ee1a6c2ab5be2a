"""Seasons, each county's plan for a season, and the extension and radiated area (推广/辐射面积) counties report.

A **season** is a harvest year and a season code of the ``season`` code list (夏粮 ``summer_grain``, 秋粮
``autumn_grain``, 早稻 ``early_rice``, 晚稻 ``late_rice`` …), written ``"2026-autumn_grain"`` as plots carry it.
The year is the *harvest* year: winter wheat sown in autumn 2025 and harvested in June 2026 is ``2026-summer_grain``
(the code's ``extra`` says its field work starts in the year before; ``catalog.photos.season_window``).

A county's **plan** (:class:`SeasonPlan`, one per county and season) says how many demo plots and how much area it
expects and the deadline for their yield measurements; its officers (county, or the city, province or ministry
above it: ``catalog.access``) enter it. Completeness (``catalog.coverage``) compares the plan with the plots that
have an approved yield measurement, on time (measured by the deadline) or late.

An **extension report** (:class:`ExtensionReport`) is the area a county officer reports for a season beyond the
walked demo plots, with its evidence (a text, and optionally the SHA-256 of an uploaded file): ``variety_extension``
(品种推广面积, counted toward the 5亿亩 variety demo target beside the walked area) or ``land_radiated`` (耕地质量
提升辐射面积, toward the 4亿亩 radiated target). Walked area and reported area are always shown separately.

Domain functions take the session, flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, Select, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.access import OFFICER_ROLES, Actor
from catalog.audit import flush_as
from catalog.codelists import current_codes
from catalog.db import Base, UTCDateTime, timestamp, utcnow, uuid_pk
from catalog.divisions import Division
from catalog.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from catalog.photos import season_window
from gis.area import M2_PER_MU

EXTENSION_KINDS = ("variety_extension", "land_radiated")
EXTENSION_KIND_NAMES = {"variety_extension": ("品种推广面积", "Variety extension area"),
                        "land_radiated": ("耕地质量提升辐射面积", "Land improvement radiated area")}
MAX_PLAN_PLOTS = 100_000
MAX_PLAN_MU = 10_000_000.0      # 1000万亩: more than any county plans on demo plots; a typo guard
MAX_REPORT_MU = 50_000_000.0    # 5000万亩: more than any county's cropland; a typo guard
_SEASON_RE = re.compile(r"^(\d{4})-([a-z_]+)$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, order=True)
class Season:
    """A harvest year and a season code; ``key`` is the stored form ``"2026-autumn_grain"``."""

    year: int
    code: str

    @property
    def key(self) -> str:
        return f"{self.year}-{self.code}"

    def __str__(self) -> str:
        return self.key


class SeasonPlan(Base):
    """A county's plan for one season: plots and area expected, the deadline for yield measurements."""

    __tablename__ = "season_plan"
    __table_args__ = (UniqueConstraint("county_code", "season", name="uq_season_plan_county_season"),
                      Index("ix_season_plan_season_county", "season", "county_code"))

    id: Mapped[uuid_pk]
    county_code: Mapped[str] = mapped_column(ForeignKey("division.code"))
    season: Mapped[str] = mapped_column(String(32))
    plots_expected: Mapped[int] = mapped_column(Integer)
    area_expected_m2: Mapped[float | None] = mapped_column(Float)  # shown in 亩
    deadline: Mapped[dt.date] = mapped_column(Date)  # measurements by this day (Beijing) are on time
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ExtensionReport(Base):
    """Extension or radiated area a county reports for a season, with evidence; not walked plot area."""

    __tablename__ = "extension_report"
    __table_args__ = (Index("ix_extension_report_season_county", "season", "county_code"),)

    id: Mapped[uuid_pk]
    county_code: Mapped[str] = mapped_column(ForeignKey("division.code"))
    season: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # EXTENSION_KINDS
    area_m2: Mapped[float] = mapped_column(Float)
    crop: Mapped[str | None] = mapped_column(String(32))
    land_scenario: Mapped[str | None] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text)  # what the figure rests on: survey, statistics report, …
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))  # an uploaded file (catalog.files)
    reported_on: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[timestamp]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def area_mu(self) -> float:
        return self.area_m2 / M2_PER_MU


# --------------------------------------------------------------------------------------------------- seasons


def _err(field: str, code: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(field, code, zh, en, value=value)


def parse_season(text: str, codes: Mapping[str, Any] | None = None, field: str = "season") -> Season:
    """``"2026-autumn_grain"`` → ``Season(2026, "autumn_grain")``; raises :class:`ValidationFailed` (field
    ``season``) when it does not read or (given ``codes``, the season code list) names an unknown code."""
    m = _SEASON_RE.match(str(text or "").strip())
    if not m:
        raise ValidationFailed([_err(field, "invalid_season", "季别应写作“年份-季别代码”，如 2026-autumn_grain",
                                     "A season reads YEAR-CODE, e.g. 2026-autumn_grain", text)])
    year, code = int(m.group(1)), m.group(2)
    if not 2000 <= year <= 2100:
        raise ValidationFailed([_err(field, "invalid_season", "季别年份应在 2000–2100 之间",
                                     "The season's year must be 2000-2100", text)])
    if codes is not None and code not in codes:
        raise ValidationFailed([_err(field, "unknown_season", f"未知的季别代码“{code}”",
                                     f"Unknown season code '{code}'", text)])
    return Season(year, code)


def check_season(session: Session, text: str, field: str = "season") -> Season:
    """:func:`parse_season` against the current ``season`` code list."""
    return parse_season(text, current_codes(session, "season"), field)


def season_name(session: Session, season: str, lang: str = "zh") -> str:
    """``"2026-autumn_grain"`` → ``"2026年秋粮"`` (``"2026 Autumn grain"`` in English); the text itself when it
    does not read."""
    try:
        s = parse_season(season)
    except ValidationFailed:
        return season
    code = current_codes(session, "season").get(s.code)
    if code is None:
        return season
    return f"{s.year}年{code.name_zh}" if lang == "zh" else f"{s.year} {code.name_en}"


def season_dates(session: Session, season: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day of the season's field work (from the code list), None when unknown."""
    try:
        s = parse_season(season)
    except ValidationFailed:
        return None
    code = current_codes(session, "season").get(s.code)
    return season_window(s.key, (code.extra or {}) if code else {})


def seasons_in_use(session: Session) -> list[str]:
    """Every season that plots or plans name: the newest harvest year first, and within a year in the code
    list's order (夏粮, 秋粮, 早稻 …), as officers list them."""
    from catalog.field import DemoPlot

    found = set(session.scalars(select(DemoPlot.season).distinct())) | \
        set(session.scalars(select(SeasonPlan.season).distinct()))
    position = {code: i for i, code in enumerate(current_codes(session, "season"))}
    return sorted(found, key=lambda k: (-int(k[:4]) if k[:4].isdigit() else 0, position.get(k[5:], len(position)), k))


def default_season(session: Session, today: dt.date, prefix: str = "") -> str:
    """The season a dashboard opens on: of the newest harvest year whose field work has begun by ``today``, the
    season with the most plots under ``prefix`` (a division's leading digits; "" the country) — a province in the
    south opens on its rice, one in the north on its wheat or maize. Without plots: this year's 秋粮."""
    from catalog.field import DemoPlot

    where = [DemoPlot.deleted.is_(False)]
    if prefix:
        where.append(DemoPlot.county_code.startswith(prefix))
    counts: dict[str, int] = {season: n for season, n in session.execute(
        select(DemoPlot.season, func.count()).where(*where).group_by(DemoPlot.season))}
    begun = [k for k in counts if (window := season_dates(session, k)) is not None and window[0] <= today]
    if not begun:
        return f"{today.year}-autumn_grain"
    year = max(k[:4] for k in begun)
    return max((k for k in begun if k[:4] == year), key=lambda k: (counts[k], k))


# --------------------------------------------------------------------------------------------------- access


def can_write_county(actor: Actor, county_code: str) -> bool:
    """County officers of the county and the officers above it (city, province, ministry) enter its plans and
    reports; the command line may do anything."""
    return actor.system or actor.covers_division(county_code, OFFICER_ROLES)


def can_read_county(actor: Actor, county_code: str) -> bool:
    """Officers covering the county (and agents of the county) read its plans and reports."""
    return actor.system or actor.covers_division(county_code, (*OFFICER_ROLES, "agent"))


def _county(session: Session, errors: list[FieldError], code: Any) -> str | None:
    text = str(code or "").strip()
    division = session.get(Division, text) if text else None
    if division is None or not division.county_equivalent or division.valid_to is not None:
        errors.append(_err("county_code", "unknown_county", "县级区划代码不存在或已撤销",
                           "No current county-level division with this code", code))
        return None
    return text


def _number(errors: list[FieldError], field: str, value: Any, high: float, *, integer: bool = False,
            required: bool = True) -> float | None:
    if value in (None, ""):
        if required:
            errors.append(_err(field, "required", "必填", "Required"))
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.append(_err(field, "not_a_number", "应为数字", "Must be a number", value))
        return None
    if integer and number != int(number):
        errors.append(_err(field, "not_an_integer", "应为整数", "Must be a whole number", value))
        return None
    if not 0 <= number <= high:
        errors.append(_err(field, "out_of_range", f"应在 0 到 {high:,.0f} 之间", f"Must be 0 to {high:,.0f}",
                           value))
        return None
    return number


def _date(errors: list[FieldError], field: str, value: Any, required: bool) -> dt.date | None:
    if value in (None, ""):
        if required:
            errors.append(_err(field, "required", "必填", "Required"))
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.append(_err(field, "invalid_date", "日期格式应为 YYYY-MM-DD", "A date must be YYYY-MM-DD", value))
        return None


def _season(session: Session, errors: list[FieldError], value: Any) -> Season | None:
    try:
        return check_season(session, value)
    except ValidationFailed as e:
        errors.extend(e.errors)
        return None


# --------------------------------------------------------------------------------------------------- plans


def clean_plan(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's fields checked (county, season, ``plots_expected``, ``area_expected_mu``, ``deadline`` within a
    year after the season's field work ends, ``notes``); raises :class:`ValidationFailed` listing every bad field."""
    errors: list[FieldError] = []
    county = _county(session, errors, data.get("county_code"))
    season = _season(session, errors, data.get("season"))
    plots = _number(errors, "plots_expected", data.get("plots_expected"), MAX_PLAN_PLOTS, integer=True)
    area = _number(errors, "area_expected_mu", data.get("area_expected_mu"), MAX_PLAN_MU, required=False)
    deadline = _date(errors, "deadline", data.get("deadline"), required=True)
    if season is not None and deadline is not None:
        window = season_dates(session, season.key)
        if window is not None and not window[0] <= deadline <= window[1] + dt.timedelta(days=366):
            errors.append(_err("deadline", "outside_season",
                               f"截止日期应在本季开始（{window[0]}）之后、结束后一年之内",
                               f"The deadline must fall after the season starts ({window[0]}) and within a year "
                               "of its end", deadline.isoformat()))
    if errors:
        raise ValidationFailed(errors)
    return {"county_code": county, "season": season.key if season else None, "plots_expected": int(plots or 0),
            "area_expected_m2": None if area is None else area * M2_PER_MU, "deadline": deadline,
            "notes": (str(data.get("notes") or "").strip() or None)}


def save_plan(session: Session, actor: Actor, data: Mapping[str, Any], *, expected_version: int | None = None
              ) -> SeasonPlan:
    """Create or replace the plan of ``data["county_code"]`` for ``data["season"]`` (one per county and season).

    404 when the actor may not read the county, 403 when they read but may not write it, 409 when
    ``expected_version`` is given and the stored plan has another, 422 per bad field."""
    clean = clean_plan(session, data)
    ensure_county_writable(actor, clean["county_code"])
    plan = session.scalar(select(SeasonPlan).where(SeasonPlan.county_code == clean["county_code"],
                                                   SeasonPlan.season == clean["season"]))
    if plan is None:
        plan = SeasonPlan(**clean, created_by=actor.name, updated_by=actor.name)
        session.add(plan)
    else:
        _check_version(plan.version, expected_version)
        for k, v in clean.items():
            setattr(plan, k, v)
        plan.version += 1
        plan.updated_by, plan.updated_at = actor.name, utcnow()
    flush_as(session, actor)
    return plan


def get_plan(session: Session, actor: Actor, plan_id: str) -> SeasonPlan:
    """One plan; 404 when it does not exist or lies outside the actor's scope."""
    plan = session.get(SeasonPlan, plan_id)
    if plan is None or not can_read_county(actor, plan.county_code):
        raise NotFound(en=f"No plan {plan_id}", zh="计划不存在", id=plan_id)
    return plan


def delete_plan(session: Session, actor: Actor, plan_id: str) -> None:
    plan = get_plan(session, actor, plan_id)
    ensure_county_writable(actor, plan.county_code)
    session.delete(plan)
    flush_as(session, actor)


def plan_query(actor: Actor, season: str | None = None, scope: str | None = None) -> Select[Any]:
    """Plans the actor reads, of one season and under one division code (its prefix), by county."""
    q = select(SeasonPlan).order_by(SeasonPlan.season.desc(), SeasonPlan.county_code)
    if season:
        q = q.where(SeasonPlan.season == season)
    if scope and scope != "000000":
        q = q.where(SeasonPlan.county_code.startswith(_prefix(scope)))
    return q.where(*_scope_clauses(actor, SeasonPlan.county_code))


# --------------------------------------------------------------------------------------------------- reports


def clean_extension_report(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """An extension report's fields checked: county, season, ``kind``, ``area_mu`` (> 0), ``evidence`` (required
    text), optional ``attachment_sha256``, ``crop``, ``land_scenario``, ``reported_on``."""
    errors: list[FieldError] = []
    county = _county(session, errors, data.get("county_code"))
    season = _season(session, errors, data.get("season"))
    kind = data.get("kind")
    if kind not in EXTENSION_KINDS:
        errors.append(_err("kind", "invalid_choice", "类型应为品种推广面积或耕地质量提升辐射面积",
                           f"kind must be one of {', '.join(EXTENSION_KINDS)}", kind))
    area = _number(errors, "area_mu", data.get("area_mu"), MAX_REPORT_MU)
    if area is not None and area <= 0:
        errors.append(_err("area_mu", "out_of_range", "面积应大于 0", "The area must be above 0", area))
    evidence = str(data.get("evidence") or "").strip()
    if not evidence:
        errors.append(_err("evidence", "required", "请写明面积的依据（调查、统计报表等）",
                           "Say what the area rests on (survey, statistics report, …)"))
    sha = str(data.get("attachment_sha256") or "").strip().lower() or None
    if sha is not None and not _SHA256_RE.match(sha):
        errors.append(_err("attachment_sha256", "invalid_hash", "附件应以 64 位十六进制 SHA-256 指明",
                           "An attachment is named by its 64-hex-digit SHA-256", sha))
    crop = data.get("crop") or None
    if crop is not None and crop not in current_codes(session, "crop"):
        errors.append(_err("crop", "unknown_code", f"未知的作物代码“{crop}”", f"Unknown crop code '{crop}'", crop))
    scenario = data.get("land_scenario") or None
    if scenario is not None and scenario not in current_codes(session, "land_scenario"):
        errors.append(_err("land_scenario", "unknown_code", f"未知的耕地类型代码“{scenario}”",
                           f"Unknown land scenario code '{scenario}'", scenario))
    reported_on = _date(errors, "reported_on", data.get("reported_on"), required=False)
    if errors:
        raise ValidationFailed(errors)
    return {"county_code": county, "season": season.key if season else None, "kind": kind,
            "area_m2": float(area or 0) * M2_PER_MU, "evidence": evidence, "attachment_sha256": sha,
            "crop": crop, "land_scenario": scenario, "reported_on": reported_on}


def create_extension_report(session: Session, actor: Actor, data: Mapping[str, Any],
                            report_id: str | None = None) -> ExtensionReport:
    """Record a county's extension or radiated area for a season (404 / 403 / 422 as :func:`save_plan`)."""
    clean = clean_extension_report(session, data)
    ensure_county_writable(actor, clean["county_code"])
    report = ExtensionReport(**clean, created_by=actor.name, updated_by=actor.name)
    if report_id:
        report.id = report_id
    session.add(report)
    flush_as(session, actor)
    return report


def update_extension_report(session: Session, actor: Actor, report_id: str, data: Mapping[str, Any],
                            expected_version: int | None = None) -> ExtensionReport:
    """Replace a report's fields (the county cannot change to one outside the actor's scope)."""
    report = get_extension_report(session, actor, report_id)
    ensure_county_writable(actor, report.county_code)
    clean = clean_extension_report(session, {**_report_fields(report), **data})
    ensure_county_writable(actor, clean["county_code"])
    _check_version(report.version, expected_version)
    for k, v in clean.items():
        setattr(report, k, v)
    report.version += 1
    report.updated_by, report.updated_at = actor.name, utcnow()
    flush_as(session, actor)
    return report


def get_extension_report(session: Session, actor: Actor, report_id: str) -> ExtensionReport:
    report = session.get(ExtensionReport, report_id)
    if report is None or not can_read_county(actor, report.county_code):
        raise NotFound(en=f"No extension report {report_id}", zh="推广/辐射面积报告不存在", id=report_id)
    return report


def delete_extension_report(session: Session, actor: Actor, report_id: str) -> None:
    report = get_extension_report(session, actor, report_id)
    ensure_county_writable(actor, report.county_code)
    session.delete(report)
    flush_as(session, actor)


def extension_report_query(actor: Actor, season: str | None = None, scope: str | None = None,
                           kind: str | None = None) -> Select[Any]:
    """Reports the actor reads, of one season, under one division code, of one kind."""
    q = select(ExtensionReport).order_by(ExtensionReport.season.desc(), ExtensionReport.county_code,
                                         ExtensionReport.created_at)
    if season:
        q = q.where(ExtensionReport.season == season)
    if kind:
        q = q.where(ExtensionReport.kind == kind)
    if scope and scope != "000000":
        q = q.where(ExtensionReport.county_code.startswith(_prefix(scope)))
    return q.where(*_scope_clauses(actor, ExtensionReport.county_code))


# --------------------------------------------------------------------------------------------------- helpers


def ensure_county_writable(actor: Actor, county_code: str) -> None:
    if not can_read_county(actor, county_code):
        raise NotFound(en=f"No county {county_code} in your scope", zh="您的辖区内没有该县", county_code=county_code)
    if not can_write_county(actor, county_code):
        raise Forbidden(en="Only the county's officers and those above enter its plans and reports",
                        zh="只有本县及上级农业农村部门的管理员可以填写计划和面积报告")


def _check_version(stored: int, expected: int | None) -> None:
    if expected is not None and expected != stored:
        raise Conflict(en=f"The record changed meanwhile (version {stored}, you had {expected})",
                       zh=f"记录已被他人修改（当前版本 {stored}，您的版本 {expected}）", version=stored)


def _report_fields(report: ExtensionReport) -> dict[str, Any]:
    return {"county_code": report.county_code, "season": report.season, "kind": report.kind,
            "area_mu": report.area_mu, "evidence": report.evidence, "attachment_sha256": report.attachment_sha256,
            "crop": report.crop, "land_scenario": report.land_scenario, "reported_on": report.reported_on}


def _prefix(code: str) -> str:
    """The leading digits a division code fixes: 41 for 410000, 4101 for 410100, all six for a county."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _scope_clauses(actor: Actor, column: Any) -> list[Any]:
    from sqlalchemy import false, or_

    if actor.system or actor.has("ministry_officer"):
        return []
    prefixes = {"province_officer": 2, "city_officer": 4, "county_officer": 6, "agent": 6}
    clauses = [column.startswith(g.scope[:prefixes[g.role]]) for g in actor.grants
               if g.role in prefixes and g.scope]
    return [or_(*clauses)] if clauses else [false()]
