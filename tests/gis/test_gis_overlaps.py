from __future__ import annotations

import pytest
from shapely import box

from gis.area import geodesic_area
from gis.overlaps import PlotRef, find_overlaps


def test_find_overlaps__same_season__reports_pair_with_geodesic_area():
    a = box(116.0, 39.0, 116.01, 39.01)
    b = box(116.005, 39.0, 116.015, 39.01)
    (ov,) = find_overlaps([PlotRef("a", a, "2025"), PlotRef("b", b, "2025")])
    assert (ov.a, ov.b, ov.season) == ("a", "b", "2025")
    assert ov.area_m2 == pytest.approx(geodesic_area(box(116.005, 39.0, 116.01, 39.01)), rel=1e-9)


def test_find_overlaps__other_season_or_only_touching__not_reported():
    a = box(116.0, 39.0, 116.01, 39.01)
    plots = [PlotRef("a", a, "2025"), PlotRef("b", a, "2024"), PlotRef("c", box(116.01, 39.0, 116.02, 39.01), "2025")]
    assert find_overlaps(plots) == []


def test_find_overlaps__many__sorted_largest_first_and_ids_ordered():
    plots = [PlotRef("z", box(116.0, 39.0, 116.01, 39.01), 1), PlotRef("y", box(116.009, 39.0, 116.02, 39.01), 1),
             PlotRef("x", box(116.0, 39.0, 116.005, 39.005), 1)]
    found = find_overlaps(plots)
    assert [(o.a, o.b) for o in found] == [("x", "z"), ("y", "z")]
    assert found[0].area_m2 > found[1].area_m2


def test_find_overlaps__sliver_below_minimum__ignored():
    a = box(116.0, 39.0, 116.01, 39.01)
    b = box(116.00999, 39.0, 116.02, 39.00001)  # ~1 m x 1 m overlap
    assert find_overlaps([PlotRef("a", a, 1), PlotRef("b", b, 1)], min_area_m2=5.0) == []
