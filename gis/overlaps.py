"""Detect demo plots that overlap other plots of the same season (the same land counted twice).

Geometries are WGS-84 degrees, (lon, lat); overlap areas are geodesic m².
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.area import geodesic_areas


@dataclass(frozen=True)
class PlotRef:
    """A plot to check: its id, boundary (lon/lat) and season (any hashable key, e.g. "2025-summer")."""

    id: str
    geometry: BaseGeometry
    season: Hashable


@dataclass(frozen=True)
class Overlap:
    """Two plots of one season whose interiors overlap by ``area_m2`` square metres (``a`` < ``b``)."""

    a: str
    b: str
    season: Hashable
    area_m2: float


def find_overlaps(plots: Sequence[PlotRef], *, min_area_m2: float = 1.0) -> list[Overlap]:
    """All pairs of same-season plots overlapping by at least ``min_area_m2`` m², largest first.

    One bulk STRtree query finds candidate pairs ('intersects'); plots that only touch along an edge have no
    overlap area and are not reported.
    """
    if len(plots) < 2:
        return []
    geoms = np.array([p.geometry for p in plots], dtype=object)
    seasons = np.array([hash(p.season) for p in plots])
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = (left < right) & (seasons[left] == seasons[right])
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    keep = [plots[i].season == plots[j].season for i, j in zip(left, right, strict=True)]
    left, right = left[keep], right[keep]
    pieces = shapely.intersection(geoms[left], geoms[right])
    areas = geodesic_areas(pieces)
    found = [
        Overlap(min(plots[i].id, plots[j].id), max(plots[i].id, plots[j].id), plots[i].season, float(a))
        for i, j, a in zip(left, right, areas, strict=True)
        if a >= min_area_m2
    ]
    found.sort(key=lambda o: (-o.area_m2, o.a, o.b))
    return found
