from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from shapely import box

import gis
from gis.maps import MapPlot, class_breaks, render_choropleth, render_county_map, render_province_map

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def _groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}g") if el.get("class") == cls]


@pytest.fixture(scope="module")
def national_svg() -> str:
    values = {code: float(int(code) % 97) for code in gis.county_index().county_codes}
    return render_choropleth(values, title="示范面积", unit="亩")


def test_national_choropleth__is_wellformed_with_legend_inset_lines_and_note(national_svg):
    root = _parse(national_svg)
    assert _groups(root, "legend") and _groups(root, "scale-bar")
    (inset,) = _groups(root, "inset")
    assert inset.get("data-name") == "南海诸岛"
    assert any("南海诸岛" in (t.text or "") for t in inset.iter(f"{SVG}text"))
    assert len(list(_groups(root, "boundary-lines")[0])) > 0
    note = [t for t in root.iter(f"{SVG}text") if t.get("class") == "approval-note"]
    assert note and "审图号" in note[0].text


def test_national_choropleth__colours_counties_by_class(national_svg):
    root = _parse(national_svg)
    paths = [p for p in root.iter(f"{SVG}path") if p.get("data-code")]
    assert len(paths) > 2800
    fills = {p.get("fill") for p in paths}
    assert len(fills) >= 5


def test_province_choropleth__has_only_its_counties_and_no_national_note():
    root = _parse(render_choropleth({"410102": 5.0, "410105": 9.0}, province="410000", unit="kg/亩"))
    codes = {p.get("data-code") for p in root.iter(f"{SVG}path") if p.get("data-code")}
    assert codes and all(c.startswith("41") for c in codes)
    assert not _groups(root, "inset")
    assert _groups(root, "legend")


def test_county_map__draws_plots_with_ids_and_scale_bar():
    c = gis.county_index().geometry_of("110108").representative_point()
    plots = [MapPlot("p<1>", box(c.x, c.y, c.x + 0.01, c.y + 0.01), "地块 & 1"), MapPlot("tiny", c.buffer(1e-6))]
    root = _parse(render_county_map("110108", plots))
    ids = [g.get("data-id") for g in _groups(root, "plot")]
    assert ids == ["p<1>", "tiny"]
    assert _groups(root, "scale-bar") and _groups(root, "north-arrow")


def test_province_map__unknown_province__raises_key_error():
    with pytest.raises(KeyError):
        render_province_map("990000", [])


def test_class_breaks__quantiles__ascending_and_end_at_max():
    assert class_breaks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5) == [2.8, 4.6, 6.4, 8.2, 10.0]
    assert class_breaks([]) == []
