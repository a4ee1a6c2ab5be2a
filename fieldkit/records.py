"""Add, edit and delete field records on the kit: the local record and its outbox mutation in ONE transaction.

Every function takes the session of the caller's transaction (``with store.session() as s``) and never commits:
a crash between writing the record and queueing its mutation cannot happen, because both are one commit.
Bad input is refused before anything is written (``RecordRefused`` lists each field, zh and en).
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from catalog.db import new_id, utcnow
from catalog.field import DEMO_TYPES, LEVELS, METHODS, SOURCE_CRS, DemoPlot, Photo
from fieldkit import codec
from fieldkit.store import FileUpload, Store
from gis.area import geodesic_area
from gis.validate import Severity, validate_boundary


@dataclass(frozen=True)
class Problem:
    field: str
    zh: str
    en: str


class RecordRefused(ValueError):
    """Input the kit will not store; ``problems`` says which field and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.en}" for p in problems))
        self.problems = problems

    def lines(self) -> list[str]:
        return [f"{p.field}：{p.zh} / {p.en}" for p in self.problems]


class NoSuchRecord(LookupError):
    def __init__(self, type_: str, record_id: str) -> None:
        super().__init__(f"{type_} {record_id} not found")
        self.type, self.record_id = type_, record_id


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    raise RecordRefused([Problem("boundary", "边界必须是面", "the boundary must be a polygon")])


def _required(fields: Mapping[str, Any], names: tuple[str, ...]) -> list[Problem]:
    return [Problem(n, "必填", "required") for n in names if fields.get(n) in (None, "")]


