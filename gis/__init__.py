"""Pure geometry for yuanxian: CRS conversion, validation/repair, geodesic area, region lookup, file
import/export and SVG maps.  No database, no Flask, nothing else of ours.

Conventions: coordinates are degrees in (lon, lat) axis order; stored geometries are WGS-84 (EPSG:4326);
areas are m² (show 亩 with ``gis.area.m2_to_mu``), lengths metres.  Importing ``gis`` is cheap: shapely,
pyproj and the shipped boundaries load on first use.

>>> import gis
>>> from shapely import box
>>> round(gis.geodesic_area(box(116, 39, 116.01, 39.01)))
961620
>>> gis.county_index().lookup(box(116.39, 39.90, 116.40, 39.91))
'110101'
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from gis.regions import CountyIndex

G = TypeVar("G", bound="BaseGeometry")

__all__ = ["geodesic_area", "convert", "county_index"]


def geodesic_area(geometry: BaseGeometry) -> float:
    """Area in m² on the WGS-84 ellipsoid of a (multi)polygon in WGS-84 lon/lat degrees.

    Any ring orientation; holes subtract; points and lines give 0.
    """
    from gis.area import geodesic_area as _area

    return _area(geometry)


def convert(geometry: G, source_crs: str, target_crs: str) -> G:
    """Convert a shapely geometry's (lon, lat) degrees between ``"wgs84"``, ``"gcj02"``, ``"bd09"`` and
    ``"cgcs2000"``.  GCJ-02/BD-09 → WGS-84 is iterative (≤ 1e-9° inside China); outside China GCJ-02 = WGS-84.
    """
    from gis.crs import convert_geometry

    return convert_geometry(geometry, source_crs, target_crs)


@lru_cache(maxsize=1)
def county_index() -> CountyIndex:
    """The shipped counties' index (loaded once, ~1 s): ``.lookup(geometry)`` → current 6-digit GB/T 2260
    county code, or ``None`` outside China / outside the code table; ``.lookup_many(points)`` for bulk."""
    from gis.regions import CountyIndex

    return CountyIndex.from_file()
