"""Which county holds a point or a plot, and is a plot outside its county: one function family, two engines.

PostgreSQL: SQL over ``county_piece`` (``catalog.ddl``: the current county-equivalent divisions' boundaries from
``division_boundary``, cut into 0.25° grid cells and kept in step by a trigger). SQLite: ``gis.county_index()``,
shapely + STRtree over the same shipped boundaries. Both answer current 6-digit GB/T 2260 codes through the same
code map (``gis/data/county_code_map.csv``): ``load_boundaries`` stores each boundary under the current code its
features map to (retired 500105/500112 → 500157), and areas outside the code table (Taiwan, Hong Kong, Macau, a
few special areas) have no stored boundary, so they answer ``None`` like the sea and abroad.

Geometries are shapely, WGS-84 degrees in (lon, lat) order; ``(lon, lat)`` tuples are taken as points.

Where the engines may differ (edge cases; the agreement test's 4,800 points and 300 plots meet none of them):

* a point exactly on a border between counties answers the lowest code here, ``gis`` the first feature;
* plot shares are geodesic m² here and planar degrees² in ``gis``: near-ties (within ~1e-4 relative) may differ;
* a plot whose largest share lies in Hong Kong/Macau answers its mainland neighbour here (no stored boundary), and
  ``None`` in ``gis``.

Overlaps between plots are ``catalog.field_rules.plot_overlaps``'s (SQL over ``demo_plot`` and its GiST index on
PostGIS, ``gis.overlaps.find_overlaps`` on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import numpy as np
import shapely
from numpy.typing import ArrayLike
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

import gis
from catalog.ddl import COUNTY_CELL_DEG

DEFAULT_OUTSIDE_TOLERANCE_M = 30.0
# Points per query: large batches amortise the scan of county_piece in the merge/hash join.
BATCH = 50_000

Geometry: TypeAlias = "BaseGeometry | tuple[float, float]"

# The points go as one WKB multipoint (shapely writes it in C; a float8[] pair cost the client as much CPU as the
# server) and come back as two arrays in one row. They meet the pieces of their grid cell in a hash join, each
# point then tested against its cell's one or two pieces: a GiST or cell-index probe per point costs ~17 µs,
# ~2 s for 100 k points, the hash join ~0.7 s. The points are a materialised CTE and "IS TRUE" keeps
# ST_Intersects from offering an index path; _bulk_plan rules out nested loops and merge joins (the planner
# prefers them without statistics on county_piece). min(): the lowest code on a border.
_POINTS_SQL = text(f"""
WITH p AS MATERIALIZED (
  SELECT d.path[1] AS i, d.geom AS g,
         floor(ST_X(d.geom) / {COUNTY_CELL_DEG})::int AS cx, floor(ST_Y(d.geom) / {COUNTY_CELL_DEG})::int AS cy
  FROM ST_Dump(ST_GeomFromWKB(:wkb, 4326)) AS d
), hit AS (
  SELECT p.i, min(b.code) AS code
  FROM county_piece b JOIN p ON b.cx = p.cx AND b.cy = p.cy AND ST_Intersects(b.geom, p.g) IS TRUE
  GROUP BY p.i
)
SELECT array_agg(i), array_agg(code) FROM hit
""")


# Lines and points (any dimension < 2): the lowest code touched, as for a point.
_TOUCHED_SQL = text("""
SELECT min(b.code) FROM county_piece b WHERE ST_Intersects(b.geom, ST_GeomFromWKB(:wkb, 4326))
""")

# A plot: the county with the largest geodesic share; on equal shares the highest code, as gis does.
_SHARE_SQL = text("""
SELECT b.code
FROM county_piece b
WHERE ST_Intersects(b.geom, ST_GeomFromWKB(:wkb, 4326))
GROUP BY b.code
ORDER BY sum(ST_Area(ST_Intersection(b.geom, ST_GeomFromWKB(:wkb, 4326))::geography)) DESC, b.code DESC
LIMIT 1
""")

# Mirrors gis.CountyIndex.outside_county, for each plot of a list: the county clipped near the plot, both in the
# plot's local azimuthal equidistant projection (metres), buffered by the tolerance; what of the plot is left
# outside is flagged. A plot the county covers is not projected at all, as there: PostGIS builds a PROJ
# transformation for each ``ST_Transform`` to a proj string (~0.5 ms of the database's CPU each, two a plot).
# ``outside``: NULL when no piece of the county is near the plot (flagged, if the county has a polygon).
_OUTSIDE_SQL = text("""
SELECT plot.i,
       EXISTS (SELECT 1 FROM county_piece WHERE code = plot.code) AS has_polygon,
       CASE WHEN near.g IS NULL THEN NULL
            WHEN ST_Covers(near.g, plot.g) THEN false
            ELSE (SELECT CASE WHEN ST_Dimension(r.g) = 2 THEN ST_Area(r.g) > 0.01 ELSE NOT ST_IsEmpty(r.g) END
                  FROM (SELECT ST_Difference(ST_Transform(plot.g, plot.proj),
                                             ST_Buffer(ST_Transform(c.g, plot.proj), :tol)) AS g
                        FROM (SELECT ST_Intersection(near.g, ST_Expand(ST_Envelope(plot.g), :pad)) AS g) c
                        WHERE NOT ST_IsEmpty(c.g)) r)
       END AS outside