def _choice(fields: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> list[Problem]:
    v = fields.get(name)
    if v is None or v in allowed:
        return []
    return [Problem(name, f"应为 {'、'.join(allowed)} 之一", f"must be one of {', '.join(allowed)}")]


def _number(value: Any, name: str, lo: float, hi: float, *, lo_open: bool = False) -> list[Problem]:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return [Problem(name, "应为数字", "must be a number")]
    if value < lo or value > hi or (lo_open and value <= lo):
        return [Problem(name, f"超出范围（{lo}–{hi}）", f"out of range ({lo}-{hi})")]
    return []


def check_plot(fields: Mapping[str, Any]) -> list[Problem]:
    problems = _required(fields, ("name", "crop", "season", "county_code"))
    problems += _choice(fields, "demo_type", DEMO_TYPES) + _choice(fields, "source_crs", SOURCE_CRS)
    boundary = fields.get("boundary")
    if boundary is not None:
        for issue in validate_boundary(boundary):
            if issue.severity is Severity.ERROR:
                problems.append(Problem("boundary", issue.message_zh, issue.message_en))
    return problems


HARVEST_KEYS = (("area_mu", 0.0, 100.0, True), ("fresh_kg", 0.0, 100_000.0, True), ("moisture", 0.0, 0.9, False),
                ("impurity", 0.0, 0.5, False))
THEORY_KEYS = (("ears_per_mu", 0.0, 1e8, True), ("grains_per_ear", 0.0, 1e5, True),
               ("thousand_grain_g", 0.0, 1000.0, True))


def check_yield(fields: Mapping[str, Any]) -> list[Problem]:
    problems = _required(fields, ("plot_id", "method", "crop"))
    problems += _choice(fields, "method", METHODS) + _choice(fields, "level", LEVELS)
    samples = fields.get("samples") or []
    keys = HARVEST_KEYS if fields.get("method") == "harvest" else THEORY_KEYS
    if not samples:
        problems.append(Problem("samples", "至少需要一个样点", "at least one sample point"))
    for n, sample in enumerate(samples, start=1):
        for key, lo, hi, lo_open in keys:
            problems += [Problem(f"samples[{n}].{key}", p.zh, p.en)
                         for p in _number(sample.get(key), key, lo, hi, lo_open=lo_open)]
    baseline = fields.get("baseline_kg_per_mu")
    if baseline is not None:
        problems += _number(baseline, "baseline_kg_per_mu", 0.0, 5000.0, lo_open=True)
    return problems


CHECKS = {"plot": check_plot, "yield": check_yield}


def _prepare(type_: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Derived values the kit computes as the server will (area from the boundary)."""
    if type_ == "plot" and fields.get("boundary") is not None:
        fields["boundary"] = as_multipolygon(fields["boundary"])
        fields["area_m2"] = round(geodesic_area(fields["boundary"]), 2)
    return fields


def _validated(type_: str, fields: dict[str, Any]) -> None:
    problems = CHECKS.get(type_, lambda _f: [])(fields)
    if problems:
        raise RecordRefused(problems)


def create(s: Session, type_: str, fields: Mapping[str, Any], *, author: str | None = None) -> Any:
    """A new record born on this device (a UUID made here) and its ``upsert`` mutation."""
    model = codec.model_of(type_)
    values = _prepare(type_, dict(fields))
    if type_ in ("yield", "observation", "photo", "soil_sample") and values.get("plot_id"):
        plot = s.get(DemoPlot, values["plot_id"])
        if plot is None or plot.deleted:
            raise RecordRefused([Problem("plot_id", "地块不存在", "no such plot")])
        values.setdefault("county_code", plot.county_code)
        if type_ == "yield":
            values.setdefault("crop", plot.crop)
    _validated(type_, values)
    obj = model(id=values.pop("id", None) or new_id(), version=0, created_at=utcnow(), created_by=author,
                updated_by=author)
    codec.set_fields(type_, obj, values)
    s.add(obj)
    s.flush()
    Store.enqueue(s, type_, obj.id, "upsert", codec.record_fields(type_, obj))
    return obj


def get(s: Session, type_: str, record_id: str) -> Any:
    obj = s.get(codec.model_of(type_), record_id)
    if obj is None or obj.deleted:
        raise NoSuchRecord(type_, record_id)
    return obj


def edit(s: Session, type_: str, record_id: str, changes: Mapping[str, Any], *, author: str | None = None
         ) -> Any:
    """Change some fields; only the fields whose value changed travel (so edits elsewhere merge)."""
    obj = get(s, type_, record_id)
    if getattr(obj, "review_state", None) == "approved":  # catalog.review: the server would refuse it (locked)
        raise RecordRefused([Problem("review_state", "该测产已审核通过并锁定，不能修改",
                                     "The measurement is approved and locked")])
    before = codec.record_fields(type_, obj)
    values = _prepare(type_, dict(changes))
    _validated(type_, {**{k: codec.from_wire(type_, k, v) for k, v in before.items()}, **values})
    codec.set_fields(type_, obj, values)
    after = codec.record_fields(type_, obj)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    if changed:
        if getattr(obj, "review_state", None) == "rejected":
            obj.review_state = "pending"  # as the server does on this edit: reviewed again
        obj.updated_at, obj.updated_by = utcnow(), author
        s.flush()
        Store.enqueue(s, type_, obj.id, "upsert", changed)
    return obj


def delete(s: Session, type_: str, record_id: str) -> None:
    obj = get(s, type_, record_id)
    if getattr(obj, "review_state", None) == "approved":
        raise RecordRefused([Problem("review_state", "该测产已审核通过并锁定，不能删除",
                                     "The measurement is approved and locked")])
    obj.deleted = True
    s.flush()
    Store.enqueue(s, type_, obj.id, "delete", {})


def add_photo(s: Session, files: Path, plot_id: str, source: Path, *, caption: str | None = None,
              author: str | None = None) -> Photo:
    """A photo of a plot: the file kept content-addressed in ``files`` until uploaded, and its record."""
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    files.mkdir(parents=True, exist_ok=True)
    kept = files / sha
    if not kept.exists():
        shutil.copyfile(source, kept)
    size = kept.stat().st_size
    if s.get(FileUpload, sha) is None:
        s.add(FileUpload(sha256=sha, path=str(kept), size=size, uploaded=False))
    mime = "image/png" if source.suffix.lower() == ".png" else "image/jpeg"
    taken_at, lon, lat = exif_of(kept)
    photo = create(s, "photo", {"plot_id": plot_id, "sha256": sha, "size": size, "mime": mime,
                                "caption": caption, "taken_at": taken_at, "lon": lon, "lat": lat}, author=author)
    assert isinstance(photo, Photo)
    return photo


def exif_of(path: Path) -> tuple[str | None, float | None, float | None]:
    """EXIF time (as written, ISO, assumed Beijing time) and GPS position (WGS-84) of a photo, when present."""
    try:
        from PIL import Image
        from PIL.ExifTags import IFD

        with Image.open(path) as im:
            exif = im.getexif()
            when = exif.get_ifd(IFD.Exif).get(36867) or exif.get(306)
            gps = exif.get_ifd(IFD.GPSInfo)
    except Exception:  # not an image PIL reads: the server flags the photo for review
        return None, None, None
    taken = None
    if isinstance(when, str) and len(when) >= 19:
        taken = f"{when[:4]}-{when[5:7]}-{when[8:10]}T{when[11:19]}+08:00"

    def degrees(v: Any, ref: Any, neg: str) -> float | None:
        try:
            d = float(v[0]) + float(v[1]) / 60 + float(v[2]) / 3600
        except (TypeError, IndexError, ValueError, ZeroDivisionError):
            return None
        return -d if ref == neg else d

    lat = degrees(gps.get(2), gps.get(1), "S") if gps else None
    lon = degrees(gps.get(4), gps.get(3), "W") if gps else None
    return taken, lon, lat
