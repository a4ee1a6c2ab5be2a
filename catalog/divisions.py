"""Administrative divisions (GB/T 2260): province → prefecture → county, with validity and code changes.

The network 部 → 省 → 市 → 县 is this tree with the ministry as its implicit root (``ROOT`` = "000000", or
``None``). Retired codes stay as rows (``valid_to`` set) and map to their successors through ``DivisionChange``.
Dates have year precision: the change events only name the year, so ``valid_from``/``valid_to`` are 1 January of
the year of the event that created/retired the code.

Shipped data (``catalog/data``, see ``DIVISIONS_AND_SITES.md``): ``divisions.csv`` (the current MCA list),
``division_changes.csv`` (code-change events 1981–2026) and the simplified boundaries that ``gis`` ships.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, delete, insert, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.db import Base
from catalog.errors import NotFound
from catalog.geometry import GeometryType
from gis.regions import DATA_DIR as GIS_DATA_DIR
from gis.regions import read_geojson_gz

LEVELS = ("province", "prefecture", "county")
EVENT_LEVELS = {1: "province", 2: "prefecture", 3: "county"}
ROOT = "000000"  # the ministry (部): the implicit root above the provinces

DATA = Path(__file__).parent / "data"


class Division(Base):
    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    # The 2,851 units a county-level service covers (counties and prefectures without counties).
    county_equivalent: Mapped[bool] = mapped_column(Boolean, default=False)
    label_lng: Mapped[float | None] = mapped_column(Float)
    label_lat: Mapped[float | None] = mapped_column(Float)
    has_polygon: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # set on retired codes

    @property
    def retired(self) -> bool:
        return self.valid_to is not None


class DivisionBoundary(Base):
    """The shipped (simplified) boundary of a division, WGS-84 lon/lat."""

    __tablename__ = "division_boundary"

    code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True)
    geom: Mapped[shapely.Geometry] = mapped_column(GeometryType("MULTIPOLYGON"))


class DivisionChange(Base):
    """One code-change event (新设, 撤县设市, 更名, 撤销, ...): old code → new code."""

    __tablename__ = "division_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    old_code: Mapped[str | None] = mapped_column(String(6), index=True)
    old_name: Mapped[str | None] = mapped_column(String(64))
    new_code: Mapped[str | None] = mapped_column(String(6), index=True)
    new_name: Mapped[str | None] = mapped_column(String(64))
    doc_no: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------------------------------- loading


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _jan1(year: int | None) -> dt.date | None:
    return dt.date(year, 1, 1) if year else None


def _float(v: str) -> float | None:
    return float(v) if v else None


def load_divisions(session: Session, folder: Path = DATA) -> dict[str, int]:
    """Upsert every current division, the retired codes and the change events; idempotent.

    Rows go in by level so a parent always exists before its children (the foreign key is immediate on
    SQLite). Returns counts: current divisions, retired codes, change events.
    """
    current = _csv(folder / "divisions.csv")
    changes = _csv(folder / "division_changes.csv")
    current_codes = {r["adcode"] for r in current}
    created = _creation_years(changes)

    rows: list[dict[str, Any]] = [
        {
            "code": r["adcode"], "name": r["name"], "level": r["level"], "parent_code": r["parent_adcode"] or None,
            "province_code": r["province_adcode"], "county_equivalent": r["county_equivalent"] == "1",
            "label_lng": _float(r["label_lng"]), "label_lat": _float(r["label_lat"]),
            "has_polygon": r["has_polygon"] == "1",
            "valid_from": _jan1(max(created.get(r["adcode"], [0]))), "valid_to": None,
        }
        for r in current
    ]
    rows += _retired_rows(changes, current_codes, created)
    rows.sort(key=lambda r: LEVELS.index(r["level"]))

    existing = set(session.scalars(select(Division.code)))
    fresh = [r for r in rows if r["code"] not in existing]
    if fresh:
        session.execute(insert(Division), fresh)
    stale = [r for r in rows if r["code"] in existing]
    if stale:
        session.execute(update(Division), stale)

    # Nothing refers to change events by id, so replacing them wholesale is the simplest idempotent load.
    session.execute(delete(DivisionChange))
    session.execute(insert(DivisionChange), [
        {"year": int(c["year"]), "type": c["type"], "level": int(c["level"]),
         "old_code": c["old_adcode"] or None, "old_name": c["old_name"] or None,
         "new_code": c["new_adcode"] or None, "new_name": c["new_name"] or None, "doc_no": c["doc_no"] or None}
        for c in changes
    ])
    session.flush()
    return {"divisions": len(current), "retired_divisions": len(rows) - len(current), "division_changes": len(changes)}


def _creation_years(changes: Iterable[dict[str, str]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for c in changes:
        if c["new_adcode"] and c["new_adcode"] != c["old_adcode"]:
            out[c["new_adcode"]].append(int(c["year"]))
    return out


def _retired_rows(changes: list[dict[str, str]], current: set[str],
                  created: dict[str, list[int]]) -> list[dict[str, Any]]:
    """A row per code that some event retired and that is not in the current list.

    Name, level and parent come from the code's last retiring event (the state it was retired in). Codes that
    only ever appear as a *new* code and are not current (6 in the data) have no known end and are left out.
    """
    last: dict[str, dict[str, str]] = {}
    for c in changes:  # the file is in year order; a later event of the same year wins
        old = c["old_adcode"]
        if old and old != c["new_adcode"] and old not in current:
            if old not in last or int(c["year"]) >= int(last[old]["year"]):
                last[old] = c
    known = current | set(last)
    rows = []
    for code, c in last.items():
        year = int(c["year"])
        parent = c["old_parent_adcode"]
        if parent not in known or parent == code:
            parent = code[:2] + "0000" if code[:2] + "0000" in known and not code.endswith("0000") else ""
        level = EVENT_LEVELS[int(c["level"])]
        rows.append({
            "code": code, "name": c["old_name"] or code, "level": level, "parent_code": parent or None,
            "province_code": code[:2] + "0000", "county_equivalent": level == "county",
            "label_lng": None, "label_lat": None, "has_polygon": False,
            "valid_from": _jan1(max((y for y in created.get(code, []) if y <= year), default=None)),
            "valid_to": _jan1(year),
        })
    return rows


@functools.lru_cache(maxsize=4)
def _read_features(path: Path) -> tuple[tuple[dict[str, Any], shapely.Geometry], ...]:
    """(properties, geometry) of a gzip'd FeatureCollection; cached, as parsing dominates the load time."""
    return tuple((f["properties"], shape(f["geometry"])) for f in read_geojson_gz(path))


