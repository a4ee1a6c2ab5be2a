"""Administrative divisions as loaded by ``load_reference``: levels, retired codes, successors, tree, boundaries."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
from sqlalchemy import func, select

from catalog.divisions import (
    Division,
    DivisionBoundary,
    DivisionChange,
    ancestors,
    children,
    current_code,
    descendant_counties,
    load_boundaries,
    load_divisions,
    successors,
)
from catalog.errors import NotFound
from gis.area import geodesic_area


def _current(session, *where):  # type: ignore[no-untyped-def]
    q = select(func.count()).select_from(Division).where(Division.valid_to.is_(None), *where)
    return session.scalar(q)


def test_divisions__current_levels__match_the_official_counts(session):
    assert _current(session, Division.level == "province") == 34
    assert _current(session, Division.level == "prefecture") == 333
    assert _current(session, Division.level == "county") == 2847
    assert _current(session, Division.county_equivalent.is_(True)) == 2851


def test_divisions__parent__is_prefecture_or_province_for_municipalities(session):
    assert session.get(Division, "320583").parent_code == "320500"  # 昆山市 → 苏州市
    assert session.get(Division, "110105").parent_code == "110000"  # 朝阳区 → 北京市
    assert session.get(Division, "429004").parent_code == "420000"  # 仙桃市, 省直辖
    assert session.get(Division, "441900").county_equivalent  # 东莞市: a prefecture without counties


@pytest.mark.parametrize(("retired", "successor"), [
    ("500105", "500157"),  # 江北区 → 两江新区, 渝府发〔2025〕15号
    ("500112", "500157"),  # 渝北区 → 两江新区
    ("520221", "520204"),  # 水城县 → 水城区, 国函〔2020〕83号
    ("450127", "450181"),  # 横县 → 横州市, 民函〔2021〕7号
    ("422431", "420881"),  # 钟祥县 → 钟祥市 422406 (1992) → 420881: a chain of two changes
    ("432723", "430423"),  # 衡山县 → 430523 (1983) → 430423 (1984); 430523 was later reused for 邵阳县
    ("412502", "411281"),  # 义马市 → 419001 (1986) → 411281 (1995); 419001 is now 济源市
])
def test_successors__retired_code__follows_the_unit_to_its_current_code(session, retired, successor):
    assert session.get(Division, retired).valid_to is not None
    assert successors(session, retired) == [successor]
    assert current_code(session, retired) == successor


def test_retired_code__keeps_name_dates_and_parent(session):
    d = session.get(Division, "500105")
    assert (d.name, d.level, d.parent_code) == ("江北区", "county", "500000")
    assert d.valid_to == dt.date(2025, 1, 1)
    assert session.get(Division, "500157").valid_from == dt.date(2025, 1, 1)


def test_successors__current_code__is_itself(session):
    assert successors(session, "110105") == ["110105"]
    assert current_code(session, "110105") == "110105"


def test_successors__abolished_without_successor__none(session):
    assert successors(session, "133021") == []  # 衡水县, 撤销 1983 with no new code
    assert current_code(session, "133021") is None


def test_successors__split__gives_every_current_code(session):
    # No split in the shipped events: record one for 衡水县 (133021), retired without successor in 1983.
    session.add_all([
        DivisionChange(year=1983, type="撤销", level=3, old_code="133021", new_code="131102"),
        DivisionChange(year=1983, type="撤销", level=3, old_code="133021", new_code="131182"),
    ])
    session.flush()
    assert successors(session, "133021") == ["131102", "131182"]
    assert current_code(session, "133021") is None


def test_successors__unknown_code__not_found(session):
    with pytest.raises(NotFound):
        successors(session, "999999")
    assert current_code(session, "999999") is None


def test_change_events__loaded_with_document_numbers(session):
    events = session.scalars(select(DivisionChange).where(DivisionChange.old_code == "500105")).all()
    assert [(e.year, e.type, e.new_code, e.doc_no) for e in events] == [
        (2025, "撤销", "500157", "渝府发〔2025〕15号")
    ]


def test_tree__root_children__are_the_provinces(session):
    provinces = children(session, None)
    assert len(provinces) == 34 and children(session, "000000") == provinces
    assert {d.level for d in provinces} == {"province"}


def test_tree__ancestors__province_first(session):
    assert [d.code for d in ancestors(session, "320106")] == ["320000", "320100"]
    assert ancestors(session, "320000") == []


def test_tree__children__exclude_retired_unless_asked(session):
    current = {d.code for d in children(session, "500000")}
    assert "500157" in current and "500105" not in current
    assert "500105" in {d.code for d in children(session, "500000", include_retired=True)}


def test_tree__descendant_counties__by_level(session):
    assert len(descendant_counties(session, "320000")) == 95  # 江苏
    assert len(descendant_counties(session, "320100")) == 11  # 南京市
    assert descendant_counties(session, "441900") == ["441900"]  # 东莞市 is its own county
    assert descendant_counties(session, "320583") == ["320583"]
    assert len(descendant_counties(session, None)) == 2851


def test_load_divisions__run_again__changes_nothing(session):
    before = session.scalar(select(func.count()).select_from(Division))
    changes = session.scalar(select(func.count()).select_from(DivisionChange))
    counts = load_divisions(session)
    assert load_boundaries(session) == session.scalar(select(func.count()).select_from(DivisionBoundary))
    assert session.scalar(select(func.count()).select_from(Division)) == before
    assert session.scalar(select(func.count()).select_from(DivisionChange)) == changes == counts["division_changes"]
    assert counts["divisions"] + counts["retired_divisions"] == before


def test_boundaries__county__multipolygon_holding_its_label_point(session):
    haidian = session.get(Division, "110108")
    geom = session.get(DivisionBoundary, "110108").geom
    assert geom.geom_type == "MultiPolygon" and geom.is_valid
    assert geom.covers(shapely.Point(haidian.label_lng, haidian.label_lat))
    assert 400e6 < geodesic_area(geom) < 460e6  # 海淀区 ≈ 431 km²


def test_boundaries__every_county_but_the_newest__has_one(session):
    without = session.scalars(
        select(Division.code).where(Division.county_equivalent.is_(True), Division.valid_to.is_(None),
                                    Division.has_polygon.is_(False)).order_by(Division.code)
    ).all()
    assert without == ["653132", "653228", "653229", "659013"]  # created 2024–2026, newer than the polygons


def test_boundaries__merged_code__union_of_its_predecessors(session):
    merged = geodesic_area(session.get(DivisionBoundary, "500157").geom)
    parts = geodesic_area(session.get(DivisionBoundary, "500105").geom) + geodesic_area(
        session.get(DivisionBoundary, "500112").geom)
    assert merged == pytest.approx(parts, rel=0.01)
    assert session.get(Division, "500157").has_polygon


def test_boundaries__province__stored(session):
    assert session.get(DivisionBoundary, "320000").geom.bounds[0] == pytest.approx(116.4, abs=0.2)
