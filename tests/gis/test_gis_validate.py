from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely import Polygon, box

from gis.area import geodesic_area
from gis.validate import (
    IssueCode,
    RepairChange,
    Severity,
    repair_boundary,
    simplify_track,
    validate_boundary,
)

SQUARE = [(116.0, 39.0), (116.01, 39.0), (116.01, 39.01), (116.0, 39.01)]

FAILING = [
    # (name, boundary, expected code)
    ("two points", [(116.0, 39.0), (116.01, 39.0)], IssueCode.TOO_FEW_POINTS),
    ("three points two distinct", [(116.0, 39.0), (116.01, 39.0), (116.0, 39.0)], IssueCode.TOO_FEW_POINTS),
    ("nan", [(116.0, 39.0), (float("nan"), 39.0), (116.01, 39.01)], IssueCode.INVALID_COORDINATES),
    ("lon beyond 180", [(196.0, 39.0), (196.01, 39.0), (196.01, 39.01)], IssueCode.INVALID_COORDINATES),
    ("bow-tie", [(116.0, 39.0), (116.01, 39.01), (116.01, 39.0), (116.0, 39.01)], IssueCode.SELF_INTERSECTION),
    ("duplicate vertex", [SQUARE[0], SQUARE[1], SQUARE[1], SQUARE[2], SQUARE[3]], IssueCode.DUPLICATE_VERTICES),
    ("collinear", [(116.0, 39.0), (116.01, 39.0), (116.02, 39.0)], IssueCode.ZERO_AREA),
    ("swapped lat/lon", [(39.0, 116.0), (39.0, 116.01), (39.01, 116.01), (39.01, 116.0)], IssueCode.LAT_LON_SWAPPED),
    ("paris", [(2.30, 48.80), (2.31, 48.80), (2.31, 48.81)], IssueCode.OUTSIDE_CHINA),
    ("a whole county", [(116.0, 39.0), (116.5, 39.0), (116.5, 39.5), (116.0, 39.5)], IssueCode.TOO_LARGE),
    ("gps spike", [SQUARE[0], SQUARE[1], SQUARE[2], (116.0051, 39.011), (116.005, 39.2), (116.0049, 39.011),
                   SQUARE[3]], IssueCode.SPIKE),
]


@pytest.mark.parametrize(("name", "boundary", "code"), FAILING, ids=[row[0] for row in FAILING])
def test_validate_boundary__failing_input__reports_its_issue(name, boundary, code):
    codes = [i.code for i in validate_boundary(boundary)]
    assert code in codes, (name, codes)


def test_validate_boundary__good_square__has_no_issue():
    assert validate_boundary(SQUARE) == []
    assert validate_boundary(box(116.0, 39.0, 116.01, 39.01)) == []


def test_validate_boundary__issue__has_code_severity_and_both_languages():
    (issue,) = validate_boundary(FAILING[4][1])
    assert issue.code == "self_intersection" and issue.severity is Severity.ERROR
    assert issue.message_zh == "边界自相交" and "crosses" in issue.message_en


def test_validate_boundary__max_area_setting__is_respected():
    big = FAILING[9][1]
    assert IssueCode.TOO_LARGE not in [i.code for i in validate_boundary(big, max_area_mu=10_000_000)]
    assert IssueCode.TOO_LARGE in [i.code for i in validate_boundary(SQUARE, max_area_mu=100)]


def test_validate_boundary__wan_mu_demo_area__is_not_too_large():
    # ~1.2 万亩 (~8 km²) is a normal demonstration area under the 20,000 亩 default
    area_mu = geodesic_area(box(116, 39, 116.03, 39.03)) / (10000 / 15)
    assert 10_000 < area_mu < 20_000
    assert validate_boundary(box(116, 39, 116.03, 39.03)) == []


def test_repair_boundary__duplicates_open_and_clockwise__fixed_and_reported():
    result = repair_boundary([SQUARE[0], SQUARE[3], SQUARE[2], SQUARE[2], SQUARE[1]])
    assert result.geometry is not None and result.geometry.is_valid
    assert set(result.changes) == {RepairChange.CLOSED_RING, RepairChange.REMOVED_DUPLICATE_VERTICES,
                                   RepairChange.ORIENTED}
    assert result.geometry.exterior.is_ccw
    assert result.issues == []


def test_repair_boundary__small_gps_loop__is_split_with_area_kept():
    # walking west along the top edge, the agent makes a small loop that crosses the edge
    ring = [(116.0, 39.0), (116.01, 39.0), (116.01, 39.01), (116.006, 39.01), (116.004, 39.01),
            (116.0045, 39.0102), (116.0055, 39.0102), (116.005, 39.0099), (116.0, 39.01)]
    assert not Polygon(ring).is_valid
    result = repair_boundary(ring)
    assert RepairChange.SPLIT_SELF_INTERSECTION in result.changes
    assert result.geometry is not None and result.geometry.is_valid
    assert geodesic_area(result.geometry) == pytest.approx(geodesic_area(box(116, 39, 116.01, 39.01)), rel=0.005)


def test_repair_boundary__bow_tie__is_refused_not_guessed():
    result = repair_boundary(FAILING[4][1])
    assert result.geometry is None
    assert IssueCode.SELF_INTERSECTION in [i.code for i in result.issues]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.01), st.floats(0, 0.01)), min_size=3, max_size=15, unique=True),
       st.booleans(), st.integers(0, 10))
def test_repair_boundary__valid_input__keeps_area_within_half_percent(pts, reverse, dup_at):
    hull = Polygon([(112 + x, 34 + y) for x, y in pts]).convex_hull
    assume(isinstance(hull, Polygon) and geodesic_area(hull) >= 10)
    ring = list(hull.exterior.coords)[:-1]
    if reverse:
        ring.reverse()
    k = dup_at % len(ring)
    ring.insert(k, ring[k])
    result = repair_boundary(ring)
    assert result.geometry is not None
    assert geodesic_area(result.geometry) == pytest.approx(geodesic_area(hull), rel=0.005)


def _walked_ellipse(n: int, noise_deg: float, seed: int = 0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rng = np.random.default_rng(seed)
    return np.column_stack([116 + 0.003 * np.cos(t) + rng.normal(0, noise_deg, n),
                            39 + 0.002 * np.sin(t) + rng.normal(0, noise_deg, n)])


@pytest.mark.parametrize("noise", [0.0, 2e-6])
def test_simplify_track__thousands_of_fixes__few_vertices_area_within_half_percent(noise):
    track = _walked_ellipse(4000, noise)
    clean_area = geodesic_area(Polygon(_walked_ellipse(4000, 0.0)))
    out = simplify_track(track)
    assert out.is_valid and out.exterior.is_ccw
    assert len(out.exterior.coords) < 200
    assert geodesic_area(out) == pytest.approx(clean_area, rel=0.006)
    assert geodesic_area(out) == pytest.approx(geodesic_area(Polygon(track).buffer(0)), rel=0.005)


def test_simplify_track__max_vertices__stops_early():
    out = simplify_track(_walked_ellipse(2000, 0.0), max_vertices=500)
    assert len(out.exterior.coords) - 1 <= 500
