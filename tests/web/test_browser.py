"""The pages in headless Chromium: search, facets, chips, sort, pages, result page, language, export, docs, 404."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.web.conftest import Demo, Traffic

pytestmark = pytest.mark.browser


def follow(page: Any, selector: str) -> None:
    """Click a link or submit button and wait for the new page to load: a click only starts a navigation, so
    reading the page straight after it may read a document that is not parsed yet."""
    with page.expect_navigation():
        page.click(selector)


def names(page: Any) -> list[str]:
    return [n.strip() for n in page.locator(".result-item h2 a").all_inner_texts()]


def count_text(page: Any) -> str:
    return str(page.locator(".result-count strong").inner_text())


def query_of(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_search__maize__finds_maize_not_soybean(page: Any, tmp_path: Path) -> None:
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert count_text(page) == "共 5 项成果"
    page.fill("#q", "玉米")
    page.press("#q", "Enter")
    page.wait_for_url("**/results?q=*")
    assert names(page) == ["耐密高产玉米新品种郑单958"]
    assert "高蛋白大豆新品种中黄301" not in page.locator(".result-list").inner_text()
    assert page.locator(".result-item mark").first.inner_text() == "玉米"
    page.screenshot(path=str(tmp_path / "browser.png"), full_page=True)


def test_facet__click_filters_and_chip_removes(page: Any) -> None:
    page.goto("/results")
    follow(page, '.facet[data-facet="crop"] a[data-value="soybean"]')
    page.wait_for_url("**/results?crop=soybean")
    assert names(page) == ["高蛋白大豆新品种中黄301"]
    chip = page.locator(".chip")
    assert chip.count() == 1 and "作物：大豆" in chip.inner_text()
    assert page.locator('.facet[data-facet="crop"] a[data-value="soybean"]').get_attribute("aria-current") == "true"

    # A second value in the same facet widens (OR); a second facet narrows (AND).
    follow(page, '.facet[data-facet="crop"] a[data-value="maize"]')
    assert query_of(page) == {"crop": ["soybean", "maize"]}
    assert sorted(names(page)) == ["耐密高产玉米新品种郑单958", "高蛋白大豆新品种中黄301"]
    page.click('.facet[data-facet="trl"] summary')  # a closed facet: open it first, as a user would
    follow(page, '.facet[data-facet="trl"] a[data-value="7"]')
    assert query_of(page) == {"crop": ["soybean", "maize"], "trl": ["7"]}
    assert names(page) == ["高蛋白大豆新品种中黄301"]  # the maize result has TRL 8
    assert page.locator(".chip").count() == 3

    follow(page, '.chip:has-text("技术成熟度")')
    assert query_of(page) == {"crop": ["soybean", "maize"]}
    assert len(names(page)) == 2
    follow(page, ".chip-clear")
    assert count_text(page) == "共 5 项成果" and page.locator(".chip").count() == 0


def test_sort__name_and_date(page: Any) -> None:
    page.goto("/results?sort=date")
    by_date = names(page)
    assert by_date[0] == "小麦赤霉病绿色防控技术"  # created and changed last
    follow(page, '.sort a[data-sort="name"]')
    assert query_of(page)["sort"] == ["name"]
    assert page.locator('.sort a[data-sort="name"]').get_attribute("aria-current") == "true"
    assert names(page) == sorted(by_date)
    assert names(page) != by_date


def test_pagination__three_pages_of_two(page: Any) -> None:
    page.goto("/results?per_page=2&sort=name")
    first = names(page)
    assert len(first) == 2 and "第 1 / 3 页" in page.locator(".pager").inner_text()
    follow(page, '.pager a[data-page="next"]')
    second = names(page)
    assert query_of(page)["page"] == ["2"] and len(second) == 2 and not set(first) & set(second)
    follow(page, '.pager a[data-page="3"]')
    third = names(page)
    assert len(third) == 1 and page.locator(".pager .current").inner_text() == "3"
    assert page.locator('.pager a[data-page="next"]').count() == 0
    assert len(set(first + second + third)) == 5


def test_result_page__chinese_labels(page: Any, demo: Demo, tmp_path: Path) -> None:
    page.goto("/results?q=郑单958")
    follow(page, ".result-item h2 a")
    page.wait_for_url(f"**/results/{demo.id_of('耐密')}")
    text = page.locator("main").inner_text()
    for label in ("种业与生物育种", "粮食作物 › 玉米", "8级 定型与推广", "黑龙江省 › 哈尔滨市 › 五常市", "植物新品种权",
                  "许可", "已发布", "审核通过", "增产"):
        assert label in text, label
    assert "TF01" not in text and "maize" not in text  # codes show as names
    assert page.locator(".trl-scale li.current").inner_text() == "8"
    page.screenshot(path=str(tmp_path / "result.png"), full_page=True)


def test_english_switch__every_page_and_remembered(page: Any, demo: Demo) -> None:
    page.goto("/results?crop=maize")
    follow(page, '.lang-switch a[hreflang="en"]')
    assert page.locator("html").get_attribute("lang") == "en"
    assert count_text(page) == "1 results" and "Crop: Maize" in page.locator(".chip").inner_text()
    follow(page, '.main-nav a:has-text("Code lists")')  # the cookie carries the choice
    assert page.locator("h1").inner_text() == "Code lists"
    page.goto(f"/results/{demo.id_of('耐密')}")
    assert "Seed industry and biological breeding" in page.locator("main").inner_text()
    follow(page, '.lang-switch a[hreflang="zh-CN"]')
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "种业与生物育种" in page.locator("main").inner_text()


@pytest.mark.parametrize("fmt, magic", [("csv", b"\xef\xbb\xbf"), ("xlsx", b"PK")])
def test_export__button_downloads_the_current_list(page: Any, fmt: str, magic: bytes, tmp_path: Path) -> None:
    page.goto("/results?q=玉米&crop=maize")
    button = page.locator(f'.export a[data-export="{fmt}"]')
    href = button.get_attribute("href")
    assert href is not None
    assert urlsplit(href).path == f"/api/results/export.{fmt}"
    assert parse_qs(urlsplit(href).query) == {"q": ["玉米"], "crop": ["maize"]}
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.failure() is None
    saved = tmp_path / f"export.{fmt}"
    download.save_as(str(saved))
    data = saved.read_bytes()
    assert data.startswith(magic)
    if fmt == "csv":
        assert "耐密高产玉米新品种郑单958" in data.decode("utf-8-sig") and "大豆" not in data.decode("utf-8-sig")


def test_apidocs__lists_results_endpoint(page: Any, tmp_path: Path) -> None:
    page.goto("/api/docs")
    op = page.locator('.op[data-path="/api/results"][data-method="get"]')
    op.wait_for()
    assert "检索成果" in op.inner_text()
    op.locator("summary").click()
    body = op.locator(".op-body").inner_text()
    assert "per_page" in body and "ResultList" in body
    assert page.locator('.api-tag[data-tag="codelists"] .op').count() >= 2
    page.screenshot(path=str(tmp_path / "apidocs.png"), full_page=True)


def test_not_found__unknown_result_and_path(page: Any, traffic: Traffic) -> None:
    response = page.goto("/results/00000000-0000-0000-0000-000000000000")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "成果不存在"
    follow(page, ".error-page a.button")
    assert count_text(page) == "共 5 项成果"
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    # The 404 documents themselves are the only errors the console may have seen.
    assert all("404" in e for e in traffic.errors), traffic.errors
    traffic.errors.clear()


def test_phone__no_sideways_scroll_and_filters_folded(open_page: Callable[..., Any], demo: Demo,
                                                      tmp_path: Path) -> None:
    page = open_page(viewport={"width": 375, "height": 812}, is_mobile=True)
    for url in ("/results", f"/results/{demo.id_of('耐密')}", "/codelists", "/api/docs"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, url
    page.goto("/results")
    assert page.locator(".facets-panel").get_attribute("open") is None  # folded by site.js
    page.screenshot(path=str(tmp_path / "phone.png"))


def test_without_javascript__search_and_filter_work(open_page: Callable[..., Any]) -> None:
    page = open_page(java_script_enabled=False)
    page.goto("/")
    page.fill("#q", "大豆")
    follow(page, ".search button")
    assert names(page) == ["高蛋白大豆新品种中黄301"]
    page.click('.facet[data-facet="state"] summary')
    follow(page, '.facet[data-facet="state"] a[data-value="reviewed"]')
    assert query_of(page) == {"q": ["大豆"], "state": ["reviewed"]}
    assert names(page) == ["高蛋白大豆新品种中黄301"]
    assert page.locator(".facets-panel").get_attribute("open") is not None  # nothing folds it


def test_anonymous__only_published_results_and_a_draft_not_found(open_page: Callable[..., Any], demo: Demo,
                                                                 traffic: Traffic) -> None:
    page = open_page(anonymous=True)
    page.goto("/")
    assert count_text(page) == "共 1 项成果"
    assert names(page) == ["耐密高产玉米新品种郑单958"]
    response = page.goto(f"/results/{demo.id_of('盐碱地')}")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "成果不存在"
    assert "盐碱地水稻插秧机" not in page.content()
    assert all("404" in e for e in traffic.errors), traffic.errors
    traffic.errors.clear()
