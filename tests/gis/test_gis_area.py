from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiPolygon, Point, Polygon, box

import gis
from gis.area import (
    SMALL_RING_DEG,
    WGS84_GEOD,
    geodesic_area,
    geodesic_areas,
    geodesic_length,
    m2_to_hectares,
    m2_to_mu,
    mu_to_m2,
)


def test_geodesic_area__box_at_39n__is_961620_m2():
    assert gis.geodesic_area(box(116, 39, 116.01, 39.01)) == pytest.approx(961_620, abs=1)


def test_geodesic_area__clockwise_ring__is_positive_and_equal():
    b = box(116, 39, 116.01, 39.01)
    assert geodesic_area(b.reverse()) == pytest.approx(geodesic_area(b), rel=1e-12)
    assert geodesic_area(Polygon(list(b.exterior.coords)[::-1])) > 0


def test_geodesic_area__hole__is_subtracted_whatever_its_orientation():
    outer, hole = box(116, 39, 116.01, 39.01), box(116.002, 39.002, 116.004, 39.004)
    expected = geodesic_area(outer) - geodesic_area(hole)
    for ring in (hole.exterior.coords, list(hole.exterior.coords)[::-1]):
        assert geodesic_area(Polygon(outer.exterior.coords, [ring])) == pytest.approx(expected, rel=1e-12)


def test_geodesic_area__multipolygon__sums_parts():
    a, b = box(116, 39, 116.01, 39.01), box(117, 30, 117.02, 30.01)
    assert geodesic_area(MultiPolygon([a, b])) == pytest.approx(geodesic_area(a) + geodesic_area(b), rel=1e-12)


def test_geodesic_area__points_lines_and_empty__are_zero():
    assert geodesic_area(Point(116, 39)) == 0
    assert geodesic_area(LineString([(116, 39), (116.1, 39)])) == 0
    assert geodesic_area(Polygon()) == 0


def test_geodesic_areas__batch__matches_single_calls():
    geoms = [box(100 + i, 30, 100.01 + i, 30.02) for i in range(5)] + [None, Point(1, 1)]
    got = geodesic_areas(geoms)
    assert list(got[:5]) == pytest.approx([geodesic_area(g) for g in geoms[:5]])
    assert list(got[5:]) == [0, 0]


@settings(max_examples=300, deadline=None)
@given(st.floats(73, 135), st.floats(18, 53), st.floats(0.0003, SMALL_RING_DEG / 2),
       st.lists(st.tuples(st.floats(0, 6.283), st.floats(0.1, 1.0)), min_size=3, max_size=30))
def test_geodesic_areas__small_rings__agree_with_pyprojs_geodesic_area(lon, lat, extent, polar):
    # plots take the vectorised authalic-sphere path; a ring larger than SMALL_RING_DEG takes pyproj's
    ring = [(lon + r * extent * math.cos(a), lat + r * extent * math.sin(a)) for a, r in sorted(polar)]
    poly = Polygon(ring)
    assume(poly.is_valid and poly.area > 0)
    expected = abs(WGS84_GEOD.geometry_area_perimeter(poly)[0])
    assert geodesic_areas([poly])[0] == pytest.approx(expected, rel=1e-5, abs=0.5)


def test_geodesic_areas__small_and_large_rings_together__each_measured():
    small, large = box(116, 39, 116.01, 39.01), box(100, 30, 101, 31)
    hole, other = box(116.002, 39.002, 116.004, 39.004), box(117, 30, 117.5, 30.5)
    holed = Polygon(small.exterior.coords, [hole.exterior.coords])
    got = geodesic_areas([small, large, holed, MultiPolygon([small, other])])

    def pyproj_area(g: Polygon) -> float:
        return abs(WGS84_GEOD.geometry_area_perimeter(g)[0])

    assert got[0] == pytest.approx(pyproj_area(small), abs=0.5)
    assert got[1] == pytest.approx(pyproj_area(large), rel=1e-12)
    assert got[2] == pytest.approx(pyproj_area(small) - pyproj_area(hole), abs=0.5)
    assert got[3] == pytest.approx(pyproj_area(small) + pyproj_area(other), abs=0.5)


def test_mu_conversion__uses_exact_10000_over_15():
    assert m2_to_mu(10000) == pytest.approx(15.0, abs=1e-12)
    assert mu_to_m2(1) == pytest.approx(666.6666666666666)
    assert m2_to_hectares(961_620) == pytest.approx(96.162)


def test_geodesic_length__one_degree_of_latitude__is_about_111_km():
    assert geodesic_length(LineString([(116, 39), (116, 40)])) == pytest.approx(111_050, rel=1e-3)
    assert geodesic_length(box(116, 39, 116.01, 39.01)) == pytest.approx(3952.7, abs=1)


coords = st.lists(
    st.tuples(st.floats(0, 0.01), st.floats(0, 0.01)), min_size=3, max_size=12, unique=True
)


@settings(max_examples=200, deadline=None)
@given(coords, st.integers(0, 20))
def test_geodesic_area__ring_reversed_or_rotated__is_unchanged(pts, shift):
    poly = Polygon([(110 + x, 30 + y) for x, y in pts]).convex_hull
    assume(isinstance(poly, Polygon) and poly.area > 1e-10)
    ring = list(poly.exterior.coords)[:-1]
    k = shift % len(ring)
    rotated = Polygon(ring[k:] + ring[:k])
    reference = geodesic_area(poly)
    assert geodesic_area(rotated) == pytest.approx(reference, rel=1e-9, abs=1e-6)
    assert geodesic_area(Polygon(ring[::-1])) == pytest.approx(reference, rel=1e-9, abs=1e-6)
