"""Plots and the other field records through catalog.field_rules: refusals with codes, repairs, flags, versions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from shapely.geometry import Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

import gis
from catalog.access import Actor, Grant
from catalog.audit import AuditEntry
from catalog.errors import Conflict, ValidationFailed
from catalog.field import DemoPlot, Observation, SoilSample
from catalog.field_rules import (
    apply_observation,
    apply_plot,
    apply_soil_sample,
    check_boundary,
    clean_plot,
    delete_record,
    id_number_ok,
    plot_overlaps,
)
from gis.area import M2_PER_MU
from gis.crs import wgs84_to_gcj02
from gis.validate import local_projection

AGENT = Actor("agent-zm", user_id="u-agent", grants=(Grant("agent", "410122"),), channel="sync")
LON, LAT = 113.99, 34.70  # 中牟县, near its label point


def square(lon: float, lat: float, mu: float) -> Polygon:
    """A square of ``mu`` 亩 centred on (lon, lat), built in metres."""
    half = (mu * M2_PER_MU) ** 0.5 / 2
    to_m, to_deg = local_projection(shapely.Point(lon, lat))
    c = to_m(shapely.Point(lon, lat))
    return to_deg(shapely.box(c.x - half, c.y - half, c.x + half, c.y + half))  # type: ignore[return-value]


def plot_data(**extra: Any) -> dict[str, Any]:
    return {"name": "郑麦示范田", "county_code": "410122", "crop": "wheat", "variety": "郑麦379",
            "season": "2026-summer_grain", "boundary": shapely.to_geojson(square(LON, LAT, 50)), **extra}


def test_plot__area_geodesic_on_the_server_kits_area_ignored(session: Session) -> None:
    applied = apply_plot(session, AGENT, plot_data(area_m2=1.0, flags={"x": 1}))
    plot = applied.record
    assert isinstance(plot, DemoPlot)
    assert plot.area_m2 == pytest.approx(50 * M2_PER_MU, rel=1e-6)
    assert plot.flags == {} and applied.created and plot.version == 1
    assert plot.boundary is not None and plot.boundary.geom_type == "MultiPolygon"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == plot.id)).one()
    assert entry.actor == "agent-zm" and entry.action == "insert"
    assert entry.after is not None and entry.after["boundary"] == plot.boundary.wkt  # the shape as WKT
    assert entry.after["area_m2"] == pytest.approx(plot.area_m2) and entry.after["created_at"].startswith("20")


def test_plot__gcj02_boundary_converted_to_wgs84(session: Session) -> None:
    wgs = square(LON, LAT, 30)
    gx, gy = wgs84_to_gcj02(*shapely.get_coordinates(wgs).T)
    gcj = Polygon(list(zip(gx, gy, strict=True)))
    assert gcj.centroid.distance(wgs.centroid) * 111_000 > 100  # the offset is hundreds of metres
    wkt = shapely.to_wkt(gcj, rounding_precision=12)
    plot = apply_plot(session, AGENT, plot_data(boundary=wkt, source_crs="gcj02")).record
    assert isinstance(plot, DemoPlot) and plot.boundary is not None
    assert plot.source_crs == "gcj02"
    assert plot.boundary.centroid.distance(wgs.centroid) < 1e-7


def test_plot__safe_repairs_applied_and_reported(session: Session) -> None:
    ring = [list(p) for p in shapely.get_coordinates(square(LON, LAT, 20))[:-1]]
    ring.insert(2, ring[1])  # a duplicate vertex, the ring left open
    applied = apply_plot(session, AGENT, plot_data(boundary=ring))
    assert set(applied.record.flags["repaired"]) == {"closed_ring", "removed_duplicate_vertices"}
    assert "repaired" in [w.code for w in applied.warnings]


def _bowtie() -> list[list[float]]:
    c = shapely.get_coordinates(square(LON, LAT, 20))
    return [list(c[0]), list(c[2]), list(c[1]), list(c[3])]


def _spike() -> list[list[float]]:
    c = shapely.get_coordinates(square(LON, LAT, 20))[:-1].tolist()
    tip = [(c[1][0] + c[2][0]) / 2 + 0.01, (c[1][1] + c[2][1]) / 2]
    near = [(c[1][0] + c[2][0]) / 2, (c[1][1] + c[2][1]) / 2 + 1e-6]
    return [c[0], c[1], [(c[1][0] + c[2][0]) / 2, (c[1][1] + c[2][1]) / 2 - 1e-6], tip, near, c[2], c[3]]


BAD_BOUNDARIES = [
    ("too few points", lambda: [[LON, LAT], [LON + 0.001, LAT]], "too_few_points"),
    ("self crossing", _bowtie, "self_intersection"),
    ("spike", _spike, "spike"),
    ("lat/lon swapped", lambda: [[y, x] for x, y in shapely.get_coordinates(square(LON, LAT, 20))], "lat_lon_swapped"),
    ("outside China", lambda: shapely.to_geojson(square(2.35, 48.85, 20)), "outside_china"),
    ("too large", lambda: shapely.to_geojson(square(LON, LAT, 25_000)), "too_large"),
    ("a point", lambda: "POINT (114 34.7)", "invalid_boundary"),
    ("garbage", lambda: "not a boundary", "invalid_boundary"),
]


@pytest.mark.parametrize(("label", "make", "code"), BAD_BOUNDARIES, ids=[b[0] for b in BAD_BOUNDARIES])
def test_plot__bad_boundary_refused_with_code_and_nothing_written(session: Session, label: str, make: Any,
                                                                  code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        apply_plot(session, AGENT, plot_data(boundary=make()))
    errors = [(e.field, e.code) for e in info.value.errors]
    assert ("boundary", code) in errors, errors
    assert all(e.zh and e.en for e in info.value.errors)
    assert session.scalar(select(DemoPlot.id)) is None


def test_plot__max_area_is_a_setting() -> None:
    boundary, errors = check_boundary(shapely.to_geojson(square(LON, LAT, 600)), "wgs84", max_area_mu=500)
    assert boundary is None and errors[0].code == "too_large"
    boundary, errors = check_boundary(shapely.to_geojson(square(LON, LAT, 600)), "wgs84")
    assert boundary is not None and not errors


BAD_FIELDS = [
    ("no name", {"name": ""}, "name", "required"),
    ("unknown crop", {"crop": "durian"}, "crop", "unknown_code"),
    ("bad season", {"season": "autumn 2026"}, "season", "invalid"),
    ("unknown season", {"season": "2026-monsoon"}, "season", "unknown_code"),
    ("bad crs", {"source_crs": "epsg3857"}, "source_crs", "invalid_choice"),
    ("unknown county", {"county_code": "419999"}, "county_code", "unknown_division"),
    ("a province", {"county_code": "410000"}, "county_code", "unknown_division"),
    ("bad phone", {"farmer_phone": "call me"}, "farmer_phone", "invalid"),
    ("bad id number", {"farmer_id_no": "410122199001011234"}, "farmer_id_no", "invalid"),
    ("unknown control plot", {"control_plot_id": "nope"}, "control_plot_id", "not_found"),
    ("land demo without scenario", {"demo_type": "land_quality"}, "land_scenario", "required"),
    ("unknown field", {"colour": "green"}, "colour", "unknown_field"),
]


@pytest.mark.parametrize(("label", "change", "field", "code"), BAD_FIELDS, ids=[b[0] for b in BAD_FIELDS])
def test_plot__bad_fields_refused(session: Session, label: str, change: dict[str, Any], field: str,
                                  code: str) -> None:
    _clean, errors = clean_plot(session, plot_data(**change))
    assert (field, code) in [(e.field, e.code) for e in errors], errors


def test_id_number_checksum() -> None:
    assert id_number_ok("11010519491231002X")
    assert not id_number_ok("110105194912310021")


def test_plot__county_taken_from_the_boundary_when_missing(session: Session) -> None:
    data = plot_data()
    del data["county_code"]
    clean, errors = clean_plot(session, data)
    assert not errors and clean["county_code"] == "410122"


def test_plot__outside_its_county_flagged_not_refused(session: Session) -> None:
    # a plot in 中牟县 recorded under 中原区 (the agent of 中原区 writes it)
    agent = Actor("agent-zy", user_id="u2", grants=(Grant("agent", "410102"),))
    applied = apply_plot(session, agent, plot_data(county_code="410102"))
    assert applied.record.flags["outside_county"]["county_code"] == "410102"
    assert "outside_county" in [w.code for w in applied.warnings]
    inside = apply_plot(session, AGENT, plot_data(boundary=shapely.to_geojson(square(LON, LAT + 0.01, 20))))
    assert "outside_county" not in inside.record.flags


def test_plot__overlap_flagged_with_ids_and_area_same_season_only(session: Session) -> None:
    first = apply_plot(session, AGENT, plot_data()).record
    shifted = shapely.affinity.translate(square(LON, LAT, 50), xoff=0.0005)
    other_season = apply_plot(session, AGENT, plot_data(boundary=shapely.to_geojson(shifted),
                                                        season="2026-autumn_grain", crop="maize")).record
    assert "overlaps" not in other_season.flags
    second = apply_plot(session, AGENT, plot_data(boundary=shapely.to_geojson(shifted))).record
    [hit] = second.flags["overlaps"]
    expected = gis.geodesic_area(square(LON, LAT, 50).intersection(shifted))
    assert hit["plot_id"] == first.id
    assert hit["area_m2"] == pytest.approx(expected, rel=1e-3)
    delete_record(session, AGENT, "plot", first.id)
    assert plot_overlaps(session, second.id, shifted, "2026-summer_grain") == []


def test_plot__touching_plots_do_not_overlap(session: Session) -> None:
    a = square(LON, LAT, 20)
    minx, _miny, maxx, _maxy = a.bounds
    b = shapely.affinity.translate(a, xoff=maxx - minx)
    apply_plot(session, AGENT, plot_data(boundary=shapely.to_geojson(a)))
    second = apply_plot(session, AGENT, plot_data(boundary=shapely.to_geojson(b))).record
    assert "overlaps" not in second.flags


def test_plot__edit_bumps_version_per_field_and_no_op_changes_nothing(session: Session) -> None:
    plot = apply_plot(session, AGENT, plot_data()).record
    same = apply_plot(session, AGENT, {"variety": "郑麦379"}, record_id=plot.id)
    assert same.changed == [] and plot.version == 1
    edited = apply_plot(session, AGENT, {"variety": "百农207", "notes": "补种"}, record_id=plot.id)
    assert sorted(edited.changed) == ["notes", "variety"]
    assert plot.version == 2
    assert plot.field_versions["variety"] == 2 and plot.field_versions["name"] == 1


def test_plot__edit_of_deleted_plot_is_a_conflict(session: Session) -> None:
    plot = apply_plot(session, AGENT, plot_data()).record
    delete_record(session, AGENT, "plot", plot.id)
    assert plot.deleted and plot.field_versions["deleted"] == 2
    with pytest.raises(Conflict):
        apply_plot(session, AGENT, {"variety": "x"}, record_id=plot.id)


def test_plot__partial_boundary_edit_keeps_stored_crs(session: Session) -> None:
    wgs = square(LON, LAT, 30)
    gx, gy = wgs84_to_gcj02(*shapely.get_coordinates(wgs).T)
    gcj = json.loads(shapely.to_geojson(Polygon(list(zip(gx, gy, strict=True)))))
    plot = apply_plot(session, AGENT, plot_data(boundary=gcj, source_crs="gcj02")).record
    apply_plot(session, AGENT, {"boundary": gcj}, record_id=plot.id)
    assert plot.boundary is not None and plot.boundary.centroid.distance(wgs.centroid) < 1e-7


def test_observation_and_soil_sample(session: Session) -> None:
    plot = apply_plot(session, AGENT, plot_data(demo_type="land_quality", land_scenario="SC0103")).record
    obs = apply_observation(session, AGENT, {"plot_id": plot.id, "observed_on": "2026-04-10",
                                             "stage": "jointing", "notes": "长势良好"}).record
    assert isinstance(obs, Observation) and obs.county_code == "410122"
    soil = apply_soil_sample(session, AGENT, {"plot_id": plot.id, "sampled_on": "2026-03-01", "depth_cm": "0-20",
                                              "lab": {"ph": "8.6", "salt_g_kg": 3.2}, "grade": 6}).record
    assert isinstance(soil, SoilSample)
    assert (soil.grade, soil.grade_scale, soil.lab) == (6, "GB/T 33469-2016", {"ph": 8.6, "salt_g_kg": 3.2})


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"grade": 0}, "grade", "out_of_range"),
    ({"grade": 11}, "grade", "out_of_range"),
    ({"grade": 2.5}, "grade", "out_of_range"),
    ({"grade_scale": "TD/T 1004-2003", "grade": 12}, "grade_scale", "unknown_code"),
    ({"lab": {"ph": 15}}, "lab.ph", "out_of_range"),
    ({"depth_cm": "deep"}, "depth_cm", "invalid"),
    ({"plot_id": "missing"}, "plot_id", "not_found"),
])
def test_soil_sample__refusals(session: Session, change: dict[str, Any], field: str, code: str) -> None:
    plot = apply_plot(session, AGENT, plot_data()).record
    with pytest.raises(ValidationFailed) as info:
        apply_soil_sample(session, AGENT, {"plot_id": plot.id, "grade": 3, **change})
    assert (field, code) in [(e.field, e.code) for e in info.value.errors]
    assert session.scalar(select(SoilSample.id)) is None


def test_observation__unknown_stage_and_child_cannot_move(session: Session) -> None:
    plot = apply_plot(session, AGENT, plot_data()).record
    with pytest.raises(ValidationFailed) as info:
        apply_observation(session, AGENT, {"plot_id": plot.id, "stage": "sleeping"})
    assert info.value.errors[0].code == "unknown_code"
    obs = apply_observation(session, AGENT, {"plot_id": plot.id, "stage": "heading"}).record
    other = apply_plot(session, AGENT, plot_data(name="另一块")).record
    with pytest.raises(ValidationFailed) as info:
        apply_observation(session, AGENT, {"plot_id": other.id}, record_id=obs.id)
    assert info.value.errors[0].code == "immutable"


def test_demo_plots__realistic_sizes_yields_and_some_flags(session: Session) -> None:
    from catalog.demo_plots import seed_plots
    from catalog.field import YieldMeasurement
    from catalog.yields import crop_rules

    report = seed_plots(session, seed=7, per_county=26)
    plots = list(session.scalars(select(DemoPlot)))
    assert len(plots) == report.plots > 150
    assert all(10 <= (p.area_m2 or 0) / M2_PER_MU <= 200.5 for p in plots)
    assert report.flagged.get("outside_county") and report.flagged.get("overlaps")
    assert any(p.control_plot_id for p in plots)
    rules = crop_rules()
    for y in session.scalars(select(YieldMeasurement)):
        limit = rules[y.crop].max_kg_per_mu or 0
        assert y.yield_kg_per_mu is not None and limit * 0.1 < y.yield_kg_per_mu < limit
        assert y.baseline_type is None or y.gain_pct is not None
