"""Validate, repair and simplify captured plot boundaries.

Boundaries are WGS-84 degrees in (lon, lat) order.  Areas are geodesic m² (see ``gis.area``); distances for
simplification are metres in a local azimuthal equidistant projection centred on the plot.

``validate_boundary`` lists precise, typed issues; each ``Issue`` carries a stable ``code`` and zh/en text.
``repair_boundary`` applies only safe fixes and says what it changed.  ``simplify_track`` thins a walked GPS
track while keeping the area within a relative tolerance (0.5 % by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.area import M2_PER_MU, geodesic_area

# A generous box around China (incl. the South China Sea islands), lon/lat degrees.  Precise containment is
# the county index's job; this catches gross errors cheaply.
CHINA_BBOX = (73.0, 3.0, 136.0, 54.0)
DEFAULT_MAX_AREA_MU = 20_000.0
DEFAULT_SPIKE_ANGLE_DEG = 2.0
MIN_AREA_M2 = 1.0

Coords = Sequence[Sequence[float]]


class IssueCode(StrEnum):
    """Stable codes of boundary problems (used by the API, the field kit and the translations)."""

    TOO_FEW_POINTS = "too_few_points"
    INVALID_COORDINATES = "invalid_coordinates"
    DUPLICATE_VERTICES = "duplicate_vertices"
    SELF_INTERSECTION = "self_intersection"
    SPIKE = "spike"
    ZERO_AREA = "zero_area"
    LAT_LON_SWAPPED = "lat_lon_swapped"
    OUTSIDE_CHINA = "outside_china"
    TOO_LARGE = "too_large"


class Severity(StrEnum):
    ERROR = "error"  # the boundary cannot be stored as it is
    WARNING = "warning"  # storable, or safely repairable


_TEXT: dict[IssueCode, tuple[Severity, str, str]] = {
    IssueCode.TOO_FEW_POINTS: (Severity.ERROR, "边界点太少（至少需要 3 个不同的点）",
                               "too few points (a boundary needs at least 3 distinct points)"),
    IssueCode.INVALID_COORDINATES: (Severity.ERROR, "坐标无效（非数字或超出经纬度范围）",
                                    "invalid coordinates (not a number or out of lon/lat range)"),
    IssueCode.DUPLICATE_VERTICES: (Severity.WARNING, "存在重复的相邻顶点", "duplicate consecutive vertices"),
    IssueCode.SELF_INTERSECTION: (Severity.ERROR, "边界自相交", "the boundary crosses itself"),
    IssueCode.SPIKE: (Severity.WARNING, "边界有尖刺（疑似 GPS 跳点）",
                      "the boundary has a spike (likely a GPS jump)"),
    IssueCode.ZERO_AREA: (Severity.ERROR, "面积为零", "the boundary encloses no area"),
    IssueCode.LAT_LON_SWAPPED: (Severity.ERROR, "经纬度可能颠倒", "latitude and longitude look swapped"),
    IssueCode.OUTSIDE_CHINA: (Severity.ERROR, "位置不在中国境内", "the boundary lies outside China"),
    IssueCode.TOO_LARGE: (Severity.ERROR, "面积过大，不像一个地块", "the area is too large for a plot"),
}


@dataclass(frozen=True)
class Issue:
    """One problem found in a boundary: stable ``code``, severity, zh/en message, optional details."""

    code: IssueCode
    severity: Severity
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, code: IssueCode, **details: Any) -> Issue:
        severity, zh, en = _TEXT[code]
        return cls(code, severity, zh, en, details)


def _ring_coords(boundary: BaseGeometry | Coords) -> list[NDArray[np.float64]]:
    """The rings of a boundary as (n, 2) arrays; a plain sequence is one exterior ring."""
    if isinstance(boundary, Polygon):
        return [np.asarray(boundary.exterior.coords)[:, :2]] + [
            np.asarray(r.coords)[:, :2] for r in boundary.interiors
        ]
    if isinstance(boundary, MultiPolygon):
        return [ring for poly in boundary.geoms for ring in _ring_coords(poly)]
    if isinstance(boundary, BaseGeometry):
        return [shapely.get_coordinates(boundary)]
    arr = np.asarray([tuple(p)[:2] for p in boundary], dtype=float)
    return [arr.reshape(-1, 2)]


def _consecutive_duplicates(ring: NDArray[np.float64]) -> int:
    if len(ring) < 2:
        return 0
    same = np.all(ring[1:] == ring[:-1], axis=1)
    return int(same.sum())


def _distinct_open(ring: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ring without consecutive duplicates and without the closing point."""
    if len(ring) == 0:
        return ring
    keep = np.ones(len(ring), dtype=bool)
    keep[1:] = np.any(ring[1:] != ring[:-1], axis=1)
    r = ring[keep]
    if len(r) > 1 and np.array_equal(r[0], r[-1]):
        r = r[:-1]
    return r


