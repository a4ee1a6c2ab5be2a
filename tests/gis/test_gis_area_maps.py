"""Area choropleths (gis.maps.render_area_choropleth): provinces of the country, prefectures dissolved from their
counties, counties of a prefecture; each region a link when given one, a legend, no-data regions grey."""

from __future__ import annotations

import re

import pytest

from gis import maps


def test_provinces__links_legend_and_national_overlays() -> None:
    svg = maps.render_area_choropleth({"410000": 210.0, "130000": 100.0}, level="province",
                                      links={"410000": "/coverage/410000?a=1&b=2"}, unit="亩", title="全国")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert re.search(r'<a href="/coverage/410000\?a=1&amp;b=2" class="region-link" data-code="410000">', svg)
    assert svg.count('class="region-link"') == 1  # only the regions given a link
    assert len(re.findall(r'<path d="[^"]+" fill="[^"]+" data-code="\d{6}"', svg)) >= 31
    assert '<g class="legend">' in svg and "无数据" in svg and "南海诸岛" in svg and "审图号" in svg
    assert f'fill="{maps.NO_DATA}" data-code="650000"' in svg  # 新疆: no value
    assert 'data-code="410000" data-value="210.0"' in svg


def test_prefectures__one_region_per_prefecture_of_the_province() -> None:
    svg = maps.render_area_choropleth({"410100": 5.0}, level="prefecture", within="41",
                                      names={"410100": "郑州市"})
    codes = set(re.findall(r'data-code="(\d{6})"', svg))
    assert "410100" in codes and "410200" in codes and all(c.startswith("41") and c.endswith("00") for c in codes)
    assert "<title>郑州市 410100: 5 </title>" in svg


def test_counties__of_one_prefecture_only() -> None:
    svg = maps.render_area_choropleth({"410122": 3.0, "410184": 2.0}, level="county", within="4101")
    codes = set(re.findall(r'data-code="(\d{6})"', svg))
    assert {"410122", "410184"} <= codes and all(c.startswith("4101") for c in codes)


def test_bad_level_or_area__refused() -> None:
    with pytest.raises(ValueError):
        maps.render_area_choropleth({}, level="town")
    with pytest.raises(KeyError):
        maps.render_area_choropleth({}, level="county", within="99")
