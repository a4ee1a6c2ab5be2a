"""Which county holds a point or a plot: an STRtree over the shipped county boundaries.

Geometries are WGS-84 degrees (the boundaries are CGCS2000, identical for this purpose), (lon, lat) order.
Answers are current GB/T 2260 six-digit county codes: boundary features with retired codes answer their
successor (Chongqing 500105/500112 → 500157), and features outside the county code table (Taiwan, Hong Kong,
Macau, Gansu 6297/98/99xx, Qinghai 632857) answer ``None``, as does anything outside every county.  The
mapping is the shipped table ``data/county_code_map.csv`` (built by ``python -m gis.simplify``).

Four new counties (653132, 653228, 653229, 659013) have no polygon: points there answer the county they were
carved from, and ``outside_county`` never flags plots of a county without a polygon.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

DATA_DIR = Path(__file__).resolve().parent / "data"
COUNTIES_FILE = DATA_DIR / "counties.geojson.gz"
DEFAULT_OUTSIDE_TOLERANCE_M = 30.0


def read_geojson_gz(path: Path) -> list[dict[str, Any]]:
    """Features of a (gzip'd when the name ends in .gz) GeoJSON FeatureCollection."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return list(json.loads(raw)["features"])


class CountyIndex:
    """Spatial index of county polygons (lon/lat degrees) answering current 6-digit county codes."""

    def __init__(
        self,
        geometries: Sequence[BaseGeometry],
        codes: Sequence[str | None],
        names: Sequence[str] | None = None,
    ) -> None:
        if len(geometries) != len(codes):
            raise ValueError("one code per geometry")
        self.geometries: NDArray[np.object_] = np.asarray(geometries, dtype=object)
        self.codes: NDArray[np.object_] = np.asarray(codes, dtype=object)
        self.names: NDArray[np.object_] = np.asarray(
            names if names is not None else [""] * len(codes), dtype=object
        )
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)
        self._by_code: dict[str, list[int]] = {}
        for i, code in enumerate(self.codes):
            if code:
                self._by_code.setdefault(code, []).append(i)

    @classmethod
    def from_file(cls, path: Path = COUNTIES_FILE) -> CountyIndex:
        """Load a county FeatureCollection with properties ``adcode`` (current code or null) and ``name``."""
        features = read_geojson_gz(path)
        return cls(
            [shape(f["geometry"]) for f in features],
            [f["properties"].get("adcode") or None for f in features],
            [f["properties"].get("name", "") for f in features],
        )

    @property
    def county_codes(self) -> set[str]:
        """Current codes that have at least one polygon."""
        return set(self._by_code)

    def geometry_of(self, code: str) -> BaseGeometry | None:
        """The county's (multi)polygon, or None if the county has no polygon."""
        idx = self._by_code.get(code)
        if not idx:
            return None
        return self.geometries[idx[0]] if len(idx) == 1 else shapely.union_all(self.geometries[idx])

    def lookup(self, geometry: BaseGeometry | tuple[float, float]) -> str | None:
        """Code of the county holding a point, or holding the largest share of a plot; None outside.

        Shares are compared in planar degrees², which is proportional to area over a plot's extent.
        """
        geom = shapely.Point(geometry) if isinstance(geometry, tuple) else geometry
        hits = self.tree.query(geom, predicate="intersects")
        if len(hits) == 0:
            return None
        if len(hits) == 1 or shapely.get_dimensions(geom) < 2:
            return self._code_at(int(np.min(hits)))
        shares: dict[str | None, float] = {}
        pieces = shapely.intersection(self.geometries[hits], geom)
        for i, area in zip(hits, shapely.area(pieces), strict=True):
            code = self.codes[i]
            shares[code] = shares.get(code, 0.0) + float(area)
        best = max(shares.items(), key=lambda kv: (kv[1], kv[0] or ""))
        return best[0]

    def _code_at(self, i: int) -> str | None:
        code = self.codes[i]
        return str(code) if code else None

    def lookup_many(self, points: ArrayLike) -> list[str | None]:
        """Codes for many points at once: an (n, 2) array of (lon, lat) or an array of shapely Points.

        One bulk STRtree query; a point on a shared border answers the feature with the lowest index.
        """
        arr = np.asarray(points)
        pts = shapely.points(arr) if arr.dtype != object else arr
        pt_idx, geom_idx = self.tree.query(pts, predicate="intersects")
        first_geom = np.full(len(pts), -1, dtype=np.int64)
        # keep the lowest feature index per point: write in descending order so the smallest wins
        order = np.lexsort((-geom_idx, pt_idx))
        first_geom[pt_idx[order]] = geom_idx[order]
        out: list[str | None] = [None] * len(pts)
        codes = self.codes
        for p in np.nonzero(first_geom >= 0)[0]:
            code = codes[first_geom[p]]
            out[p] = str(code) if code else None
        return out

    def outside_county(
        self, geometry: BaseGeometry, code: str, tolerance_m: float = DEFAULT_OUTSIDE_TOLERANCE_M
    ) -> bool:
        """True if part of ``geometry`` lies farther than ``tolerance_m`` metres outside county ``code``.

        Counties with no polygon are never flagged.  Distances are measured in a local azimuthal equidistant
        projection; note the shipped borders are generalised (see data/README.md), coarser than GPS.
        """
        county = self.geometry_of(code)
        if county is None:
            return False
        if county.covers(geometry):
            return False
        from gis.validate import local_projection

        pad = 3 * tolerance_m / 90_000.0 + 0.01
        x0, y0, x1, y1 = geometry.bounds
        near = shapely.clip_by_rect(county, x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        if near.is_empty:
            return True
        to_metres, _ = local_projection(geometry)
        outside = shapely.difference(to_metres(geometry), shapely.buffer(to_metres(near), tolerance_m))
        return bool(not outside.is_empty and (outside.area > 0.01 or shapely.get_dimensions(outside) < 2))