def _multi(geoms: list[shapely.Geometry]) -> shapely.MultiPolygon:
    # union_all, not coverage_union: the two Chongqing polygons of 500157 overlap slightly after simplification.
    geom = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    return shapely.MultiPolygon([p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)])


def load_boundaries(session: Session, folder: Path = GIS_DATA_DIR) -> int:
    """Load the simplified boundaries that ``gis`` ships (``counties.geojson.gz``, ``provinces.geojson.gz``).

    A county feature carries its source code and the current code it maps to (``gis.simplify``). Each current
    code gets the union of its features, so 两江新区 500157 gets 江北区 500105 + 渝北区 500112 — an
    approximation: five towns of the former 渝北区 went to 北碚区. A retired code keeps its own historical
    polygon. Features outside the code table (Taiwan, Hong Kong, Macau, a few special areas) are skipped.
    ``Division.has_polygon`` is set to whether a boundary was stored. Idempotent; returns boundaries stored.
    """
    known = set(session.scalars(select(Division.code)))
    parts: dict[str, list[shapely.Geometry]] = defaultdict(list)
    for props, geom in _read_features(folder / "counties.geojson.gz"):
        current, source = props.get("adcode"), props.get("source_adcode")
        if current in known:
            parts[current].append(geom)
        if source and source != current and source in known:
            parts[source].append(geom)
    provinces = folder / "provinces.geojson.gz"
    if provinces.exists():
        for props, geom in _read_features(provinces):
            if props.get("adcode") in known:
                parts[props["adcode"]].append(geom)

    session.execute(delete(DivisionBoundary))
    session.execute(insert(DivisionBoundary), [{"code": c, "geom": _multi(g)} for c, g in parts.items()])
    session.execute(update(Division).values(has_polygon=Division.code.in_(list(parts))))
    session.flush()
    return len(parts)


# --------------------------------------------------------------------------------------------------- the tree


def get_division(session: Session, code: str) -> Division:
    division = session.get(Division, code)
    if division is None:
        raise NotFound(en=f"No administrative division '{code}'", zh=f"行政区划代码“{code}”不存在",
                       division_code=code)
    return division


def _is_root(code: str | None) -> bool:
    return code is None or code == ROOT


def children(session: Session, code: str | None, include_retired: bool = False) -> list[Division]:
    """Direct children, ordered by code; the root's children are the provinces."""
    q = select(Division).order_by(Division.code)
    q = q.where(Division.level == "province") if _is_root(code) else q.where(Division.parent_code == code)
    if not include_retired:
        q = q.where(Division.valid_to.is_(None))
    return list(session.scalars(q))


def ancestors(session: Session, code: str) -> list[Division]:
    """The chain above ``code``, province first; the implicit root is not included."""
    out: list[Division] = []
    division = get_division(session, code)
    while division.parent_code is not None:
        division = get_division(session, division.parent_code)
        out.append(division)
    return out[::-1]


