"""The shipped boundary files in gis/data: complete, valid, small, and consistent with the code table."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

import gis
from gis.regions import read_geojson_gz

DATA = Path(gis.__file__).parent / "data"


def test_counties__every_feature_kept_valid_and_gap_free():
    feats = read_geojson_gz(DATA / "counties.geojson.gz")
    assert len(feats) == 2891
    geoms = np.array([shape(f["geometry"]) for f in feats], dtype=object)
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    assert shapely.coverage_is_valid(geoms)  # neighbours share borders: no gaps, no overlaps


def test_counties__file_is_a_few_megabytes():
    assert (DATA / "counties.geojson.gz").stat().st_size < 4_000_000


def test_code_map__retired_and_nonstandard_codes__mapped_as_documented():
    with (DATA / "county_code_map.csv").open(encoding="utf-8") as fh:
        rows = {r["source_adcode"]: r for r in csv.DictReader(fh)}
    assert rows["500105"]["adcode"] == "500157" and rows["500112"]["adcode"] == "500157"
    for code in ("629700", "629800", "629900", "632857", "710001", "810101", "820000"):
        assert rows[code]["adcode"] == "", code
    assert rows["110101"]["adcode"] == "110101"


def test_provinces__34_valid_features_and_boundary_lines_present():
    provinces = read_geojson_gz(DATA / "provinces.geojson.gz")
    assert len(provinces) == 34
    assert all(shape(f["geometry"]).is_valid for f in provinces)
    lines = read_geojson_gz(DATA / "cn_boundary_lines.geojson")
    assert len(lines) == 8 and all(f["geometry"]["type"] == "MultiLineString" for f in lines)


def test_import_gis__does_not_load_boundaries_or_heavy_modules():
    import subprocess
    import sys

    code = "import gis, sys; print('shapely' in sys.modules, 'gis.regions' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