def _too_few_points(ring: NDArray[np.float64]) -> bool:
    """Fewer than 3 distinct points (a set of tuples: ``np.unique(axis=0)`` costs ~70 µs on a plot's ring)."""
    return len(ring) < 3 or len(set(map(tuple, ring.tolist()))) < 3


def _spike_vertices(ring: NDArray[np.float64], max_angle_deg: float) -> list[int]:
    """Indices (in the open ring: no closing point, no consecutive duplicates) of vertices where the boundary turns
    back sharper than ``max_angle_deg``. The angle at a vertex is below the limit when its cosine is above the
    limit's: no arccos, and a handful of array operations for a plot's few dozen points."""
    n = len(ring)
    if n < 3:
        return []
    scale = math.cos(math.radians(float(ring[:, 1].mean())))
    pts = ring * (scale, 1.0)
    edges = np.diff(pts, axis=0, prepend=pts[-1:], append=pts[:1])  # edges[i] = pts[i] − pts[i − 1], cyclic
    back, ahead = -edges[:-1], edges[1:]  # from each vertex to the one before it and to the one after it
    dot = (back * ahead).sum(axis=1)
    norms = np.hypot(back[:, 0], back[:, 1]) * np.hypot(ahead[:, 0], ahead[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        sharp = dot / norms > math.cos(math.radians(max_angle_deg))
    return [int(i) for i in np.flatnonzero(sharp)]


def _planar_area_m2(geom: BaseGeometry) -> float:
    """Area in m² of the polygonal parts, planar with a cos(lat) scale: only to tell 'no area' apart."""
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon | MultiPolygon)]
    if not polys:
        return 0.0
    lat = math.radians(geom.centroid.y if not geom.is_empty else 0.0)
    return float(sum(p.area for p in polys)) * 111_320.0**2 * math.cos(lat)