def descendant_counties(session: Session, code: str | None) -> list[str]:
    """Current county-equivalent codes at or under ``code`` (all of them for the root)."""
    q = select(Division.code).where(Division.county_equivalent.is_(True), Division.valid_to.is_(None))
    if not _is_root(code):
        division = get_division(session, str(code))
        if division.level == "province":
            q = q.where(Division.province_code == code)
        elif division.level == "prefecture":
            q = q.where(or_(Division.parent_code == code, Division.code == code))
        else:
            q = q.where(Division.code == code)
    return list(session.scalars(q.order_by(Division.code)))


# --------------------------------------------------------------------------------------------------- successors


@dataclass
class CodeHistory:
    """What the change events say about one code."""

    current: bool
    retirements: list[tuple[int, str | None]] = field(default_factory=list)  # (year, new code or None)
    creations: list[int] = field(default_factory=list)  # years it was (re)assigned


class ChangeGraph:
    """Follows code changes forward in time to the currently valid codes.

    From a retired code, take its last retirement; from each new code reached in year ``t``, take its first
    retirement in or after ``t`` if the code is no longer valid, or if it is valid again only because it was
    reassigned after that retirement (码位复用). A split gives several codes, an abolition without a successor
    none. ``fetch`` answers the history of one code (from the database, or from memory for bulk use).
    """

    def __init__(self, fetch: Callable[[str], CodeHistory]) -> None:
        self._fetch = fetch
        self._memo: dict[str, CodeHistory] = {}

    def history(self, code: str) -> CodeHistory:
        if code not in self._memo:
            self._memo[code] = self._fetch(code)
        return self._memo[code]

    def successors(self, code: str) -> list[str]:
        h = self.history(code)
        if h.current:
            return [code]
        if not h.retirements:
            return []
        frontier = self._step(h.retirements, min_year=max(y for y, _ in h.retirements))
        out: set[str] = set()
        seen: set[tuple[str, int]] = set()
        while frontier:
            code, year = frontier.pop()
            if (code, year) in seen:
                continue
            seen.add((code, year))
            h = self.history(code)
            later = [(y, n) for y, n in h.retirements if y >= year]
            if h.current:
                if later and any(c > min(y for y, _ in later) for c in h.creations):
                    frontier += self._step(later)
                else:
                    out.add(code)
                continue
            # Not valid, yet not retired after we reached it: a gap in the events; use what there is.
            frontier += self._step(later or h.retirements)
        return sorted(out)

    @staticmethod
    def _step(retirements: list[tuple[int, str | None]], min_year: int | None = None) -> list[tuple[str, int]]:
        if not retirements:
            return []
        year = min_year if min_year is not None else min(y for y, _ in retirements)
        return [(n, year) for y, n in retirements if y == year and n]

    @classmethod
    def from_session(cls, session: Session) -> ChangeGraph:
        """A graph that asks the database, one code at a time (for single lookups)."""

        def fetch(code: str) -> CodeHistory:
            division = session.get(Division, code)
            h = CodeHistory(current=division is not None and division.valid_to is None)
            events = session.execute(
                select(DivisionChange.year, DivisionChange.old_code, DivisionChange.new_code)
                .where(or_(DivisionChange.old_code == code, DivisionChange.new_code == code))
            )
            for year, old, new in events:
                if old == code and new != code:
                    h.retirements.append((year, new))
                elif new == code and old != code:
                    h.creations.append(year)
            return h

        return cls(fetch)

    @classmethod
    def preloaded(cls, session: Session) -> ChangeGraph:
        """A graph over all events at once (for bulk use, e.g. indexing former names)."""
        current = set(session.scalars(select(Division.code).where(Division.valid_to.is_(None))))
        histories: dict[str, CodeHistory] = {}

        def get(code: str) -> CodeHistory:
            return histories.setdefault(code, CodeHistory(current=code in current))

        rows = session.execute(select(DivisionChange.year, DivisionChange.old_code, DivisionChange.new_code))
        for year, old, new in rows:
            if old and old != new:
                get(old).retirements.append((year, new))
            if new and new != old:
                get(new).creations.append(year)
        return cls(lambda code: histories.get(code) or CodeHistory(current=code in current))


def successors(session: Session, code: str) -> list[str]:
    """Currently valid codes that took over ``code``: itself if valid, several after a split, none if abolished.

    >>> successors(s, "500105")  # 江北区, retired 2025
    ['500157']
    """
    get_division(session, code)
    return ChangeGraph.from_session(session).successors(code)


def current_code(session: Session, code: str) -> str | None:
    """The one valid code for ``code``, or None when it was split or abolished (or is unknown)."""
    if session.get(Division, code) is None:
        return None
    found = ChangeGraph.from_session(session).successors(code)
    return found[0] if len(found) == 1 else None