FROM (SELECT n.i, n.code, n.proj, ST_GeomFromWKB(n.wkb, 4326) AS g
      FROM unnest(CAST(:i AS int[]), CAST(:wkbs AS bytea[]), CAST(:codes AS text[]), CAST(:projs AS text[]))
           AS n(i, wkb, code, proj)) plot
CROSS JOIN LATERAL (
  SELECT ST_Union(b.geom) AS g FROM county_piece b WHERE b.code = plot.code AND b.geom && ST_Expand(plot.g, :pad)
) near
""")


def _on_postgis(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _as_geometry(geometry: Geometry) -> BaseGeometry:
    return shapely.Point(geometry) if isinstance(geometry, tuple) else geometry


_BULK_PLAN = {"jit": "off", "enable_nestloop": "off", "enable_mergejoin": "off"}


@contextmanager
def _bulk_plan(session: Session) -> Iterator[None]:
    """The bulk lookup's plan settings (:data:`_BULK_PLAN`) for its query only: a hash join, and no JIT (the cost
    estimate crosses jit_above_cost; compiling costs ~100 ms a query and saves nothing). The caller's settings are
    back for the rest of its transaction."""
    previous = {name: session.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar()
                for name in _BULK_PLAN}
    for name, value in _BULK_PLAN.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    yield
    for name, value in previous.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})


def county_of(session: Session, geometry: Geometry) -> str | None:
    """Current 6-digit code of the county holding a point, or holding the largest share of a plot; None in the
    sea, abroad, or in areas outside the code table.

    ``geometry`` is WGS-84 (lon, lat) degrees. Plot shares are geodesic m² on PostGIS.

    >>> county_of(session, (116.3975, 39.9087))  # 天安门
    '110101'
    >>> county_of(session, (2.35, 48.85)) is None  # Paris
    True
    """
    geom = _as_geometry(geometry)
    if not _on_postgis(session):
        return gis.county_index().lookup(geom)
    if geom.is_empty:
        return None
    params = {"wkb": shapely.to_wkb(geom)}
    sql = _SHARE_SQL if shapely.get_dimensions(geom) == 2 else _TOUCHED_SQL
    code = session.execute(sql, params).scalar()
    return str(code) if code is not None else None


def counties_of(session: Session, points: ArrayLike) -> list[str | None]:
    """Codes for many points at once, in order: an (n, 2) array of (lon, lat) degrees or shapely Points.

    A point exactly on a border answers the lowest of the codes there on PostGIS (``gis``: its first feature).
    """
    arr = np.asarray(points)
    if arr.size == 0:
        return []
    if arr.dtype == object:
        arr = shapely.get_coordinates(arr)
    if not _on_postgis(session):
        return gis.county_index().lookup_many(arr)
    arr = np.asarray(arr, dtype=np.float64).reshape(-1, 2)
    out: list[str | None] = [None] * len(arr)
    with _bulk_plan(session):
        for start in range(0, len(arr), BATCH):
            wkb = shapely.to_wkb(shapely.multipoints(arr[start : start + BATCH]))
            indexes, codes = session.execute(_POINTS_SQL, {"wkb": wkb}).one()
            for i, code in zip(indexes or (), codes or (), strict=True):
                out[start + i - 1] = code  # ST_Dump's path counts from 1
    return out


def outside_county(
    session: Session, geometry: Geometry, county_code: str, tolerance_m: float = DEFAULT_OUTSIDE_TOLERANCE_M
) -> bool:
    """True if part of ``geometry`` lies farther than ``tolerance_m`` metres outside county ``county_code``.

    A county without a polygon (retired codes, the four counties newer than the boundaries) is never flagged.
    Distances are metres in an azimuthal equidistant projection at the plot's centroid, on both engines. The
    shipped borders are generalised (hundreds of metres in places; ``gis/data/README.md``), coarser than GPS.
    """
    return outside_counties(session, [(geometry, county_code)], tolerance_m)[0]


def outside_counties(
    session: Session, plots: list[tuple[Geometry, str]], tolerance_m: float = DEFAULT_OUTSIDE_TOLERANCE_M
) -> list[bool]:
    """:func:`outside_county` for each (geometry, county code) of ``plots``, in order: one query on PostGIS."""
    geoms = [_as_geometry(g) for g, _code in plots]
    if not _on_postgis(session):
        index = gis.county_index()
        return [index.outside_county(g, code, tolerance_m) for g, (_g, code) in zip(geoms, plots, strict=True)]
    if not plots:
        return []
    centroids = [g.centroid for g in geoms]
    params: dict[str, Any] = {
        "i": list(range(len(plots))),
        "wkbs": [shapely.to_wkb(g) for g in geoms],
        "codes": [code for _g, code in plots],
        # the same clip margin and projection as gis, so the engines agree up to floating point
        "projs": [f"+proj=aeqd +lat_0={c.y:.7f} +lon_0={c.x:.7f} +datum=WGS84 +units=m" for c in centroids],
        "tol": float(tolerance_m),
        "pad": 3 * tolerance_m / 90_000.0 + 0.01,
    }
    out = [False] * len(plots)
    # reads county borders only: the records waiting in the session do not matter (no flush; Core, not the ORM)
    for i, has_polygon, outside in session.connection().execute(_OUTSIDE_SQL, params):
        out[i] = bool(has_polygon) and (True if outside is None else bool(outside))
    return out