def _in_box(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> bool:
    x0, y0, x1, y1 = CHINA_BBOX
    return bool(np.all((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)))


def validate_boundary(
    boundary: BaseGeometry | Coords,
    *,
    max_area_mu: float = DEFAULT_MAX_AREA_MU,
    spike_angle_deg: float = DEFAULT_SPIKE_ANGLE_DEG,
) -> list[Issue]:
    """List what is wrong with a captured plot boundary (WGS-84 lon/lat degrees).

    ``boundary`` is a Polygon/MultiPolygon or a sequence of (lon, lat) vertices.  An empty list means the
    boundary is fine.  A vertex sequence is taken as a ring whether or not it repeats its first point.
    ``max_area_mu`` is the largest plausible plot (亩); ``spike_angle_deg`` the sharpest
    turn-back accepted at a vertex.
    """
    return _validate(boundary, max_area_mu, spike_angle_deg)[0]


def _validate(boundary: BaseGeometry | Coords, max_area_mu: float, spike_angle_deg: float
              ) -> tuple[list[Issue], float | None]:
    """:func:`validate_boundary`'s issues, and the geodesic area (m²) it measured (None: it stopped before)."""
    rings = _ring_coords(boundary)
    allc = np.concatenate(rings) if rings else np.empty((0, 2))
    issues: list[Issue] = []
    lat_out_of_range = bool(np.any(np.abs(allc[:, 1]) > 90)) and not _in_box(allc[:, 1], allc[:, 0])
    if not np.all(np.isfinite(allc)) or lat_out_of_range:
        return [Issue.of(IssueCode.INVALID_COORDINATES)], None
    if len(allc) and not _in_box(allc[:, 0], allc[:, 1]):
        if _in_box(allc[:, 1], allc[:, 0]):
            return [Issue.of(IssueCode.LAT_LON_SWAPPED)], None
        if np.any(np.abs(allc[:, 0]) > 180):
            return [Issue.of(IssueCode.INVALID_COORDINATES)], None
        issues.append(Issue.of(IssueCode.OUTSIDE_CHINA))
    open_rings = [_distinct_open(r) for r in rings]
    if not open_rings or any(_too_few_points(r) for r in open_rings):
        return [*issues, Issue.of(IssueCode.TOO_FEW_POINTS)], None
    dups = sum(_consecutive_duplicates(r[:-1] if len(r) > 1 and np.array_equal(r[0], r[-1]) else r)
               for r in rings)
    if dups:
        issues.append(Issue.of(IssueCode.DUPLICATE_VERTICES, count=dups))
    geom: BaseGeometry
    if isinstance(boundary, Polygon | MultiPolygon):
        geom = shapely.remove_repeated_points(boundary)
    else:
        polys = [Polygon(r) for r in open_rings]
        geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    valid = geom.is_valid
    areal = geom if valid else shapely.make_valid(geom)
    if _planar_area_m2(areal) < MIN_AREA_M2:
        return [*issues, Issue.of(IssueCode.ZERO_AREA)], None
    if not valid:
        issues.append(Issue.of(IssueCode.SELF_INTERSECTION, reason=shapely.is_valid_reason(geom)))
    area = geodesic_area(areal)
    spikes = [i for r in open_rings for i in _spike_vertices(r, spike_angle_deg)]
    if spikes:
        issues.append(Issue.of(IssueCode.SPIKE, vertices=spikes))
    if area > max_area_mu * M2_PER_MU:
        issues.append(Issue.of(IssueCode.TOO_LARGE, area_mu=area / M2_PER_MU, max_area_mu=max_area_mu))
    return issues, area


class RepairChange(StrEnum):
    """What ``repair_boundary`` did."""

    REMOVED_DUPLICATE_VERTICES = "removed_duplicate_vertices"
    CLOSED_RING = "closed_ring"
    ORIENTED = "oriented"  # exterior counter-clockwise, holes clockwise
    SPLIT_SELF_INTERSECTION = "split_self_intersection"  # make_valid, area preserved


@dataclass(frozen=True)
class RepairResult:
    """A repaired boundary (or None when it cannot be repaired safely), the changes and remaining issues, and the
    repaired boundary's geodesic area in m² (None without one)."""

    geometry: Polygon | MultiPolygon | None
    changes: list[RepairChange]
    issues: list[Issue]
    area_m2: float | None = None


def _signed_shoelace_area_m2(geom: Polygon | MultiPolygon) -> float:
    """|Σ signed ring areas| in m² (what a self-crossing ring 'means' without reinterpretation)."""
    from gis.area import WGS84_GEOD

    total = 0.0
    for poly in getattr(geom, "geoms", [geom]):
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            total += WGS84_GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])[0]
    return abs(total)


def repair_boundary(
    boundary: BaseGeometry | Coords, *, max_area_change: float = 0.005, max_area_mu: float = DEFAULT_MAX_AREA_MU,
    spike_angle_deg: float = DEFAULT_SPIKE_ANGLE_DEG,
) -> RepairResult:
    """Apply safe fixes to a WGS-84 lon/lat boundary and report them.

    Safe fixes: drop consecutive duplicate vertices, close the ring, orient rings (exterior CCW), and split
    a self-crossing ring with ``make_valid`` when the resulting area stays within ``max_area_change``
    (relative) of the ring's own signed area — e.g. a small GPS loop, never a bow-tie whose halves cancel.
    """
    changes: list[RepairChange] = []
    rings = _ring_coords(boundary)
    first = rings[0]
    if not isinstance(boundary, BaseGeometry) and len(first) and not np.array_equal(first[0], first[-1]):
        changes.append(RepairChange.CLOSED_RING)
    open_rings = [_distinct_open(r) for r in rings]
    if any(_consecutive_duplicates(r) for r in rings):
        changes.append(RepairChange.REMOVED_DUPLICATE_VERTICES)
    if not open_rings or any(_too_few_points(r) for r in open_rings):
        return RepairResult(None, changes, _validate(boundary, max_area_mu, spike_angle_deg)[0])
    if isinstance(boundary, MultiPolygon):
        geom: Polygon | MultiPolygon = shapely.remove_repeated_points(boundary)
    elif isinstance(boundary, Polygon):
        geom = shapely.remove_repeated_points(boundary)
    else:
        geom = Polygon(open_rings[0], open_rings[1:])
    if not geom.is_valid:
        fixed = shapely.make_valid(geom)
        polys = [g for g in shapely.get_parts(fixed) if isinstance(g, Polygon) and not g.is_empty]
        merged = polys[0] if len(polys) == 1 else MultiPolygon(polys) if polys else None
        reference = _signed_shoelace_area_m2(geom)
        unsafe = merged is None or reference <= 0
        if unsafe or abs(geodesic_area(merged) - reference) / reference > max_area_change:
            return RepairResult(None, changes, _validate(geom, max_area_mu, spike_angle_deg)[0])
        geom = merged
        changes.append(RepairChange.SPLIT_SELF_INTERSECTION)
    oriented = shapely.orient_polygons(geom)
    if not shapely.equals_exact(oriented, geom, tolerance=0.0):
        changes.append(RepairChange.ORIENTED)
    issues, area = _validate(oriented, max_area_mu, spike_angle_deg)
    return RepairResult(oriented, changes, issues, area)


