from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Polygon, box

import gis
from gis.crs import (
    UnknownCrsError,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert_coords,
    convert_point,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

china_lon = st.floats(73.5, 135.0, allow_nan=False)
china_lat = st.floats(18.0, 53.5, allow_nan=False)
NAMES = ["wgs84", "gcj02", "bd09", "cgcs2000"]


# Published test vectors of the widely used implementation wandergis/coordtransform (test/app.js):
#   wgs84togcj02(116.404, 39.915) -> [116.41024449916938, 39.91640428150164]
#   gcj02tobd09(116.404, 39.915)  -> [116.41036949371029, 39.92133699351021]
#   bd09togcj02(116.404, 39.915)  -> [116.39762729119315, 39.90865673957631]   (closed-form approximation)
def test_wgs84_to_gcj02__published_sample__matches_to_1e9():
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_gcj02_to_bd09__published_sample__matches_to_1e9():
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-9)
    assert lat == pytest.approx(39.92133699351021, abs=1e-9)


def test_bd09_to_gcj02__published_sample__agrees_with_closed_form_within_1e6():
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.39762729119315, abs=1e-6)
    assert lat == pytest.approx(39.90865673957631, abs=1e-6)
    # and, unlike the closed form, maps back exactly
    back = gcj02_to_bd09(lon, lat)
    assert np.allclose(back, (116.404, 39.915), atol=1e-9)


def test_gcj02_to_wgs84__published_sample__inverts_forward_to_1e9():
    lon, lat = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    assert lon == pytest.approx(116.404, abs=1e-9)
    assert lat == pytest.approx(39.915, abs=1e-9)


def test_wgs84_to_gcj02__beijing__offset_is_hundreds_of_metres():
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    dx = (lon - 116.404) * 111_320 * np.cos(np.radians(39.915))
    dy = (lat - 39.915) * 110_540
    assert 100 < np.hypot(dx, dy) < 700


@pytest.mark.parametrize("point", [(2.35, 48.85), (-74.0, 40.7), (140.0, 35.0), (100.0, 0.5)])
def test_wgs84_to_gcj02__outside_china__is_identity(point):
    assert out_of_china(*point)
    assert convert_point(*point, "wgs84", "gcj02") == point
    assert convert_point(*point, "gcj02", "wgs84") == point


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip__inside_china__within_1e7(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert abs(back[0] - lon) <= 1e-7 and abs(back[1] - lat) <= 1e-7
    fwd = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert abs(fwd[0] - lon) <= 1e-7 and abs(fwd[1] - lat) <= 1e-7


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trip__inside_china__within_1e7(lon, lat):
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert abs(back[0] - lon) <= 1e-7 and abs(back[1] - lat) <= 1e-7


@settings(max_examples=100, deadline=None)
@given(china_lon, china_lat, st.sampled_from(NAMES), st.sampled_from(NAMES))
def test_convert_coords__any_pair__round_trips_within_1e7(lon, lat, a, b):
    x, y = convert_coords(*convert_coords(lon, lat, a, b), b, a)
    assert abs(x - lon) <= 1e-7 and abs(y - lat) <= 1e-7


def test_convert__cgcs2000__is_identity_for_plots():
    assert convert_point(116.4, 39.9, "cgcs2000", "wgs84") == pytest.approx((116.4, 39.9), abs=1e-9)


def test_convert__polygon__converts_every_vertex_like_points():
    poly = box(116.3, 39.9, 116.31, 39.91)
    out = gis.convert(poly, "wgs84", "gcj02")
    assert isinstance(out, Polygon)
    xs, ys = np.asarray(poly.exterior.coords).T
    gx, gy = wgs84_to_gcj02(xs, ys)
    assert np.allclose(np.asarray(out.exterior.coords), np.column_stack([gx, gy]), atol=0, rtol=0)
    back = gis.convert(out, "gcj02", "wgs84")
    assert np.allclose(np.asarray(back.exterior.coords), np.asarray(poly.exterior.coords), atol=1e-9)


def test_convert__unknown_crs__raises_typed_error():
    with pytest.raises(UnknownCrsError):
        gis.convert(box(0, 0, 1, 1), "wgs84", "epsg:3857")
