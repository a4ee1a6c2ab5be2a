"""County lookup and the outside-county flag: the same answers from PostGIS SQL and from gis on SQLite."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from shapely import Point
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

import gis
from catalog.db import make_engine
from catalog.divisions import Division, DivisionBoundary
from catalog.regions import counties_of, county_of, outside_county
from gis.validate import local_projection

CHINA_BBOX = (73.5, 18.1, 135.1, 53.6)  # lon/lat


def label_points(session: Session) -> dict[str, tuple[float, float]]:
    rows = session.execute(
        select(Division.code, Division.label_lng, Division.label_lat)
        .where(Division.county_equivalent.is_(True), Division.valid_to.is_(None), Division.has_polygon.is_(True),
               Division.label_lng.is_not(None))
        .order_by(Division.code)
    )
    return {code: (lng, lat) for code, lng, lat in rows}


def edge_frame(line: shapely.Geometry, county: shapely.Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """The middle of the longest edge of ``line`` in local metres: (centre, unit vector along, unit normal pointing
    out of ``county``) and the function taking local metres back to lon/lat."""
    xy = shapely.get_coordinates(line)
    i = int(np.argmax(np.hypot(*(xy[1:] - xy[:-1]).T)))
    mid = Point((xy[i] + xy[i + 1]) / 2)
    to_m, to_deg = local_projection(mid)
    a, b = shapely.get_coordinates(to_m(shapely.LineString([xy[i], xy[i + 1]])))
    along = (b - a) / np.linalg.norm(b - a)
    normal = np.array([-along[1], along[0]])
    centre = (a + b) / 2
    if county.covers(to_deg(Point(centre + normal))):
        normal = -normal
    return centre, along, normal, to_deg


def border_probe(code: str, outward_m: float, inward_m: float = 10.0, width_m: float = 4.0) -> shapely.Polygon:
    """A thin plot across the middle of the county's longest border edge, reaching ``outward_m`` metres out."""
    county = gis.county_index().geometry_of(code)
    ring = max(shapely.get_parts(county), key=lambda p: p.area).exterior
    centre, along, normal, to_deg = edge_frame(ring, county)
    corners = [centre + s * width_m / 2 * along + d * normal
               for s, d in ((-1, -inward_m), (1, -inward_m), (1, outward_m), (-1, outward_m))]
    return to_deg(shapely.Polygon(corners))


# ------------------------------------------------------------------------------------------------ both engines


def test_county_of__every_label_point__answers_its_own_county(session):
    labels = label_points(session)
    with_polygon = set(session.scalars(select(Division.code).where(
        Division.county_equivalent.is_(True), Division.valid_to.is_(None), Division.has_polygon.is_(True))))
    assert len(labels) >= 2846
    assert with_polygon - set(labels) == {"500157"}  # no label point: see the 江北区 test

    codes = list(labels)
    assert counties_of(session, np.array([labels[c] for c in codes])) == codes
    assert [county_of(session, labels[c]) for c in codes] == codes


def test_counties_of__points_in_order__same_as_county_of(session):
    pts = [Point(116.3975, 39.9087), Point(2.35, 48.85), Point(121.4737, 31.2304), Point(116.3975, 39.9087)]
    assert counties_of(session, pts) == ["110101", None, "310101", "110101"]
    assert counties_of(session, [(p.x, p.y) for p in pts]) == [county_of(session, p) for p in pts]
    assert counties_of(session, []) == []


@pytest.mark.parametrize("where", [
    (125.0, 30.0),  # East China Sea
    (2.35, 48.85),  # Paris
    (125.75, 39.03),  # Pyongyang
    (121.5, 25.03),  # Taipei: outside the county code table
    (114.17, 22.30),  # Hong Kong: outside the county code table
], ids=["sea", "paris", "pyongyang", "taipei", "hong-kong"])
def test_county_of__sea_abroad_or_outside_code_table__is_none(session, where):
    assert county_of(session, where) is None
    assert counties_of(session, [where]) == [None]
    assert county_of(session, shapely.box(where[0], where[1], where[0] + 0.01, where[1] + 0.01)) is None


def test_county_of__former_jiangbei_district__answers_liangjiang_500157(session):
    jiangbei = session.scalar(select(DivisionBoundary.geom).where(DivisionBoundary.code == "500105"))
    inside = jiangbei.representative_point()
    assert session.get(Division, "500105").retired
    assert county_of(session, inside) == "500157"
    assert counties_of(session, [inside]) == ["500157"]
    assert county_of(session, inside.buffer(0.001)) == "500157"


@pytest.mark.parametrize("toward", ["110108", "110102"])
def test_county_of__plot_across_a_border__answers_the_larger_share(session, toward):
    haidian, xicheng = gis.county_index().geometry_of("110108"), gis.county_index().geometry_of("110102")
    border = shapely.intersection(haidian.boundary, xicheng.boundary)
    centre, _along, out_of_haidian, to_deg = edge_frame(border, haidian)
    # a 100 m square, its centre 25 m from the border on the chosen side: a 75 / 25 split
    c = centre + (-25 if toward == "110108" else 25) * out_of_haidian
    plot = to_deg(shapely.box(c[0] - 50, c[1] - 50, c[0] + 50, c[1] + 50))
    shares = {code: gis.geodesic_area(plot.intersection(g)) for code, g in (("110108", haidian), ("110102", xicheng))}
    assert min(shares.values()) > 0.15 * gis.geodesic_area(plot)  # it really straddles
    assert max(shares, key=lambda code: shares[code]) == toward
    assert county_of(session, plot) == toward


