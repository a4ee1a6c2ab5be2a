from __future__ import annotations

import csv
import io
import json

import pytest
from shapely import Point, Polygon, box

from gis.crs import convert_geometry
from gis.formats import (
    Feature,
    FormatError,
    GpsFix,
    read_csv_vertices,
    read_csv_wkt,
    read_geojson,
    read_gpx,
    read_kml,
    walk_to_boundary,
    write_csv,
    write_geojson,
    write_kml,
)

PLOT = Polygon([(116.0, 39.0), (116.01, 39.0), (116.01, 39.01), (116.0, 39.01)],
               [[(116.002, 39.002), (116.002, 39.004), (116.004, 39.004), (116.004, 39.002)]])
FEATURES = [Feature(PLOT, {"name": "示范田一号", "crop": "小麦"}, "p-1"),
            Feature(box(117.0, 30.0, 117.001, 30.002), {"name": "B & <2>"}, "p-2")]


def _same(a, b, tol=1e-7):
    return a.normalize().equals_exact(b.normalize(), tolerance=tol)


def test_geojson__write_then_read__round_trips_geometry_props_and_id():
    back = read_geojson(write_geojson(FEATURES))
    assert [f.id for f in back] == ["p-1", "p-2"]
    assert _same(back[0].geometry, PLOT)
    assert back[0].properties["name"] == "示范田一号"
    assert back[0].properties["area_mu"] == pytest.approx(back[0].properties["area_m2"] * 15 / 10000, rel=1e-4)


def test_geojson__gcj02_source__converted_to_wgs84():
    gcj = convert_geometry(PLOT, "wgs84", "gcj02")
    doc = json.dumps({"type": "Feature", "geometry": json.loads(write_geojson([Feature(gcj)]))["features"][0]
                      ["geometry"], "properties": {}})
    (f,) = read_geojson(doc, source_crs="gcj02")
    assert _same(f.geometry, PLOT, tol=1e-8)


def test_geojson__garbage__raises_format_error():
    with pytest.raises(FormatError):
        read_geojson("{not json")


def test_kml__write_then_read__round_trips_polygon_with_hole_and_names():
    back = read_kml(write_kml(FEATURES))
    assert [f.id for f in back] == ["p-1", "p-2"]
    assert _same(back[0].geometry, PLOT)
    assert back[1].properties["name"] == "B & <2>"
    assert back[0].properties["crop"] == "小麦"


def test_kml__linestring_and_point_placemarks__become_polygon_and_point():
    kml = """<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>
    <Placemark><name>walk</name><LineString><coordinates>116,39,0 116.01,39,0 116.01,39.01,0 116,39.01,0
    </coordinates></LineString></Placemark>
    <Placemark><name>well</name><Point><coordinates>116.005,39.005</coordinates></Point></Placemark>
    </Document></kml>"""
    walk, well = read_kml(kml)
    assert isinstance(walk.geometry, Polygon) and walk.properties["name"] == "walk"
    assert _same(walk.geometry, box(116, 39, 116.01, 39.01))
    assert isinstance(well.geometry, Point)


def test_kml__external_entity__is_refused():
    evil = """<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name></Placemark></kml>"""
    with pytest.raises(FormatError):
        read_kml(evil)


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="30.0" lon="117.0"/><wpt lat="30.0" lon="117.001"/><wpt lat="30.002" lon="117.001"/>
  <wpt lat="30.002" lon="117.0"/>
  <trk><name>地块A</name><trkseg>
    <trkpt lat="39.0" lon="116.0"/><trkpt lat="39.0" lon="116.01"/>
    <trkpt lat="39.01" lon="116.01"/><trkpt lat="39.01" lon="116.0"/><trkpt lat="39.0" lon="116.0"/>
  </trkseg></trk>
</gpx>"""


def test_gpx__track_and_waypoints__become_boundaries():
    track, waypoints = read_gpx(GPX)
    assert track.properties == {"source": "trk", "name": "地块A"}
    assert _same(track.geometry, box(116, 39, 116.01, 39.01))
    assert waypoints.properties["source"] == "wpt"
    assert _same(waypoints.geometry, box(117.0, 30.0, 117.001, 30.002))


def test_gpx__bd09_source__converted_to_wgs84():
    (track, _) = read_gpx(GPX, source_crs="bd09")
    expected = convert_geometry(box(116, 39, 116.01, 39.01), "bd09", "wgs84")
    assert _same(track.geometry, expected, tol=1e-8)


def test_csv_vertices__grouped_ordered_and_bom__builds_one_polygon_per_plot():
    text = ("\ufeff地块编号,序号,经度,纬度\nA,2,116.01,39.0\nA,1,116.0,39.0\nA,3,116.01,39.01\nA,4,116.0,39.01\n"
            "B,1,117.0,30.0\nB,2,117.001,30.0\nB,3,117.001,30.002\n")
    a, b = read_csv_vertices(text.encode("utf-8"))
    assert a.id == "A" and _same(a.geometry, box(116, 39, 116.01, 39.01))
    assert b.id == "B" and len(b.geometry.exterior.coords) == 4


def test_csv_vertices__no_coordinate_columns__raises_format_error():
    with pytest.raises(FormatError):
        read_csv_vertices("a,b\n1,2\n")


def test_csv_export__has_bom_wkt_and_areas__and_reads_back():
    data = write_csv(FEATURES)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["id"] == "p-1" and rows[0]["name"] == "示范田一号"
    assert float(rows[0]["area_mu"]) == pytest.approx(float(rows[0]["area_m2"]) / (10000 / 15), rel=1e-4)
    back = read_csv_wkt(data)
    assert _same(back[0].geometry, PLOT) and back[1].properties["name"] == "B & <2>"


def test_walk_to_boundary__poor_fixes_dropped__polygon_and_counts():
    fixes = [GpsFix(116.0, 39.0, 3.0), GpsFix(116.01, 39.0, 4.0), GpsFix(116.5, 39.5, 80.0),
             {"lon": 116.01, "lat": 39.01, "accuracy_m": 5.0}, GpsFix(116.0, 39.01, 2.0)]
    f = walk_to_boundary(fixes)
    assert _same(f.geometry, box(116, 39, 116.01, 39.01))
    assert f.properties == {"fixes": 5, "fixes_used": 4, "worst_accuracy_m": 5.0}


def test_walk_to_boundary__too_few_good_fixes__raises():
    with pytest.raises(FormatError):
        walk_to_boundary([GpsFix(116.0, 39.0, 50.0), GpsFix(116.01, 39.0, 3.0)])
