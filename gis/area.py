"""Geodesic area and length on the WGS-84 ellipsoid.

Input geometries are in WGS-84 degrees, axis order (lon, lat).  Areas are in square metres, lengths in
metres.  Ring orientation does not matter: each ring's area is taken as an absolute value, exterior rings
add and holes subtract, and the parts of multi-geometries add up.

>>> from shapely import box
>>> round(geodesic_area(box(116, 39, 116.01, 39.01)))
961620
>>> round(m2_to_mu(10000), 6)
15.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

WGS84_GEOD = Geod(ellps="WGS84")
M2_PER_MU = 10000.0 / 15.0  # 1 亩 = 10000/15 m² exactly (15 亩 = 1 公顷)
M2_PER_HECTARE = 10000.0


def m2_to_mu(area_m2: float) -> float:
    """Square metres → 亩 (mu), 1 亩 = 10000/15 m²."""
    return area_m2 / M2_PER_MU


def mu_to_m2(area_mu: float) -> float:
    """亩 (mu) → square metres."""
    return area_mu * M2_PER_MU


def m2_to_hectares(area_m2: float) -> float:
    """Square metres → hectares (公顷)."""
    return area_m2 / M2_PER_HECTARE


# Small rings (plots) are measured in one vectorised pass on the authalic sphere: the ellipsoid maps onto it
# area for area (latitude → authalic latitude), and a ring's area there is the sum of its edges' spherical
# excess against the equator (exact for great-circle edges). A geodesic edge is not quite a great circle after
# the mapping; within SMALL_RING_DEG that differs from Karney's geodesic area (pyproj) by under 0.5 m² (a few
# parts in a million), and pyproj costs ~20 µs a call, most of the time for 100,000 plots. Larger rings go to pyproj.
SMALL_RING_DEG = 0.02
_E2 = WGS84_GEOD.f * (2 - WGS84_GEOD.f)
_E = float(np.sqrt(_E2))


def _q(sin_phi: NDArray[np.float64]) -> NDArray[np.float64]:
    """Snyder's q(φ) (Map Projections, eq. 3-12): the authalic latitude β has sin β = q(φ) / q(90°)."""
    es = _E * sin_phi
    return (1 - _E2) * (sin_phi / (1 - es * es) - np.log((1 - es) / (1 + es)) / (2 * _E))


_QP = float(_q(np.array([1.0]))[0])
_AUTHALIC_R2 = WGS84_GEOD.a ** 2 * _QP / 2  # the authalic sphere's radius, squared


def _small_ring_areas(x: NDArray[np.float64], y: NDArray[np.float64], bounds: NDArray[np.intp]
                      ) -> NDArray[np.float64]:
    """Absolute area (m²) of each ring of the flat arrays ``x``, ``y`` (degrees), ring i at bounds[i]:bounds[i+1]."""
    lam = np.radians(x)
    t = np.tan(np.arcsin(np.clip(_q(np.sin(np.radians(y))) / _QP, -1.0, 1.0)) / 2)  # tan(β/2)
    excess = 2 * np.arctan(np.tan((lam[1:] - lam[:-1]) / 2) * (t[1:] + t[:-1]) / (1 + t[1:] * t[:-1]))
    # the edge from the last vertex of one ring to the first of the next is not an edge: drop it from the sums
    excess = np.append(excess, 0.0)
    excess[bounds[1:-1] - 1] = 0.0
    return np.abs(np.add.reduceat(excess, bounds[:-1])) * _AUTHALIC_R2


def _ring_areas(rings: NDArray[np.object_]) -> NDArray[np.float64]:
    """Absolute geodesic area (m²) of each linear ring, in one pass over a flat coordinate array."""
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    bounds = np.searchsorted(owner, np.arange(len(rings) + 1))
    x = np.ascontiguousarray(coords[:, 0])
    y = np.ascontiguousarray(coords[:, 1])
    out = np.zeros(len(rings))
    valid = np.diff(bounds) >= 4
    if not valid.any():
        return out
    box = shapely.bounds(rings)
    small = valid & (box[:, 2] - box[:, 0] <= SMALL_RING_DEG) & (box[:, 3] - box[:, 1] <= SMALL_RING_DEG)
    if small.any():
        # the small rings' coordinates, back to back, and where each starts
        pick = np.repeat(small, np.diff(bounds))
        lengths = np.diff(bounds)[small]
        sub_bounds = np.concatenate([[0], np.cumsum(lengths)])
        out[small] = _small_ring_areas(x[pick], y[pick], sub_bounds)
    area_of = WGS84_GEOD.polygon_area_perimeter
    for i in np.flatnonzero(valid & ~small):
        start, end = bounds[i], bounds[i + 1]
        out[i] = abs(area_of(x[start:end], y[start:end])[0])
    return out


def geodesic_areas(geometries: Sequence[BaseGeometry | None] | NDArray[np.object_]) -> NDArray[np.float64]:
    """Geodesic area in m² of each geometry (WGS-84 degrees, lon/lat); 0 for non-areal or empty ones.

    Vectorised: all polygons are split into rings and each ring measured once on the WGS-84 ellipsoid.
    """
    geoms = np.asarray(geometries, dtype=object)
    result = np.zeros(len(geoms))
    if len(geoms) == 0:
        return result
    polys = geoms.copy()
    polys[shapely.is_missing(polys)] = shapely.Polygon()
    parts, part_owner = shapely.get_parts(polys, return_index=True)
    keep = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts, part_owner = parts[keep], part_owner[keep]
    if len(parts) == 0:
        return result
    rings, ring_owner = shapely.get_rings(parts, return_index=True)
    ring_area = _ring_areas(rings)
    # the first ring of each polygon is its exterior: + ; the rest are holes: -
    first = np.ones(len(rings), dtype=bool)
    first[1:] = ring_owner[1:] != ring_owner[:-1]
    signed = np.where(first, ring_area, -ring_area)
    part_area = np.bincount(ring_owner, weights=signed, minlength=len(parts))
    np.add.at(result, part_owner, part_area)
    return result


def geodesic_area(geometry: BaseGeometry) -> float:
    """Geodesic area in m² of a (multi)polygon in WGS-84 degrees (lon, lat); any ring orientation.

    Points and lines have zero area.  Holes are subtracted. One geometry goes to pyproj ring by ring (Karney's
    exact area, ~40 µs a ring): the vectorised pass of :func:`geodesic_areas` pays ~300 µs of array set-up for a
    single plot, the largest part of checking a pushed boundary.
    """
    if geometry is None or geometry.is_empty:
        return 0.0
    area_of = WGS84_GEOD.polygon_area_perimeter
    total = 0.0
    for part in shapely.get_parts(geometry):
        if not isinstance(part, shapely.Polygon):
            continue
        for k, ring in enumerate((part.exterior, *part.interiors)):
            xy = shapely.get_coordinates(ring)
            if len(xy) < 4:
                continue
            area = abs(area_of(xy[:, 0], xy[:, 1])[0])
            total += -area if k else area
    return total


def geodesic_length(geometry: BaseGeometry) -> float:
    """Geodesic length in metres of lines, or the perimeter of polygons (holes included), WGS-84 lon/lat."""
    total = 0.0
    for part in shapely.get_parts(np.asarray([geometry], dtype=object)):
        if isinstance(part, shapely.Polygon):
            lines: Iterable[BaseGeometry] = [part.exterior, *part.interiors]
        else:
            lines = [part]
        for line in lines:
            coords = shapely.get_coordinates(line)
            if len(coords) >= 2:
                total += float(WGS84_GEOD.line_length(coords[:, 0], coords[:, 1]))
    return total