@lru_cache(maxsize=1024)
def _aeqd(lat0: float, lon0: float) -> tuple[Transformer, Transformer]:
    proj = f"+proj=aeqd +lat_0={lat0:.2f} +lon_0={lon0:.2f} +datum=WGS84 +units=m"
    return (Transformer.from_crs("EPSG:4326", proj, always_xy=True),
            Transformer.from_crs(proj, "EPSG:4326", always_xy=True))


def local_projection(
    geom: BaseGeometry,
) -> tuple[Callable[[BaseGeometry], BaseGeometry], Callable[[BaseGeometry], BaseGeometry]]:
    """Functions taking lon/lat geometries to metres and back (azimuthal equidistant near the centroid).

    The centre is the centroid rounded to 0.01° (about 1 km): within a few km of its centre the projection's
    distortion is below 1e-8, and the plots of one area share two cached transformers instead of building
    them (~15 ms) for every plot a sync push or an import checks."""
    c = geom.centroid
    fwd, inv = _aeqd(round(c.y, 2), round(c.x, 2))

    def to_metres(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))

    def to_degrees(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))

    return to_metres, to_degrees


def simplify_track(
    boundary: Polygon | Coords, *, max_area_change: float = 0.005, max_vertices: int | None = None
) -> Polygon:
    """Thin a walked boundary (lon/lat degrees, thousands of GPS fixes) into a valid polygon whose geodesic
    area stays within ``max_area_change`` (relative, default 0.5 %) of the walked ring's area.

    The ring is simplified as a line (Douglas–Peucker in local metres, so GPS jitter loops go away) with the
    largest tolerance, doubling from 0.1 m, whose polygon is valid and keeps the area; ``max_vertices`` stops
    early once the ring is small enough.  Raises ``ValueError`` when no tolerance gives a valid polygon.
    """
    ring = _distinct_open(_ring_coords(boundary)[0] if not isinstance(boundary, Polygon)
                          else np.asarray(boundary.exterior.coords)[:, :2])
    if len(ring) < 3:
        raise ValueError("a track needs at least 3 distinct points")
    walked = Polygon(ring)
    reference = _signed_shoelace_area_m2(walked)
    to_metres, to_degrees = local_projection(walked)
    line_m = shapely.LineString(np.vstack([ring, ring[:1]]))
    line_m = to_metres(line_m)
    best: Polygon | None = walked if walked.is_valid else None
    tol = 0.1
    while tol < 10_000:
        coords = np.asarray(shapely.simplify(line_m, tol, preserve_topology=False).coords)
        if len(coords) < 4:
            break
        candidate = to_degrees(Polygon(coords))
        if candidate.is_valid:
            if abs(geodesic_area(candidate) - reference) > max_area_change * reference:
                break
            best = candidate
            if max_vertices is not None and len(coords) - 1 <= max_vertices:
                break
        tol *= 2
    if best is None:
        raise ValueError("the track crosses itself beyond what simplification can remove; repair it first")
    return shapely.orient_polygons(best)
