"""Coordinate reference systems used in China: WGS-84, GCJ-02, BD-09 and CGCS2000.

All coordinates are geographic degrees in (lon, lat) axis order.

* ``wgs84``    EPSG:4326, what phone GNSS gives and what we store.
* ``cgcs2000`` EPSG:4490, China's official datum; it differs from WGS-84 by centimetres and pyproj
  transforms it with a null (ballpark) transformation, so it is an identity for plots.
* ``gcj02``    the obfuscated datum of AMap/Tencent maps.  The forward transform is the widely published
  algorithm (Krasovsky ellipsoid constants ``a = 6378245``, ``ee = 0.00669342162296594323``); outside
  its rectangular "out of China" box (lon 72.004..137.8347, lat 0.8293..55.8271) GCJ-02 equals WGS-84.
  The inverse has no closed form: it is solved by fixed-point iteration to better than 1e-9 degrees.
* ``bd09``     Baidu's datum, a further rotation/offset of GCJ-02; its inverse is iterated as well.

>>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
>>> round(float(lon), 8), round(float(lat), 8)
(116.4102445, 39.91640428)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Literal, TypeVar, cast

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

CrsName = Literal["wgs84", "gcj02", "bd09", "cgcs2000"]
CRS_NAMES: tuple[CrsName, ...] = ("wgs84", "gcj02", "bd09", "cgcs2000")

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02 (m)
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30

Floats = NDArray[np.float64]
G = TypeVar("G", bound=BaseGeometry)


class UnknownCrsError(ValueError):
    """A CRS name outside ``CRS_NAMES``."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown CRS {name!r}; expected one of {', '.join(CRS_NAMES)}")
        self.name = name


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where (lon, lat) degrees fall outside the GCJ-02 algorithm's box (where GCJ-02 = WGS-84)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    return cast(NDArray[np.bool_], (x < 72.004) | (x > 137.8347) | (y < 0.8293) | (y > 55.8271))


def _gcj_offset(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """GCJ-02 minus WGS-84 in degrees at WGS-84 (lon, lat); zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x.astype(float), y.astype(float)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS-84 → GCJ-02, degrees (lon, lat); scalars or arrays."""
    x, y = _as_arrays(lon, lat)
    dx, dy = _gcj_offset(x, y)
    return x + dx, y + dy


def _iterate_inverse(
    forward: Callable[[Floats, Floats], tuple[Floats, Floats]], lon: Floats, lat: Floats
) -> tuple[Floats, Floats]:
    """Solve forward(w) = (lon, lat) for w by fixed-point iteration (the forward map is near identity)."""
    wx, wy = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(wx, wy)
        ex, ey = fx - lon, fy - lat
        wx, wy = wx - ex, wy - ey
        if ex.size == 0 or max(float(np.max(np.abs(ex))), float(np.max(np.abs(ey)))) < _INVERSE_TOL_DEG:
            break
    return wx, wy


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """GCJ-02 → WGS-84, degrees (lon, lat); iterative, accurate to ~1e-10° inside China."""
    x, y = _as_arrays(lon, lat)
    return _iterate_inverse(wgs84_to_gcj02, x, y)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """GCJ-02 → BD-09, degrees (lon, lat) (Baidu's published rotation and offset)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """BD-09 → GCJ-02, degrees (lon, lat); the usual closed-form guess refined by iteration."""
    x, y = _as_arrays(lon, lat)
    return _iterate_inverse(gcj02_to_bd09, x, y)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS-84 → BD-09, degrees (lon, lat)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """BD-09 → WGS-84, degrees (lon, lat); both inverses iterative."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


@lru_cache(maxsize=2)
def _cgcs_transformer(to_wgs84: bool) -> Transformer:
    src, dst = ("EPSG:4490", "EPSG:4326") if to_wgs84 else ("EPSG:4326", "EPSG:4490")
    return Transformer.from_crs(src, dst, always_xy=True)


def cgcs2000_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """CGCS2000 (EPSG:4490) → WGS-84 (EPSG:4326) through pyproj (a null transformation in practice)."""
    x, y = _as_arrays(lon, lat)
    ox, oy = _cgcs_transformer(True).transform(x, y)
    return np.asarray(ox, dtype=float), np.asarray(oy, dtype=float)


def wgs84_to_cgcs2000(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS-84 (EPSG:4326) → CGCS2000 (EPSG:4490) through pyproj."""
    x, y = _as_arrays(lon, lat)
    ox, oy = _cgcs_transformer(False).transform(x, y)
    return np.asarray(ox, dtype=float), np.asarray(oy, dtype=float)


_TO_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], tuple[Floats, Floats]]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
    "cgcs2000": cgcs2000_to_wgs84,
}
_FROM_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], tuple[Floats, Floats]]] = {
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
    "cgcs2000": wgs84_to_cgcs2000,
}


def check_crs(name: str) -> CrsName:
    """Return ``name`` as a ``CrsName`` or raise ``UnknownCrsError``."""
    if name not in CRS_NAMES:
        raise UnknownCrsError(name)
    return cast(CrsName, name)


def convert_coords(lon: ArrayLike, lat: ArrayLike, source: str, target: str) -> tuple[Floats, Floats]:
    """Convert degree arrays (lon, lat) from ``source`` to ``target`` CRS (names in ``CRS_NAMES``)."""
    src, dst = check_crs(source), check_crs(target)
    x, y = _as_arrays(lon, lat)
    if src == dst:
        return x, y
    if src != "wgs84":
        x, y = _TO_WGS84[src](x, y)
    if dst != "wgs84":
        x, y = _FROM_WGS84[dst](x, y)
    return x, y


def convert_point(lon: float, lat: float, source: str, target: str) -> tuple[float, float]:
    """Convert one (lon, lat) point in degrees; returns plain floats."""
    x, y = convert_coords(lon, lat, source, target)
    return float(x), float(y)


def convert_geometry(geometry: G, source: str, target: str) -> G:
    """Convert every vertex of a shapely geometry (lon, lat degrees) from ``source`` to ``target``.

    Z values are dropped.  Works on any geometry type; vectorised over all vertices at once.
    """
    src, dst = check_crs(source), check_crs(target)
    if src == dst:
        return geometry

    def _fn(xy: Floats) -> Floats:
        x, y = convert_coords(xy[:, 0], xy[:, 1], src, dst)
        return np.column_stack([x, y])

    return cast(G, shapely.transform(geometry, _fn))
