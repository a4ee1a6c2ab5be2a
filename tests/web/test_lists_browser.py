"""List pages in headless Chromium: a ministry officer composes and publishes national issues, the issue page
shows what changed since the previous one, exports an XLSX that holds what the page shows, and prints; anonymous
visitors read published issues only. SQLite and PostGIS (through ``db_url``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.web.conftest import Demo

pytestmark = pytest.mark.browser


def follow(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def entry_names(page: Any) -> list[str]:
    return [n.strip() for n in page.locator(".entries tr.entry td:nth-child(2)").all_inner_texts()]


def test_lists__compose_publish_diff_export_and_print(page: Any, demo: Demo, open_page: Callable[..., Any],
                                                      tmp_path: Path) -> None:
    page.goto("/")
    follow(page, '.main-nav a:has-text("成果清单")')
    assert page.locator("h1").inner_text() == "成果清单"
    assert "河南省地方先进适用技术成果清单" in page.locator(".lists-table").inner_text()
    follow(page, '.list-national h2 a')
    assert page.locator("h1").inner_text() == "国家科技计划成果清单"
    follow(page, ".new-issue button")
    assert "草稿" in page.locator(".result-badges").inner_text()
    assert page.locator(".entries").count() == 0  # nothing published yet: nothing carried over

    # The reviewed soybean result and the (already published) maize one are candidates; drafts are not.
    candidates = page.locator(".candidates label").all_inner_texts()
    assert any("高蛋白大豆新品种中黄301" in c for c in candidates)
    assert not any("东北黑土地保护性耕作技术" in c for c in candidates)  # submitted only
    page.check('.candidates label:has-text("高蛋白大豆新品种中黄301") input')
    follow(page, "#add-selected")
    assert entry_names(page) == ["高蛋白大豆新品种中黄301"]
    follow(page, "#publish")
    title = page.locator(".issue-title").inner_text()
    assert re.fullmatch(r"\d{4}年第1期", title) and "已发布" in page.locator(".result-badges").inner_text()
    assert "这是本清单的第一期" in page.locator(".diff").inner_text()
    assert page.locator(".compose").count() == 0  # a published issue has no editing any more
    first_url = page.url

    # The next issue starts from the first: take soybean off, put maize on, publish, and read the difference.
    page.goto("/lists/national")
    follow(page, ".new-issue button")
    assert entry_names(page) == ["高蛋白大豆新品种中黄301"]
    follow(page, '.entries tr:has-text("高蛋白大豆新品种中黄301") .remove-entry')
    page.check('.candidates label:has-text("耐密高产玉米新品种郑单958") input')
    follow(page, "#add-selected")
    follow(page, "#publish")
    assert re.fullmatch(r"\d{4}年第2期", page.locator(".issue-title").inner_text())
    diff = page.locator(".diff")
    expect(diff.locator(".diff-summary")).to_contain_text("新增 1 项，移出 1 项")
    assert "耐密高产玉米新品种郑单958" in diff.locator(".diff-added").inner_text()
    assert "高蛋白大豆新品种中黄301" in diff.locator(".diff-removed").inner_text()
    shown = entry_names(page)
    page.screenshot(path=str(tmp_path / "issue.png"), full_page=True)

    with page.expect_download() as info:
        page.click('.export a[data-export="xlsx"]')
    saved = tmp_path / "issue.xlsx"
    info.value.save_as(str(saved))
    book = openpyxl.load_workbook(saved, read_only=True)
    try:
        header, *rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()  # a read-only workbook holds its file open until closed
    assert [row[header.index("成果名称")] for row in rows] == shown

    follow(page, '.export a:has-text("打印版")')
    assert page.locator("h1").inner_text() == "国家科技计划成果清单"
    assert entry_names(page) == shown and page.locator("nav").count() == 0
    page.screenshot(path=str(tmp_path / "print.png"), full_page=True)

    # Anonymous: the published issues and their pages, no draft, no composing.
    anon = open_page(anonymous=True)
    anon.goto("/lists/national")
    assert anon.locator(".issue-item").count() == 2 and anon.locator(".new-issue").count() == 0
    anon.goto(first_url)
    assert entry_names(anon) == ["高蛋白大豆新品种中黄301"]  # the first issue is as it was published


def test_lists__a_draft_is_not_found_for_anonymous(page: Any, open_page: Callable[..., Any], traffic: Any) -> None:
    page.goto("/lists/national")
    follow(page, ".new-issue button")
    draft_url = page.url
    anon = open_page(anonymous=True)
    response = anon.goto(draft_url)
    assert response is not None and response.status == 404
    assert all("404" in e for e in traffic.errors), traffic.errors
    traffic.errors.clear()
