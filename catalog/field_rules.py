"""Field records from plain values: the checks and writes that the sync server's push, the field kit and the ledger
import all call, so a record is judged the same wherever it comes from (the server never trusts the kit).

``clean_<kind>(session, data, partial, ...) -> (clean, errors)`` checks plain values (as JSON or a spreadsheet row
gives them) and returns normalised values or every error (field, code, zh, en). ``apply_<kind>(session, actor,
data, record_id=...)`` creates the record under ``record_id`` (or edits it when it exists: only the given fields),
recomputes what the server owns — plot boundary in WGS-84, geodesic area, flags; yields, gain; photo flags —,
keeps ``version``/``field_versions``, flushes, never commits. Values the server owns are ignored when sent
(``SERVER_FIELDS``): the kit keeps the same model classes and may send them, but they are recomputed here.

Flags (accepted, for review): a plot beyond ``outside_tolerance_m`` outside its county (``outside_county``), one
overlapping another non-deleted plot of the same season (``overlaps``: ids and m²), a boundary that was repaired
(``repaired``); a photo away from its plot or outside its season (see ``catalog.photos``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

import gis
from catalog import field_access, photos, review, yields
from catalog.access import Actor
from catalog.audit import flush_as
from catalog.codelists import current_codes
from catalog.db import new_id, utcnow
from catalog.divisions import Division
from catalog.errors import Conflict, FieldError, NotFound, ValidationFailed
from catalog.field import (
    BASELINE_TYPES,
    DEMO_TYPES,
    LEVELS,
    METHODS,
    SOURCE_CRS,
    DemoPlot,
    Observation,
    Photo,
    SoilSample,
    Synced,
    YieldMeasurement,
)
from catalog.regions import county_of, outside_counties, outside_county
from catalog.results import Result
from catalog.sites import Site
from gis.area import M2_PER_MU
from gis.crs import convert_coords
from gis.overlaps import PlotRef, find_overlaps
from gis.validate import IssueCode, Severity, repair_boundary

R = TypeVar("R", bound=Synced)

# What the server computes or keeps: never taken from the sender.
SERVER_FIELDS = frozenset({"id", "version", "field_versions", "deleted", "created_at", "updated_at", "created_by",
                           "updated_by", "area_m2", "flags", "standard_moisture", "yield_kg_per_mu", "gain_pct"})
# The review of a yield measurement is decided on the server (catalog.review), never taken from the sender.
SERVER_FIELDS |= {"review_state", "reviewed_by", "reviewed_at", "review_comment"}
GRADE_SCALES = {"GB/T 33469-2016": (1, 10)}  # 耕地质量等级: 1 best (DOMAIN.md); the only scale field grades use
DEFAULT_GRADE_SCALE = "GB/T 33469-2016"
PHOTO_MIMES = ("image/jpeg", "image/png", "image/webp", "image/heic")
MAX_PHOTO_BYTES = 50 * 1024 * 1024
MAX_SAMPLES = 20
# Lab values a soil sample may carry and their physically possible range (units in the key).
LAB_RANGES: dict[str, tuple[float, float]] = {
    "organic_matter_g_kg": (0, 500), "ph": (0, 14), "total_n_g_kg": (0, 50), "available_p_mg_kg": (0, 2000),
    "available_k_mg_kg": (0, 5000), "salt_g_kg": (0, 200), "bulk_density_g_cm3": (0.1, 2.5), "cec_cmol_kg": (0, 200),
}
_PHONE = re.compile(r"^[0-9+\-() ]{5,32}$")
_SEASON = re.compile(r"^(\d{4})-([a-z_]+)$")
_DEPTH = re.compile(r"^\d{1,3}(-\d{1,3})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class FieldSettings:
    """Tunable limits (the server passes its configuration; defaults as DESIGN/DOMAIN state them)."""

    max_area_mu: float = 20_000.0
    outside_tolerance_m: float = 30.0
    photo_tolerance_m: float = photos.DEFAULT_TOLERANCE_M
    min_overlap_m2: float = 1.0


DEFAULT_SETTINGS = FieldSettings()


@dataclass
class Applied(Generic[R]):
    """What a write did: the record, whether it was created, the fields changed, and warnings (repairs, flags)."""

    record: R
    created: bool
    changed: list[str]
    warnings: list[FieldError] = field(default_factory=list)


def _err(field: str, code: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(field=field, code=code, zh=zh, en=en, value=value)


class _Checker:
    """Reads the fields of one record from ``data``, collecting errors; ``given`` honours ``partial``."""

    def __init__(self, data: Mapping[str, Any], partial: bool, allowed: set[str] | None) -> None:
        self.data = data
        self.partial = partial
        self.out: dict[str, Any] = {}
        self.errors: list[FieldError] = []
        if allowed is None:
            return
        for key in data:
            if key not in allowed and key not in SERVER_FIELDS and key not in ("county_code", "id"):
                self.fail(key, "unknown_field", "未知字段", "Unknown field")

    def fail(self, field: str, code: str, zh: str, en: str, value: Any = None) -> None:
        self.errors.append(_err(field, code, zh, en, value))

    def given(self, name: str) -> bool:
        return name in self.data or not self.partial

    def raw(self, name: str) -> Any:
        value = self.data.get(name)
        return value.strip() if isinstance(value, str) else value

    def text(self, name: str, limit: int, *, required: bool = False, label: str = "") -> None:
        if not self.given(name):
            return
        value = self.raw(name)
        value = None if value in (None, "") else str(value)
        if value is None and required:
            self.fail(name, "required", f"{label or name}必填", f"{name} is required")
        elif value is not None and len(value) > limit:
            self.fail(name, "too_long", f"超过{limit}个字符", f"Longer than {limit} characters", len(value))
        else:
            self.out[name] = value

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> None:
        if not self.given(name):
            return
        value = self.raw(name)
        if value in (None, "") and default is not None:
            self.out[name] = default
        elif value not in options:
            self.fail(name, "invalid_choice", f"取值应为：{'、'.join(options)}", f"One of: {', '.join(options)}", value)
        else:
            self.out[name] = value

    def code(self, session: Session, name: str, list_id: str, *, required: bool = False) -> None:
        if not self.given(name):
            return
        value = self.raw(name)
        if value in (None, ""):
            if required:
                self.fail(name, "required", "必填", f"{name} is required")
            else:
                self.out[name] = None
        elif str(value) not in current_codes(session, list_id):
            self.fail(name, "unknown_code", f"代码不在“{list_id}”代码表中", f"Not in code list '{list_id}'", value)
        else:
            self.out[name] = str(value)

    def date(self, name: str) -> None:
        if not self.given(name):
            return
        value = self.raw(name)
        if value in (None, ""):
            self.out[name] = None
            return
        day = _as_date(value)
        if day is None:
            self.fail(name, "invalid_date", "日期格式应为 YYYY-MM-DD", "A date is written YYYY-MM-DD", value)
        elif day.year < 2000 or day > dt.date.today() + dt.timedelta(days=1):
            self.fail(name, "out_of_range", "日期不合理（早于2000年或晚于今天）",
                      "The date is before 2000 or in the future", day.isoformat())
        else:
            self.out[name] = day


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    """A finite float from a number or numeric text; None otherwise (booleans are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip().rstrip("%")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------------------- plots

PLOT_FIELDS = {"name", "county_code", "site_id", "boundary", "source_crs", "crop", "variety", "result_id",
               "land_scenario", "demo_type", "season", "farmer_name", "farmer_phone", "farmer_id_no", "cooperative",
               "control_plot_id", "notes"}


def id_number_ok(value: str) -> bool:
    """A mainland resident ID number (GB 11643): 17 digits and an ISO 7064 MOD 11-2 check character."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


def parse_boundary(value: Any) -> BaseGeometry | list[tuple[float, float]]:
    """A boundary as sent: a GeoJSON geometry or Feature (dict or text), WKT, or a list of [lon, lat] vertices.

    Raises ValueError when it is none of these."""
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("{"):
            value = json.loads(value)
        else:
            return shapely.from_wkt(value)
    if isinstance(value, Mapping):
        geometry = value.get("geometry") if value.get("type") == "Feature" else value
        if not isinstance(geometry, Mapping):
            raise ValueError("a Feature without a geometry")
        return shape(geometry)
    if isinstance(value, list | tuple):
        return [(float(p[0]), float(p[1])) for p in value]
    raise ValueError("not a geometry")


@dataclass(frozen=True)
class Boundary:
    geometry: MultiPolygon
    area_m2: float
    repairs: list[str]


def check_boundary(value: Any, source_crs: str, *, max_area_mu: float = DEFAULT_SETTINGS.max_area_mu
                   ) -> tuple[Boundary | None, list[FieldError]]:
    """Convert a captured boundary from ``source_crs`` to WGS-84, apply safe repairs and validate it.

    Refusals carry the codes of ``gis.validate.IssueCode`` (too few points, self-crossing, spikes, swapped
    lat/lon, outside China, too large, ...); repairs (duplicate vertices, ring closed, orientation, a small GPS
    loop split) are returned. The area is geodesic m² on the WGS-84 ellipsoid."""
    try:
        parsed = parse_boundary(value)
    except (ValueError, TypeError, IndexError, KeyError, shapely.errors.ShapelyError) as exc:
        return None, [_err("boundary", "invalid_boundary", "无法识别边界（应为 GeoJSON、WKT 或经纬度点列）",
                           f"Cannot read the boundary (GeoJSON, WKT or [lon, lat] points): {exc}")]
    if isinstance(parsed, BaseGeometry):
        if not isinstance(parsed, Polygon | MultiPolygon):
            return None, [_err("boundary", "invalid_boundary", "边界应为面（多边形）",
                               f"The boundary must be a polygon, not a {parsed.geom_type}")]
        wgs: BaseGeometry | list[tuple[float, float]] = gis.convert(parsed, source_crs, "wgs84")
    else:
        arr = np.asarray(parsed, dtype=float).reshape(-1, 2)
        lon, lat = convert_coords(arr[:, 0], arr[:, 1], source_crs, "wgs84") if len(arr) else (arr[:, 0], arr[:, 1])
        wgs = [(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]
    result = repair_boundary(wgs, max_area_mu=max_area_mu)
    refused = [i for i in result.issues if i.severity == Severity.ERROR or i.code == IssueCode.SPIKE]
    if refused or result.geometry is None:
        issues = refused or result.issues
        return None, [_err("boundary", str(i.code), i.message_zh, i.message_en, i.details or None) for i in issues]
    geom = result.geometry
    multi = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
    assert result.area_m2 is not None  # measured as it was checked, with the repaired geometry
    return Boundary(multi, result.area_m2, [str(c) for c in result.changes]), []


def _season_code(season: str) -> str:
    return season.partition("-")[2]


def clean_plot(session: Session, data: Mapping[str, Any], partial: bool = False, *, current: DemoPlot | None = None,
               settings: FieldSettings = DEFAULT_SETTINGS) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalise a plot's fields. ``boundary`` comes back in WGS-84 with ``area_m2`` and ``boundary_repairs``;
    a new plot without a county takes the county holding its boundary. ``current``: the record being edited."""
    c = _Checker(data, partial, PLOT_FIELDS)
    c.text("name", 128, required=True, label="地块名称")
    c.code(session, "crop", "crop", required=True)
    c.text("variety", 128)
    c.code(session, "land_scenario", "land_scenario")
    c.choice("demo_type", DEMO_TYPES, default="variety")
    c.choice("source_crs", SOURCE_CRS, default="wgs84")
    for name, limit in (("farmer_name", 64), ("cooperative", 128), ("notes", 4000)):
        c.text(name, limit)
    c.text("farmer_phone", 32)
    if c.out.get("farmer_phone") and not _PHONE.match(c.out["farmer_phone"]):
        c.fail("farmer_phone", "invalid", "电话号码格式不正确", "Not a phone number", c.out["farmer_phone"])
    c.text("farmer_id_no", 32)
    if c.out.get("farmer_id_no"):
        c.out["farmer_id_no"] = c.out["farmer_id_no"].upper()
        if not id_number_ok(c.out["farmer_id_no"]):
            c.fail("farmer_id_no", "invalid", "身份证号码格式或校验位不正确", "Not a valid resident ID number")
    if c.given("season"):
        season = str(c.raw("season") or "")
        m = _SEASON.match(season)
        if not m:
            c.fail("season", "invalid", "季别应写作 年份-季别代码，如 2026-autumn_grain",
                   "Write the season as year-code, e.g. 2026-autumn_grain", season or None)
        elif not 2000 <= int(m.group(1)) <= 2100 or m.group(2) not in current_codes(session, "season"):
            c.fail("season", "unknown_code", "年份或季别代码不正确", "Unknown year or season code", season)
        else:
            c.out["season"] = season
    if c.given("demo_type") and not partial and c.out.get("demo_type") == "land_quality" \
            and not c.out.get("land_scenario"):
        c.fail("land_scenario", "required", "耕地质量提升示范须填写耕地场景",
               "A land-quality demo needs its land scenario")
    _check_refs(session, c, current)
    if c.given("boundary") and c.raw("boundary") not in (None, ""):
        crs = c.out.get("source_crs") or (current.source_crs if current is not None else "wgs84")
        boundary, errors = check_boundary(c.raw("boundary"), crs, max_area_mu=settings.max_area_mu)
        c.errors.extend(errors)
        if boundary is not None:
            c.out |= {"boundary": boundary.geometry, "area_m2": boundary.area_m2,
                      "boundary_repairs": boundary.repairs}
    elif c.given("boundary"):
        c.out |= {"boundary": None, "area_m2": None, "boundary_repairs": []}
    if "county_code" in data or not partial:
        _check_county(session, c)
    return c.out, c.errors


def _check_county(session: Session, c: _Checker) -> None:
    code = str(c.raw("county_code") or "") or None
    if code is None and c.out.get("boundary") is not None:
        code = county_of(session, c.out["boundary"])
    if code is None:
        c.fail("county_code", "required", "须填写所在县（或给出边界）", "The county is required (or a boundary in it)")
        return
    with session.no_autoflush:  # reference data: the records waiting to be flushed do not change it
        division = session.get(Division, code)
    if division is None or division.valid_to is not None or not division.county_equivalent:
        c.fail("county_code", "unknown_division", "不是现行的县级区划代码", "Not a current county-level division code",
               code)
        return
    c.out["county_code"] = code


def _check_refs(session: Session, c: _Checker, current: DemoPlot | None) -> None:
    for name, model, label in (("site_id", Site, "园区/县"), ("result_id", Result, "成果")):
        if not c.given(name):
            continue
        value = c.raw(name)
        if value in (None, ""):
            c.out[name] = None
        elif session.get(model, str(value)) is None:
            c.fail(name, "not_found", f"找不到该{label}", f"No such {name.removesuffix('_id')}", value)
        else:
            c.out[name] = str(value)
    if c.given("control_plot_id"):
        value = c.raw("control_plot_id")
        if value in (None, ""):
            c.out["control_plot_id"] = None
            return
        target = session.get(DemoPlot, str(value))
        if target is None or target.deleted:
            c.fail("control_plot_id", "not_found", "找不到对照田", "No such control plot", value)
        elif current is not None and target.id == current.id or c.raw("id") == target.id:
            c.fail("control_plot_id", "invalid", "对照田不能是地块本身", "A plot cannot be its own control", value)
        else:
            c.out["control_plot_id"] = target.id


# For each plot of a list: the stored plots of its season it overlaps (the GiST index on ``demo_plot.boundary``),
# and the plots before it in the list (a sync batch's new plots, not written yet: see ``_flag_waiting_plots``).
# PostGIS computes an area from the same WKB as it would from the stored row.
_OVERLAPS_SQL = text("""
WITH n AS MATERIALIZED (
  SELECT t.i, t.id, t.season, t.deleted, ST_GeomFromWKB(t.wkb, 4326) AS g
  FROM unnest(CAST(:i AS int[]), CAST(:ids AS text[]), CAST(:seasons AS text[]), CAST(:deleted AS boolean[]),
              CAST(:wkbs AS bytea[])) AS t(i, id, season, deleted, wkb)
)
SELECT n.i, p.id, ST_Area(ST_Intersection(p.boundary, n.g)::geography) AS area
FROM n JOIN demo_plot p ON p.season = n.season AND NOT p.deleted AND p.id <> n.id AND ST_Intersects(p.boundary, n.g)
UNION ALL
SELECT n.i, e.id, ST_Area(ST_Intersection(e.g, n.g)::geography)
FROM n JOIN n AS e ON e.i < n.i AND e.season = n.season AND NOT e.deleted AND e.id <> n.id AND ST_Intersects(e.g, n.g)
""")


def plot_overlaps(session: Session, plot_id: str, boundary: BaseGeometry, season: str,
                  min_area_m2: float = DEFAULT_SETTINGS.min_overlap_m2) -> list[dict[str, Any]]:
    """Other non-deleted plots of ``season`` overlapping ``boundary`` by at least ``min_area_m2`` geodesic m²,
    largest first: ``[{"plot_id", "area_m2"}]``. PostGIS: the GiST index on ``demo_plot.boundary``; SQLite:
    ``gis.overlaps`` over the season's plots."""
    if session.get_bind().dialect.name == "postgresql":
        return _overlaps_many(session, [(plot_id, boundary, season, False)], min_area_m2, flush=True)[0]
    others = session.execute(select(DemoPlot.id, DemoPlot.boundary).where(
        DemoPlot.season == season, DemoPlot.deleted.is_(False), DemoPlot.id != plot_id,
        DemoPlot.boundary.is_not(None)))
    refs = [PlotRef(plot_id, boundary, season)] + [PlotRef(pid, geom, season) for pid, geom in others]
    found = [(o.b if o.a == plot_id else o.a, o.area_m2)
             for o in find_overlaps(refs, min_area_m2=min_area_m2) if plot_id in (o.a, o.b)]
    return _largest_first(found)


def _overlaps_many(session: Session, plots: list[tuple[str, BaseGeometry, str, bool]], min_area_m2: float, *,
                   flush: bool) -> list[list[dict[str, Any]]]:
    """PostGIS: :func:`plot_overlaps` of each (id, boundary, season, deleted) of ``plots``, each also against the
    plots before it in the list, in one query. ``flush``: the records waiting in the session are written first
    (autoflush); else the query runs beside the ORM (inside a flush)."""
    params = {"i": list(range(len(plots))), "ids": [p[0] for p in plots], "seasons": [p[2] for p in plots],
              "deleted": [bool(p[3]) for p in plots], "wkbs": [shapely.to_wkb(p[1]) for p in plots]}
    rows = session.execute(_OVERLAPS_SQL, params) if flush else session.connection().execute(_OVERLAPS_SQL, params)
    found: list[list[tuple[str, float]]] = [[] for _ in plots]
    for i, pid, area in rows:
        if area is not None and area >= min_area_m2:
            found[i].append((str(pid), float(area)))
    return [_largest_first(f) for f in found]


def _largest_first(found: list[tuple[str, float]]) -> list[dict[str, Any]]:
    found.sort(key=lambda x: (-x[1], x[0]))
    return [{"plot_id": pid, "area_m2": round(area, 2)} for pid, area in found]


def plot_flags(session: Session, plot_id: str, boundary: BaseGeometry | None, county_code: str, season: str,
               flags: Mapping[str, Any], settings: FieldSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """The plot's review flags recomputed from its boundary, county and season (other flags kept)."""
    if boundary is None:
        return _with_flags(flags, False, [], county_code, settings)
    outside = outside_county(session, boundary, county_code, settings.outside_tolerance_m)
    overlaps = plot_overlaps(session, plot_id, boundary, season, settings.min_overlap_m2)
    return _with_flags(flags, outside, overlaps, county_code, settings)


def _with_flags(flags: Mapping[str, Any], outside: bool, overlaps: list[dict[str, Any]], county_code: str,
                settings: FieldSettings) -> dict[str, Any]:
    out = {k: v for k, v in flags.items() if k not in ("outside_county", "overlaps")}
    if outside:
        out["outside_county"] = {"county_code": county_code, "tolerance_m": settings.outside_tolerance_m}
    if overlaps:
        out["overlaps"] = overlaps
    return out


@dataclass(frozen=True)
class _FlagsWaiting:
    """What a new plot's flags are computed from when it is written (``DEFER_NEW`` on PostgreSQL)."""

    boundary: BaseGeometry
    county_code: str
    season: str
    flags: Mapping[str, Any]
    settings: FieldSettings


@event.listens_for(Session, "before_flush")
def _flag_waiting_plots(session: Session, _ctx: Any, _instances: Any) -> None:
    """Flag the new plots about to be written whose flags wait (``DEFER_NEW``): two queries for all of them, not
    two a plot; each plot is checked against the stored plots and against those waiting before it, as it would
    have been one at a time."""
    waiting = session.info.get(DEFER_NEW)
    todo = [(n, o, spec) for n, (o, spec) in enumerate(waiting or ()) if spec is not None and inspect(o).pending]
    if not todo:
        return
    groups: dict[FieldSettings, list[tuple[int, DemoPlot, _FlagsWaiting]]] = {}
    for item in todo:
        groups.setdefault(item[2].settings, []).append(item)
    for settings, items in groups.items():
        outside = outside_counties(session, [(spec.boundary, spec.county_code) for _n, _o, spec in items],
                                   settings.outside_tolerance_m)
        overlaps = _overlaps_many(session, [(o.id, spec.boundary, spec.season, bool(o.deleted))
                                            for _n, o, spec in items], settings.min_overlap_m2, flush=False)
        for (n, o, spec), out, over in zip(items, outside, overlaps, strict=True):
            o.flags = _with_flags(spec.flags, out, over, spec.county_code, settings)
            waiting[n] = (o, None)


def apply_plot(session: Session, actor: Actor, data: Mapping[str, Any], *, record_id: str | None = None,
               settings: FieldSettings = DEFAULT_SETTINGS, new: bool = False) -> Applied[DemoPlot]:
    """Create the plot ``record_id`` (a new id when None) or edit it with the given fields; raises
    ValidationFailed, NotFound (unreadable), Forbidden (readable, not writable) or Conflict (deleted).
    ``new``: the caller has just looked and no record ``record_id`` exists (the lookup is skipped)."""
    current = _existing(session, actor, DemoPlot, "plot", record_id, new)
    clean, errors = clean_plot(session, {**data, "id": record_id} if record_id else data, current is not None,
                               current=current, settings=settings)
    if errors:
        raise ValidationFailed(errors)
    repairs = clean.pop("boundary_repairs", None)
    county = clean.get("county_code") or (current.county_code if current else None)
    if current is None or county != current.county_code:
        field_access.ensure_can_create(actor, county, "plot")
    record = current or DemoPlot(id=record_id or new_id())
    boundary = clean["boundary"] if "boundary" in clean else record.boundary
    season = clean.get("season") or record.season
    flags = dict(record.flags or {})
    if repairs is not None:
        flags.pop("repaired", None)
        if repairs:
            flags["repaired"] = repairs
    waiting: _FlagsWaiting | None = None
    if current is None and boundary is not None and session.info.get(DEFER_NEW) is not None \
            and session.get_bind().dialect.name == "postgresql":
        # flagged when written, with the batch's other new plots (its warnings then do not say so)
        waiting = _FlagsWaiting(boundary, str(county), str(season), flags, settings)
    elif current is None or {"boundary", "county_code", "season"} & clean.keys():
        flags = plot_flags(session, record.id, boundary, str(county), str(season), flags, settings)
    clean["flags"] = flags
    applied = _write(session, actor, record, clean, current is None, waiting)
    applied.warnings.extend(_flag_warnings(flags, repairs or []))
    return applied


def _flag_warnings(flags: Mapping[str, Any], repairs: list[str]) -> list[FieldError]:
    out = [_err("boundary", "repaired", f"边界已自动修复：{'、'.join(repairs)}",
                f"Boundary repaired: {', '.join(repairs)}", repairs)] if repairs else []
    if "outside_county" in flags:
        out.append(_err("boundary", "outside_county", "地块超出所在县边界，已标记待审核",
                        "The plot lies outside its county; flagged for review", flags["outside_county"]))
    if "overlaps" in flags:
        out.append(_err("boundary", "overlaps", "地块与同季其他地块重叠，已标记待审核",
                        "The plot overlaps other plots of the season; flagged for review", flags["overlaps"]))
    return out


# -------------------------------------------------------------------------------------------- shared writes


def _existing(session: Session, actor: Actor, model: type[R], kind: str, record_id: str | None,
              new: bool = False) -> R | None:
    if record_id is None or new:
        return None  # a record the caller knows is absent (inserting it anyway fails on its primary key)
    record = session.get(model, record_id)
    if record is None:
        return None
    county = getattr(record, "county_code", None)
    field_access.ensure_writable(actor, county, kind, record_id)
    if record.deleted:
        raise Conflict(en=f"The {kind} was deleted", zh="该记录已删除", id=record_id, type=kind, deleted=True)
    return record


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, BaseGeometry) or isinstance(b, BaseGeometry):
        return a is not None and b is not None and bool(shapely.equals_exact(a, b, tolerance=0.0))
    return bool(a == b)


# In ``session.info``, a list: a new record is added to the session and to the list (a plot on PostgreSQL with what
# its flags are computed from), not flushed on its own — the sync push writes its batch's new records in one flush,
# acting as the session's actor (``catalog.sync_server``). Queries flush them first (autoflush), and a yield's
# check of the plot's other measurements flushes only when one waits. The new plots are flagged together just
# before the flush that writes them (``_flag_waiting_plots``).
DEFER_NEW = "yx_defer_new"


def _waiting(session: Session, model: type[Synced]) -> list[Any]:
    """The new records of ``model`` added under ``DEFER_NEW`` and not flushed yet."""
    waiting = session.info.get(DEFER_NEW) or []
    while waiting and not inspect(waiting[0][0]).pending:
        del waiting[0]  # flushed; a flush writes every record waiting, so all before it went too, none after
    return [o for o, _flags in waiting if type(o) is model]


def _write(session: Session, actor: Actor, record: R, values: Mapping[str, Any], created: bool,
           waiting_flags: _FlagsWaiting | None = None) -> Applied[R]:
    """Set ``values`` on ``record`` and keep the versions: a new record is version 1 with every field at 1; an edit
    that changes anything takes the next version, and each changed field remembers it."""
    changed = [k for k, v in values.items() if created or not _same(getattr(record, k), v)]
    if not created and not changed:
        return Applied(record, False, [])
    for key in changed:
        setattr(record, key, values[key])
    now = utcnow()
    if created:
        record.version = 1
        record.field_versions = {k: 1 for k in values}
        record.created_by = actor.name
        record.created_at = now
        session.add(record)
        review.hold_new(session, record)  # a sync batch's later measurements of the plot may verify it
        waiting = session.info.get(DEFER_NEW)
        if waiting is not None:
            record.updated_by, record.updated_at = actor.name, now
            waiting.append((record, waiting_flags))
            return Applied(record, True, changed)
    else:
        record.version = (record.version or 1) + 1
        record.field_versions = {**(record.field_versions or {}), **{k: record.version for k in changed}}
    record.updated_by = actor.name
    record.updated_at = now
    flush_as(session, actor)  # the audit entry names who wrote, whatever the session was declared for
    return Applied(record, created, changed)


def delete_record(session: Session, actor: Actor, kind: str, record_id: str) -> Applied[Synced]:
    """Tombstone a record (``deleted``, so the deletion reaches every device); NotFound/Forbidden as for edits."""
    model = MODELS[kind]
    record = session.get(model, record_id)
    if record is None:
        raise NotFound(en=f"No {kind} {record_id}", zh="记录不存在", id=record_id, type=kind)
    field_access.ensure_writable(actor, getattr(record, "county_code", None), kind, record_id)
    if record.deleted:
        return Applied(record, False, [])
    review.ensure_deletable(session, kind, record)  # approved measurements and their plots are locked
    return _write(session, actor, record, {"deleted": True}, False)


def _plot_for_child(session: Session, actor: Actor, c: _Checker, current: Any) -> DemoPlot | None:
    """The plot a child record belongs to (its county scopes the child); a child never moves to another plot."""
    plot_id = c.raw("plot_id")
    if current is not None:
        if plot_id not in (None, "", current.plot_id):
            c.fail("plot_id", "immutable", "记录不能改挂到其他地块", "A record cannot move to another plot", plot_id)
        return session.get(DemoPlot, current.plot_id)
    if plot_id in (None, ""):
        c.fail("plot_id", "required", "须指明地块", "The plot is required")
        return None
    plot = session.get(DemoPlot, str(plot_id))
    if plot is None or not field_access.can_read(actor, plot.county_code):
        c.fail("plot_id", "not_found", "找不到该地块", "No such plot", plot_id)
        return None
    if plot.deleted:
        c.fail("plot_id", "deleted", "地块已删除", "The plot was deleted", plot_id)
        return None
    c.out["plot_id"] = plot.id
    return plot


def _apply_child(session: Session, actor: Actor, model: type[R], kind: str, data: Mapping[str, Any],
                 record_id: str | None, clean: Callable[..., tuple[dict[str, Any], list[FieldError]]],
                 new: bool = False, **options: Any) -> Applied[R]:
    current = _existing(session, actor, model, kind, record_id, new)
    partial = current is not None
    checker = _Checker(data, partial, None)
    plot = _plot_for_child(session, actor, checker, current)
    values, errors = clean(session, data, partial, current=current, plot=plot, **options)
    errors = checker.errors + errors
    if errors:
        raise ValidationFailed(errors)
    assert plot is not None  # no errors: the plot was found
    if current is not None:
        review.ensure_unlocked(current, values)  # an approved measurement is locked on every path
        if getattr(current, "review_state", None) == "rejected" and any(
                not _same(getattr(current, k), v) for k, v in values.items()):
            values["review_state"] = "pending"  # the agent's edit of a rejected measurement: reviewed again
    if current is None:
        field_access.ensure_can_create(actor, plot.county_code, kind)
        values |= {"plot_id": plot.id, "county_code": plot.county_code}
    record = current or cast(Any, model)(id=record_id or new_id())
    if current is None and isinstance(record, YieldMeasurement) and record.review_state is None:
        # Its column default, given here: with every server default known the insert needs no RETURNING, so a
        # batch of them goes as one executemany (PostgreSQL).
        record.review_state = "pending"
    return _write(session, actor, record, values, current is None)


# -------------------------------------------------------------------------------------------------- yields

YIELD_FIELDS = {"plot_id", "method", "level", "measured_on", "crop", "panel", "samples", "baseline_kg_per_mu",
                "baseline_type", "notes", "verifies_id"}
HARVEST_KEYS = {"area_mu", "area_m2", "fresh_kg", "moisture", "impurity", "shelling_rate", "point"}
THEORETICAL_KEYS = {"ears_per_mu", "grains_per_ear", "thousand_grain_g", "seed_setting", "point"}
_RICE = ("rice", "rice_indica", "rice_japonica")


def _fraction(c: _Checker, where: str, name: str, value: Any, *, low_open: bool = False) -> float | None:
    """A fraction 0 ≤ x < 1 (0 < x ≤ 1 with ``low_open``: rates); a value above 1 gets a hint about percent."""
    number = _number(value)
    ok = number is not None and ((0 < number <= 1) if low_open else (0 <= number < 1))
    if not ok or number is None:
        percent = number is not None and 1 <= number <= 100
        zh_hint = f"（{number} % 应写作 {number / 100:g}）" if percent and number is not None else ""
        en_hint = f" ({number} % is {number / 100:g})" if percent and number is not None else ""
        c.fail(where, "out_of_range", f"{name}应为 0 到 1 之间的小数{zh_hint}",
               f"{name} must be a fraction between 0 and 1{en_hint}", value)
        return None
    return number


def _positive(c: _Checker, where: str, name: str, value: Any, maximum: float) -> float | None:
    number = _number(value)
    if number is None or not 0 < number <= maximum:
        c.fail(where, "out_of_range", f"{name}应为大于 0、不超过 {maximum:g} 的数",
               f"{name} must be > 0 and ≤ {maximum:g}", value)
        return None
    return number


def _harvest_samples(c: _Checker, samples: list[Any], crop: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, s in enumerate(samples, start=1):
        where = f"samples.{i}"
        if not isinstance(s, Mapping):
            c.fail(where, "invalid", "样点数据格式不正确", "A sample must be an object")
            continue
        unknown = set(s) - HARVEST_KEYS
        if unknown:
            c.fail(where, "unknown_field", f"实收样点不含这些项：{'、'.join(sorted(unknown))}",
                   f"Not in a harvest sample: {', '.join(sorted(unknown))}")
        if (s.get("area_mu") is None) == (s.get("area_m2") is None):
            c.fail(where, "invalid", "收获面积须填写亩数或平方米之一",
                   "Give the harvested area in 亩 or in m² (one of them)")
            continue
        area_mu = (_positive(c, where, "收获面积（亩）", s["area_mu"], 1000) if s.get("area_mu") is not None
                   else _positive(c, where, "收获面积（平方米）", s["area_m2"], 1000 * M2_PER_MU))
        if area_mu is not None and s.get("area_mu") is None:  # given in m²
            area_mu = area_mu / M2_PER_MU
        fresh = _positive(c, where, "鲜重（kg）", s.get("fresh_kg"), 1_000_000)
        moisture = _fraction(c, where, "含水率", s.get("moisture"))
        impurity = _fraction(c, where, "杂质率", s.get("impurity") or 0)
        sample: dict[str, Any] = {"area_mu": area_mu, "fresh_kg": fresh, "moisture": moisture, "impurity": impurity}
        if s.get("shelling_rate") not in (None, ""):
            if crop != "maize":
                c.fail(where, "invalid", "出粒率只用于玉米果穗测产", "The shelling rate applies to corn ears only")
            sample["shelling_rate"] = _fraction(c, where, "出粒率", s["shelling_rate"], low_open=True)
        if s.get("point") not in (None, ""):
            sample["point"] = str(s["point"])[:32]
        out.append(sample)
    return out


def _theoretical_samples(c: _Checker, samples: list[Any], crop: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, s in enumerate(samples, start=1):
        where = f"samples.{i}"
        if not isinstance(s, Mapping):
            c.fail(where, "invalid", "样点数据格式不正确", "A sample must be an object")
            continue
        unknown = set(s) - THEORETICAL_KEYS
        if unknown:
            c.fail(where, "unknown_field", f"理论测产样点不含这些项：{'、'.join(sorted(unknown))}",
                   f"Not in a theoretical sample: {', '.join(sorted(unknown))}")
        sample: dict[str, Any] = {
            "ears_per_mu": _positive(c, where, "亩穗数", s.get("ears_per_mu"), 2_000_000),
            "grains_per_ear": _positive(c, where, "穗粒数", s.get("grains_per_ear"), 2000),
            "thousand_grain_g": _positive(c, where, "千粒重（g）", s.get("thousand_grain_g"), 1000),
        }
        if crop in _RICE:
            sample["seed_setting"] = _fraction(c, where, "结实率", s.get("seed_setting"), low_open=True)
        elif s.get("seed_setting") not in (None, ""):
            c.fail(where, "invalid", "结实率只用于水稻", "The seed-setting rate applies to rice only")
        if s.get("point") not in (None, ""):
            sample["point"] = str(s["point"])[:32]
        out.append(sample)
    return out


def clean_yield(session: Session, data: Mapping[str, Any], partial: bool = False, *,
                current: YieldMeasurement | None = None, plot: DemoPlot | None = None
                ) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalise a yield measurement and compute its standard moisture, kg/亩 and gain from the merged values
    (an edit of one field recomputes from the stored rest)."""
    c = _Checker(data, partial, YIELD_FIELDS)
    c.choice("method", METHODS)
    c.choice("level", LEVELS, default="county")
    c.date("measured_on")
    c.text("notes", 4000)
    if c.given("crop") and c.raw("crop") in (None, "") and plot is not None and current is None:
        c.out["crop"] = plot.crop
    else:
        c.code(session, "crop", "crop", required=True)
    if c.given("panel"):
        panel = c.raw("panel") or []
        if isinstance(panel, str):
            panel = [p for p in re.split(r"[;；,，、|\n]", panel)]
        if not isinstance(panel, list) or len(panel) > 50:
            c.fail("panel", "invalid", "测产专家组应为姓名列表", "The panel is a list of names")
        else:
            c.out["panel"] = [str(p).strip()[:64] for p in panel if str(p).strip()]
    if c.raw("baseline_type") not in (None, ""):
        c.choice("baseline_type", BASELINE_TYPES)
    elif c.given("baseline_type"):
        c.out["baseline_type"] = None
    if c.given("baseline_kg_per_mu"):
        raw = c.raw("baseline_kg_per_mu")
        c.out["baseline_kg_per_mu"] = None if raw in (None, "") else _positive(
            c, "baseline_kg_per_mu", "对照产量（kg/亩）", raw, 100_000)
    if c.errors:
        return c.out, c.errors

    def merged(name: str) -> Any:
        return c.out[name] if name in c.out else getattr(current, name, None)

    method, crop = merged("method"), merged("crop")
    if c.given("samples") or current is None or {"method", "crop"} & c.out.keys():
        samples = c.raw("samples") if "samples" in data else (current.samples if current is not None else None)
        if not isinstance(samples, list) or not 1 <= len(samples) <= MAX_SAMPLES:
            c.fail("samples", "invalid", f"须有 1 至 {MAX_SAMPLES} 个样点", f"Give 1 to {MAX_SAMPLES} sample points")
            return c.out, c.errors
        reader = _harvest_samples if method == "harvest" else _theoretical_samples
        c.out["samples"] = reader(c, samples, crop)
    if c.errors:
        return c.out, c.errors
    if plot is not None and (current is None or {"level", "verifies_id"} & set(data)):
        raw = c.raw("verifies_id") if "verifies_id" in data else getattr(current, "verifies_id", None)
        level = merged("level") or "county"
        with nullcontext() if level == "county" else _unless_waiting(session, YieldMeasurement, plot.id):
            verifies, problem = review.check_verifies(session, level, raw or None, plot,
                                                      getattr(current, "id", None) or c.raw("id"))
        if problem is not None:
            c.errors.append(problem)
            return c.out, c.errors
        c.out["verifies_id"] = verifies
    _compute_yield(session, c, merged, plot)
    return c.out, c.errors


def _unless_waiting(session: Session, model: type[Synced], plot_id: str) -> AbstractContextManager[Any]:
    """No autoflush for a read of ``plot_id``'s ``model`` records when none of them waits in the session
    (``DEFER_NEW``: only new records wait): nothing to flush could change what the read finds."""
    if session.info.get(DEFER_NEW) is not None and not any(
            getattr(o, "plot_id", None) == plot_id for o in _waiting(session, model)):
        return session.no_autoflush
    return nullcontext()


def _compute_yield(session: Session, c: _Checker, merged: Callable[[str], Any], plot: DemoPlot | None) -> None:
    method, crop, samples = merged("method"), merged("crop"), merged("samples") or []
    rule = yields.crop_rules().get(crop)
    extra = current_codes(session, "crop")[crop].extra or {} if crop in current_codes(session, "crop") else {}
    standard = extra.get("standard_moisture")
    if method == "harvest":
        if standard is None:
            hint = "水稻须选择籼稻或粳稻（标准含水率不同）" if crop == "rice" else "该作物没有标准含水率"
            c.fail("crop", "no_standard_moisture", hint,
                   "Choose indica or japonica rice (their standard moistures differ)" if crop == "rice"
                   else "No standard moisture for this crop")
            return
        value, _total_kg, total_mu = yields.harvest_yield(samples, float(standard))
        if plot is not None and plot.area_m2 and total_mu > plot.area_m2 / M2_PER_MU * 1.05:
            c.fail("samples", "area_exceeds_plot", "收获面积之和大于地块面积", "The harvested area exceeds the plot's",
                   round(total_mu, 3))
    else:
        if rule is None or rule.theoretical_factor is None:
            c.fail("method", "no_formula", "该作物没有理论测产公式，请用实收测产",
                   "No yield-component formula for this crop; measure by harvest")
            return
        value = yields.theoretical_yield(samples, rule.theoretical_factor)
    if rule is not None and rule.max_kg_per_mu is not None and value > rule.max_kg_per_mu:
        c.fail("samples", "implausible_yield",
               f"折算产量 {value:.1f} kg/亩 超过该作物的合理上限 {rule.max_kg_per_mu:g} kg/亩",
               f"{value:.1f} kg/亩 exceeds the plausible maximum of {rule.max_kg_per_mu:g} for this crop",
               round(value, 2))
        return
    c.out["standard_moisture"] = float(standard) if method == "harvest" and standard is not None else None
    c.out["yield_kg_per_mu"] = round(value, 2)
    baseline, baseline_type = merged("baseline_kg_per_mu"), merged("baseline_type")
    if baseline is None and baseline_type == "control_plot" and plot is not None:
        baseline = _control_yield(session, plot, method)
        if baseline is None:
            c.fail("baseline_kg_per_mu", "required", "对照田还没有同方法的测产结果，请填写对照产量",
                   "The control plot has no yield of this method yet; give the baseline")
            return
        c.out["baseline_kg_per_mu"] = baseline
    if baseline is not None and baseline_type is None:
        c.fail("baseline_type", "required", "须注明对照类型：对照田、对照品种或县平均",
               "Give the baseline type: control plot, check variety or county average")
        return
    c.out["gain_pct"] = round(yields.gain_pct(value, baseline), 2) if baseline else None


def _control_yield(session: Session, plot: DemoPlot, method: str) -> float | None:
    if not plot.control_plot_id:
        return None
    return session.scalar(select(YieldMeasurement.yield_kg_per_mu).where(
        YieldMeasurement.plot_id == plot.control_plot_id, YieldMeasurement.method == method,
        YieldMeasurement.deleted.is_(False), YieldMeasurement.yield_kg_per_mu.is_not(None))
        .order_by(YieldMeasurement.measured_on.desc().nulls_last(), YieldMeasurement.created_at.desc()).limit(1))


def apply_yield(session: Session, actor: Actor, data: Mapping[str, Any], *, record_id: str | None = None,
                new: bool = False) -> Applied[YieldMeasurement]:
    """Create or edit a yield measurement; the kit's computed yield is ignored and recomputed here."""
    return _apply_child(session, actor, YieldMeasurement, "yield", data, record_id, clean_yield, new)


# ------------------------------------------------------------------------------ observations, soil, photos

OBSERVATION_FIELDS = {"plot_id", "observed_on", "stage", "notes"}
SOIL_FIELDS = {"plot_id", "sampled_on", "depth_cm", "lab", "grade", "grade_scale"}
PHOTO_FIELDS = {"plot_id", "sha256", "size", "mime", "taken_at", "lon", "lat", "caption"}


def clean_observation(session: Session, data: Mapping[str, Any], partial: bool = False, *,
                      current: Observation | None = None, plot: DemoPlot | None = None
                      ) -> tuple[dict[str, Any], list[FieldError]]:
    c = _Checker(data, partial, OBSERVATION_FIELDS)
    c.date("observed_on")
    c.code(session, "stage", "growth_stage")
    if c.given("notes"):
        c.text("notes", 4000)
        c.out["notes"] = c.out.get("notes") or ""
    return c.out, c.errors


def apply_observation(session: Session, actor: Actor, data: Mapping[str, Any], *, record_id: str | None = None,
                      new: bool = False) -> Applied[Observation]:
    return _apply_child(session, actor, Observation, "observation", data, record_id, clean_observation, new)


def clean_soil_sample(session: Session, data: Mapping[str, Any], partial: bool = False, *,
                      current: SoilSample | None = None, plot: DemoPlot | None = None
                      ) -> tuple[dict[str, Any], list[FieldError]]:
    """A soil sample and its evaluated grade: GB/T 33469-2016 grades 1 (best) to 10, the scale stored."""
    c = _Checker(data, partial, SOIL_FIELDS)
    c.date("sampled_on")
    c.text("depth_cm", 16)
    if c.out.get("depth_cm") and not _DEPTH.match(c.out["depth_cm"]):
        c.fail("depth_cm", "invalid", "采样深度写作 0-20（厘米）", "Write the depth in cm as 0-20", c.out["depth_cm"])
    if c.given("lab"):
        lab = c.raw("lab") or {}
        if not isinstance(lab, Mapping):
            c.fail("lab", "invalid", "化验结果应为 名称: 数值", "Lab results are name: value pairs")
        else:
            out: dict[str, float] = {}
            for key, value in lab.items():
                number = _number(value)
                low, high = LAB_RANGES.get(key, (-math.inf, math.inf))
                if number is None or not low <= number <= high:
                    c.fail(f"lab.{key}", "out_of_range", "化验值不是数字或超出可能范围",
                           "Not a number or outside the possible range", value)
                else:
                    out[str(key)] = number
            c.out["lab"] = out
    if c.given("grade_scale"):
        scale = c.raw("grade_scale") or DEFAULT_GRADE_SCALE
        if scale not in GRADE_SCALES:
            c.fail("grade_scale", "unknown_code", "耕地质量等级只用 GB/T 33469-2016（1-10 等，1 等最好）",
                   "Grades use GB/T 33469-2016 (1-10, 1 best)", scale)
        else:
            c.out["grade_scale"] = scale
    if c.given("grade"):
        raw = c.raw("grade")
        scale = c.out.get("grade_scale") or getattr(current, "grade_scale", None) or DEFAULT_GRADE_SCALE
        low, high = GRADE_SCALES.get(scale, (1, 10))
        number = _number(raw)
        if raw in (None, ""):
            c.out["grade"] = None
        elif number is None or not number.is_integer() or not low <= number <= high:
            c.fail("grade", "out_of_range", f"耕地质量等级应为 {low} 至 {high} 的整数（1 等最好）",
                   f"The grade is a whole number from {low} to {high} (1 is best)", raw)
        else:
            c.out["grade"] = int(number)
    return c.out, c.errors


def apply_soil_sample(session: Session, actor: Actor, data: Mapping[str, Any], *, record_id: str | None = None,
                      new: bool = False) -> Applied[SoilSample]:
    return _apply_child(session, actor, SoilSample, "soil_sample", data, record_id, clean_soil_sample, new)


def _as_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=photos.BEIJING)).astimezone(dt.UTC)


def clean_photo(session: Session, data: Mapping[str, Any], partial: bool = False, *, current: Photo | None = None,
                plot: DemoPlot | None = None, content: bytes | None = None,
                settings: FieldSettings = DEFAULT_SETTINGS) -> tuple[dict[str, Any], list[FieldError]]:
    """A photo's record; with ``content`` its EXIF time and position replace what the sender said. The flags
    (``catalog.photos.check_photo``) are recomputed against the plot's boundary and season."""
    c = _Checker(data, partial, PHOTO_FIELDS)
    if c.given("sha256"):
        value = str(c.raw("sha256") or "").lower()
        if not _SHA256.match(value):
            c.fail("sha256", "invalid", "文件摘要应为 64 位十六进制 SHA-256", "sha256 must be 64 hex digits",
                   value or None)
        else:
            c.out["sha256"] = value
    if c.given("size"):
        size = _number(c.raw("size"))
        if size is None or not size.is_integer() or not 0 < size <= MAX_PHOTO_BYTES:
            c.fail("size", "out_of_range", "文件大小不正确", "The file size is wrong", c.raw("size"))
        else:
            c.out["size"] = int(size)
    c.choice("mime", PHOTO_MIMES, default="image/jpeg")
    c.text("caption", 1000)
    if c.given("taken_at"):
        raw = c.raw("taken_at")
        c.out["taken_at"] = None if raw in (None, "") else _as_time(raw)
        if raw not in (None, "") and c.out["taken_at"] is None:
            c.fail("taken_at", "invalid", "拍摄时间格式不正确", "Not a date and time", raw)
    for name, limit in (("lon", 180.0), ("lat", 90.0)):
        if c.given(name):
            raw = c.raw(name)
            number = _number(raw)
            if raw in (None, ""):
                c.out[name] = None
            elif number is None or abs(number) > limit:
                c.fail(name, "out_of_range", "经纬度超出范围", "Out of the lon/lat range", raw)
            else:
                c.out[name] = number
    if content is not None:
        try:
            exif = photos.read_exif(content)
        except ValueError:
            c.fail("sha256", "not_an_image", "文件不是图片", "The file is not an image")
            return c.out, c.errors
        c.out |= {"taken_at": exif.taken_at, "lon": exif.lon, "lat": exif.lat}
    if plot is not None and not c.errors:
        def merged(name: str) -> Any:
            return c.out[name] if name in c.out else getattr(current, name, None)

        season_code = _season_code(plot.season)
        season = current_codes(session, "season").get(season_code)
        flags = photos.check_photo(boundary=plot.boundary, season=plot.season,
                                   season_extra=season.extra if season else None, taken_at=merged("taken_at"),
                                   lon=merged("lon"), lat=merged("lat"), tolerance_m=settings.photo_tolerance_m)
        c.out["flags"] = flags
    return c.out, c.errors


def apply_photo(session: Session, actor: Actor, data: Mapping[str, Any], *, record_id: str | None = None,
                content: bytes | None = None, settings: FieldSettings = DEFAULT_SETTINGS, new: bool = False
                ) -> Applied[Photo]:
    """Create or edit a photo record; a time or place that does not fit the plot is flagged, not refused."""
    applied = _apply_child(session, actor, Photo, "photo", data, record_id, clean_photo, new, content=content,
                           settings=settings)
    flags = getattr(applied.record, "flags", None) or {}
    if flags:
        applied.warnings.append(_err("taken_at" if "time_mismatch" in flags else "lat", "photo_flagged",
                                     "照片的拍摄时间或位置与地块不符，已标记待审核",
                                     "The photo's time or place does not fit the plot; flagged for review", flags))
    return applied


MODELS: dict[str, type[Synced]] = {"plot": DemoPlot, "yield": YieldMeasurement, "observation": Observation,
                                   "soil_sample": SoilSample, "photo": Photo}
APPLY: dict[str, Callable[..., Applied[Any]]] = {"plot": apply_plot, "yield": apply_yield,
                                            "observation": apply_observation, "soil_sample": apply_soil_sample,
                                            "photo": apply_photo}
