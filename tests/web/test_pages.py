"""The pages as HTML (Flask test client, both engines), and the helpers behind them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from catalog.search import FACETS
from server.i18n import MESSAGES
from server.web.browse import FACET_ORDER, BrowseState, excerpt, highlight, page_links, query_words
from tests.web.conftest import Demo


def html(client: Any, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


def test_facet_order__covers_every_search_facet() -> None:
    assert sorted(FACET_ORDER) == sorted(FACETS)


def test_messages__every_key_has_zh_and_en() -> None:
    assert all(zh and en for zh, en in MESSAGES.values())


def test_templates__use_only_known_message_keys() -> None:
    from pathlib import Path

    import server

    folder = Path(server.__file__).parent / "templates"
    found = [m for f in folder.glob("*.html") for m in re.findall(r"\bt\('([a-z_.]+)'(\s*~)?", f.read_text("utf-8"))]
    keys = {k for k, joined in found if not joined}
    prefixes = {k for k, joined in found if joined}  # t('state.' ~ r.state): some key must start so
    assert keys and keys <= set(MESSAGES), keys - set(MESSAGES)
    assert all(any(m.startswith(p) for m in MESSAGES) for p in prefixes), prefixes


def test_highlight__escapes_html_and_marks_words() -> None:
    out = highlight("<b>玉米</b> & 玉米", ["玉米"])
    assert isinstance(out, Markup)
    assert out == "&lt;b&gt;<mark>玉米</mark>&lt;/b&gt; &amp; <mark>玉米</mark>"


def test_query_words__cjk_run__adds_its_bigrams_longest_first() -> None:
    assert query_words("耐密玉米 zd") == ["耐密玉米", "耐密", "密玉", "玉米", "zd"]
    assert query_words("<script>") == ["script"]


def test_excerpt__match_far_in__starts_near_it() -> None:
    text = "甲" * 300 + "玉米" + "乙" * 300
    out = excerpt(text, ["玉米"], width=100)
    assert out.startswith("…") and out.endswith("…") and "<mark>玉米</mark>" in out


@pytest.mark.parametrize("page, pages, expected", [
    (1, 1, [1]),
    (1, 3, [1, 2, 3]),
    (5, 10, [1, None, 3, 4, 5, 6, 7, None, 10]),
    (10, 10, [1, None, 8, 9, 10]),
])
def test_page_links__window_and_gaps(page: int, pages: int, expected: list[int | None]) -> None:
    assert page_links(page, pages) == expected


def test_browse_state__bad_values__dropped_not_refused() -> None:
    state = BrowseState.from_args(MultiDict([("trl", "x"), ("trl", "7,8"), ("sort", "nope"), ("page", "-3"),
                                             ("per_page", "abc"), ("crop", "maize"), ("crop", "maize"),
                                             ("lang", "en"), ("q", "  玉米 ")]))
    assert state.filters == {"trl": ("7", "8"), "crop": ("maize",)}
    assert (state.q, state.sort, state.page, state.per_page) == ("玉米", "relevance", 1, 20)


def test_results__default__chinese_page_with_every_result(signed_in: Any, demo: Demo) -> None:
    body = html(signed_in, "/")
    assert '<html lang="zh-CN">' in body
    assert "共 5 项成果" in body
    for name in demo.ids:
        assert name in body
    assert 'data-facet="province"' in body and "黑龙江省" in body  # province names from the division table
    assert "<b>不是标签</b>" not in body and "&lt;b&gt;不是标签&lt;/b&gt;" in body


def test_results__query__highlights_and_filters(client: Any, demo: Demo) -> None:
    body = html(client, "/results?q=玉米")
    assert "共 1 项成果" in body
    assert "<mark>玉米</mark>" in body
    assert "大豆" not in body.split('class="result-list"')[1]


def test_results__facet_selected__chip_and_or_counts(signed_in: Any, demo: Demo) -> None:
    body = html(signed_in, "/results?crop=maize")
    assert "共 1 项成果" in body
    assert 'class="chip"' in body and "作物：玉米" in body
    # Within a facet values OR: the other crops keep their counts, and their links add to the selection.
    soybean = re.search(r'href="([^"]+)" data-value="soybean"[^>]*>.*?<span class="count">(\d+)</span>', body)
    assert soybean and soybean.group(2) == "1"
    assert "crop=maize&amp;crop=soybean" in soybean.group(1)
    body = html(signed_in, "/results?crop=maize&crop=soybean")
    assert "共 2 项成果" in body


def test_results__parent_code__finds_sub_field(signed_in: Any, demo: Demo) -> None:
    body = html(signed_in, "/results?tech_field=TF02")
    assert "共 1 项成果" in body and "东北黑土地保护性耕作技术" in body
    assert "耕地保育与地力提升 › 黑土地保护" in body  # the chip names the parent too


def test_results__export_links__carry_the_query_without_paging(client: Any, demo: Demo) -> None:
    body = html(client, "/results?q=玉米&crop=maize&sort=name&page=1&per_page=2&lang=en")
    xlsx = re.search(r'href="([^"]+)" data-export="xlsx"', body)
    assert xlsx and xlsx.group(1) == "/api/results/export.xlsx?q=%E7%8E%89%E7%B1%B3&amp;crop=maize&amp;sort=name"


def test_results__english__switch_and_cookie(signed_in: Any, demo: Demo) -> None:
    client = signed_in
    r = client.get("/results?lang=en")
    body = r.get_data(as_text=True)
    assert '<html lang="en">' in body and "5 results" in body and "Technology field" in body
    assert any("lang=en" in c for c in r.headers.getlist("Set-Cookie"))  # the session's cookie may come too
    body = html(client, "/codelists")  # the cookie keeps English
    assert '<html lang="en">' in body and "Code lists" in body
    body = html(client, "/codelists?lang=zh")
    assert '<html lang="zh-CN">' in body


def test_pages__strict_csp__no_inline_script_or_handler(client: Any, demo: Demo) -> None:
    rid = demo.id_of("耐密")
    for url in ("/", f"/results/{rid}", "/codelists", "/api/docs"):
        r = client.get(url)
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        body = r.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", body), url
        assert not re.search(r"\son[a-z]+=", body), url
        assert not re.search(r"\bstyle=", body), url
        assert "http://" not in body and "https://" not in body, url  # nothing from elsewhere


def test_result_page__every_field_readable(signed_in: Any, demo: Demo) -> None:
    # Signed in as a ministry officer, who sees the contact phone in full (anonymous visitors see it masked).
    body = html(signed_in, f"/results/{demo.id_of('耐密')}")
    for text in ("种业与生物育种", "（主）", "作物栽培与丰产增效", "玉米", "粮食作物 › 玉米", "平原", "干旱半干旱耕地",
                 "8级 定型与推广", "共 9 级", "GB/T 22900-2022", "成熟应用", "品种", "植物新品种权", "CNA20180001.1",
                 "国审玉2018001", "9412018Y0001", "河南省 › 郑州市 › 中原区", "黑龙江省 › 哈尔滨市 › 五常市", "河北省",
                 "增产", "8.5 %", "许可", "合作实施", "许可费面议", "王老师", "0371-65710000", "contact@example.org",
                 "七大农作物育种", "2018YFD0100100", "河南省农业科学院", "张三", "已发布", "2024年第一批",
                 "审核通过", "提交", "发布", "reviewer@test"):
        assert text in body, text


def test_result_page__history_in_beijing_time(signed_in: Any, demo: Demo) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    body = html(signed_in, f"/results/{demo.id_of('小麦')}")  # withdrawn: signed-in readers only
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    assert today in body
    assert "已被新版技术规程替代" in body and "已撤回" in body


def test_result_page__unknown_id__404_page(client: Any, demo: Demo) -> None:
    body = html(client, "/results/00000000-0000-0000-0000-000000000000", status=404)
    assert "成果不存在" in body and "返回首页" in body and 'href="/static/site.css"' in body
    body = html(client, "/no/such/page?lang=en", status=404)
    assert '<html lang="en">' in body and "Not found" in body


def test_codelists__hierarchy_names_and_retired(client: Any, app: Any, demo: Demo) -> None:
    from sqlalchemy.orm import Session

    from catalog.codelists import Code

    with Session(app.extensions["yx_engine"]) as s, s.begin():
        s.get_one(Code, ("crop", "forage")).retired_in = 2
    body = html(client, "/codelists")
    assert 'id="list-tech_field"' in body and 'id="list-transfer_mode"' in body
    assert re.search(r'class="depth-1" data-code="TF0201"', body)
    assert "Black soil protection" in body and "标准含水率 14%" in body
    assert re.search(r'class="depth-0 retired" data-code="forage".*?已停用（第 2 版）', body, re.S)


def test_apidocs__shell_points_at_the_spec(client: Any) -> None:
    body = html(client, "/api/docs")
    assert 'data-spec="/api/openapi.json"' in body and "/static/apidocs.js" in body
    with client.get("/static/apidocs.js") as script:
        assert script.status_code == 200 and "fetch(" in script.get_data(as_text=True)


# ------------------------------------------------------------------------------------------------ access


def test_results__anonymous__lists_only_published_results(client: Any, demo: Demo) -> None:
    body = html(client, "/")
    assert "共 1 项成果" in body
    listed = body.split('class="result-list"')[1]
    assert "耐密高产玉米新品种郑单958" in listed  # the one published result
    for name in demo.ids:
        if not name.startswith("耐密"):
            assert name not in body, name
    # Asking for other states by name finds nothing, and their counts are not shown either.
    assert "共 0 项成果" in html(client, "/results?state=draft")
    assert "共 0 项成果" in html(client, "/results?q=大豆")


def test_result_page__draft__404_for_anonymous_and_readable_signed_in(client: Any, app: Any, demo: Demo,
                                                                      reader: tuple[str, str]) -> None:
    draft = demo.id_of("盐碱地")
    body = html(client, f"/results/{draft}", status=404)
    assert "成果不存在" in body and "盐碱地水稻插秧机" not in body
    for prefix in ("高蛋白", "东北黑土地", "小麦"):  # reviewed, submitted, withdrawn: not published either
        assert client.get(f"/results/{demo.id_of(prefix)}").status_code == 404, prefix
    signed_in = app.test_client()
    assert signed_in.post("/api/auth/login", json=dict(zip(("username", "password"), reader, strict=True))
                          ).status_code == 200
    assert "盐碱地水稻插秧机" in html(signed_in, f"/results/{draft}")


def test_result_page__anonymous__published_result_with_the_phone_masked(client: Any, demo: Demo) -> None:
    body = html(client, f"/results/{demo.id_of('耐密')}")
    assert "耐密高产玉米新品种郑单958" in body and "王老师" in body
    assert "0371-****0000" in body and "0371-65710000" not in body
