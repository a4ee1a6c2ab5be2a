from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely import Point, box

import gis
from gis.regions import CountyIndex

DATA = Path(gis.__file__).parent / "data"


@pytest.fixture(scope="module")
def index() -> CountyIndex:
    return gis.county_index()


@pytest.fixture(scope="module")
def labels() -> list[dict[str, str]]:
    with (DATA / "county_labels.csv").open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["label_lng"]]


def test_lookup__label_point__returns_own_county(index, labels):
    got = [index.lookup(Point(float(r["label_lng"]), float(r["label_lat"]))) for r in labels]
    misses = [(r["adcode"], g) for r, g in zip(labels, got, strict=True) if g != r["adcode"]]
    assert len(labels) >= 2840
    assert len(misses) <= 0.005 * len(labels), misses


def test_lookup_many__label_points__agree_with_lookup(index, labels):
    pts = np.array([[float(r["label_lng"]), float(r["label_lat"])] for r in labels])
    assert index.lookup_many(pts) == [r["adcode"] for r in labels]


def test_lookup__outside_china__is_none(index):
    assert index.lookup(Point(2.35, 48.85)) is None
    assert index.lookup_many(np.array([[2.35, 48.85], [150.0, 10.0]])) == [None, None]


def test_lookup__retired_chongqing_codes__answer_successor_500157(index):
    assert sorted(n for n, c in zip(index.names, index.codes, strict=True) if c == "500157") == ["江北区", "渝北区"]
    inside = shapely.get_parts(index.geometry_of("500157"))[0].representative_point()
    assert index.lookup(inside) == "500157"
    assert "500105" not in index.county_codes and "500112" not in index.county_codes


@pytest.mark.parametrize("point", [(121.5, 25.03), (114.17, 22.30), (113.55, 22.19)], ids=["taipei", "hk", "macau"])
def test_lookup__areas_outside_code_table__are_none(index, point):
    assert index.lookup(Point(point)) is None


def test_lookup__plot_crossing_border__returns_county_with_largest_share(index):
    a = index.geometry_of("110108")  # 海淀区
    b = index.geometry_of("110102")  # 西城区
    border = shapely.intersection(a.boundary, b.boundary)
    p = shapely.get_coordinates(border)[len(shapely.get_coordinates(border)) // 2]
    plot = box(p[0] - 0.002, p[1] - 0.002, p[0] + 0.002, p[1] + 0.002)
    shares = {c: shapely.intersection(plot, index.geometry_of(c)).area for c in ("110108", "110102")}
    assert min(shares.values()) > 0  # really crosses
    assert index.lookup(plot) == max(shares, key=shares.get)


def test_outside_county__plot_inside__not_flagged(index):
    c = index.geometry_of("370783").representative_point()
    assert not index.outside_county(box(c.x, c.y, c.x + 0.001, c.y + 0.001), "370783")


def test_outside_county__within_tolerance__not_flagged_beyond__flagged(index):
    county = index.geometry_of("370783")
    x0, y0, x1, y1 = county.bounds
    # a plot straddling the westernmost point of the county
    west = min(shapely.get_coordinates(county), key=lambda xy: xy[0])
    deg_per_m = 1 / (111_320 * np.cos(np.radians(west[1])))
    just_out = box(west[0] - 20 * deg_per_m, west[1] - 0.0002, west[0] + 0.002, west[1] + 0.0002)
    far_out = box(west[0] - 200 * deg_per_m, west[1] - 0.0002, west[0] + 0.002, west[1] + 0.0002)
    assert not index.outside_county(just_out, "370783", tolerance_m=30)
    assert index.outside_county(far_out, "370783", tolerance_m=30)


def test_outside_county__county_without_polygon__never_flagged(index):
    assert index.geometry_of("653132") is None
    assert not index.outside_county(box(2, 48, 2.01, 48.01), "653132")


def test_county_index__is_cached():
    assert gis.county_index() is gis.county_index()