def test_outside_county__beyond_tolerance__is_flagged(session):
    assert outside_county(session, border_probe("110108", outward_m=-5.0), "110108") is False  # wholly inside
    assert outside_county(session, border_probe("110108", outward_m=10.0), "110108") is False
    assert outside_county(session, border_probe("110108", outward_m=60.0), "110108") is True
    assert outside_county(session, border_probe("110108", outward_m=10.0), "110108", tolerance_m=5.0) is True
    assert outside_county(session, border_probe("110108", outward_m=60.0), "110108", tolerance_m=100.0) is False


def test_outside_county__far_away_or_point__is_flagged(session):
    far = shapely.box(121.47, 31.23, 121.48, 31.24)  # Shanghai, for an agent of 海淀区
    assert outside_county(session, far, "110108") is True
    assert outside_county(session, (121.47, 31.23), "110108") is True
    assert outside_county(session, (116.3975, 39.9087), "110101") is False


@pytest.mark.parametrize("code", ["653132", "659013", "500105", "999999"],
                         ids=["new-county", "new-city", "retired", "unknown"])
def test_outside_county__county_without_polygon__is_never_flagged(session, code):
    assert outside_county(session, shapely.box(121.47, 31.23, 121.48, 31.24), code) is False


# ------------------------------------------------------------------------------------------------ the two agree


@pytest.mark.postgis
def test_engines__label_random_points_and_plots__give_identical_answers(sqlite_url, postgis_url):
    rng = np.random.default_rng(2026)
    x0, y0, x1, y1 = CHINA_BBOX
    random_pts = np.column_stack([rng.uniform(x0, x1, 2000), rng.uniform(y0, y1, 2000)])
    sqlite_engine, postgis_engine = make_engine(sqlite_url), make_engine(postgis_url)
    with Session(sqlite_engine) as lite, Session(postgis_engine) as pg:
        labels = np.array(list(label_points(lite).values()))
        assert len(labels) >= 2846
        # plots of 0.02–0.1° around label points, so that many cross a border
        picks = labels[rng.choice(len(labels), 300, replace=False)]
        size = rng.uniform(0.02, 0.1, (300, 1))
        plots = shapely.box(*(picks - size / 2).T, *(picks + size / 2).T)

        for pts in (labels, random_pts):
            assert counties_of(pg, pts) == counties_of(lite, pts)
        inside = np.mean([c is not None for c in counties_of(lite, random_pts)])
        assert 0.3 < inside < 0.7  # the bounding box holds China and its neighbours and seas

        lite_plots = [county_of(lite, p) for p in plots]
        assert [county_of(pg, p) for p in plots] == lite_plots
        flags = [outside_county(lite, p, c) for p, c in zip(plots, lite_plots, strict=True) if c]
        assert [outside_county(pg, p, c) for p, c in zip(plots, lite_plots, strict=True) if c] == flags
        assert 0 < sum(flags) < len(flags)
    sqlite_engine.dispose()
    postgis_engine.dispose()


# ------------------------------------------------------------------------------------------------ PostGIS upkeep


@pytest.mark.postgis
def test_county_pieces__follow_boundary_changes(postgis_url):
    engine = make_engine(postgis_url)
    beijing_centre = (116.3975, 39.9087)
    with Session(engine) as s:
        pieces = s.execute(text("SELECT count(*), count(DISTINCT code) FROM county_piece")).one()
        assert pieces[1] == s.scalar(select(func.count()).where(
            Division.county_equivalent.is_(True), Division.valid_to.is_(None), Division.has_polygon.is_(True)))
        assert pieces[0] > pieces[1]  # counties are cut into cells

        # a boundary moved far away takes its pieces along; a removed one leaves no trace
        s.execute(update(DivisionBoundary).where(DivisionBoundary.code == "110101")
                  .values(geom=shapely.MultiPolygon([shapely.box(80.0, 40.0, 80.1, 40.1)])))
        assert county_of(s, beijing_centre) is None
        assert counties_of(s, [(80.05, 40.05)]) == ["110101"]
        s.execute(delete(DivisionBoundary).where(DivisionBoundary.code == "110101"))
        assert county_of(s, (80.05, 40.05)) != "110101"
        assert s.scalar(text("SELECT count(*) FROM county_piece WHERE code = '110101'")) == 0
        s.rollback()
    engine.dispose()


@pytest.mark.postgis
def test_counties_of__leaves_the_callers_plan_settings_alone(postgis_url):
    engine = make_engine(postgis_url)
    with Session(engine) as s:
        s.execute(text("SET LOCAL jit = on"))
        s.execute(text("SET LOCAL enable_mergejoin = on"))
        s.execute(text("SET LOCAL enable_nestloop = on"))
        assert counties_of(s, [(116.3975, 39.9087), (0.0, 0.0), (121.4737, 31.2304)]) == ["110101", None, "310101"]
        for name in ("jit", "enable_mergejoin", "enable_nestloop"):
            assert s.scalar(text(f"SELECT current_setting('{name}')")) == "on"
    engine.dispose()
