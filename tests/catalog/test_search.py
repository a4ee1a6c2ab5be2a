from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from catalog.access import SYSTEM, operator
from catalog.audit import act_as
from catalog.db import make_engine
from catalog.lifecycle import transition
from catalog.results import Result
from catalog.search import FACETS, SearchQuery, facet_counts, search
from catalog.search_index import query_terms, tokens
from tests.catalog.factories import make_result

CORPUS = [
    # name, fields
    ("耐密高产玉米新品种郑单958", {"crops": ["maize"], "industry_types": ["IT0103"], "trl": 9, "form": "variety",
                           "suitable_regions": ["410000", "130000"], "land_scenarios": ["SC0102"]}),
    ("东北黑土区玉米秸秆还田技术规程", {"crops": ["maize"], "tech_fields": ["TF0201", "TF03"], "trl": 7,
                          "form": "procedure", "suitable_regions": ["230000"], "land_scenarios": ["SC0101"],
                          "summary": "适用于黑土地保护"}),
    ("高蛋白大豆新品种中黄301", {"crops": ["soybean"], "industry_types": ["IT0104"], "trl": 8, "form": "variety",
                          "suitable_regions": ["230000"]}),
    ("盐碱地水稻插秧机", {"crops": ["rice_japonica"], "tech_fields": ["TF06"], "industry_types": ["IT0101"],
                  "trl": 6, "form": "equipment", "land_scenarios": ["SC0103"], "keywords": ["耐盐碱", "机插"]}),
    ("小麦赤霉病绿色防控技术", {"crops": ["wheat"], "tech_fields": ["TF05"], "industry_types": ["IT0102"], "trl": 7,
                       "form": "procedure", "summary": "减少化学农药用量，玉米小麦轮作区适用", "source": "local",
                       "source_province": "410000", "suitable_regions": ["410000"]}),
]


@pytest.fixture
def corpus(session: Session) -> dict[str, str]:
    ids = {}
    for name, fields in CORPUS:
        ids[name] = make_result(session, name, **fields).id
    r = session.get_one(Result, ids["高蛋白大豆新品种中黄301"])
    transition(session, r, "submit", "t")
    session.commit()
    return ids


def names(session: Session, **kw) -> set[str]:  # type: ignore[no-untyped-def]
    page = search(session, SearchQuery(actor=SYSTEM, per_page=100, **kw))
    assert page.total == len(page.items)
    return {r.name for r in page.items}


def test_tokens__chinese_and_latin__bigrams_and_words():
    assert tokens("玉米") == ["玉米", "玉", "米"]
    assert tokens("郑单958 ZD-958") == ["郑单", "郑", "单", "958", "zd-958"]
    assert query_terms("大豆") == [(["大豆"], False)]


@pytest.mark.parametrize("q, expected", [
    ("玉米", {"耐密高产玉米新品种郑单958", "东北黑土区玉米秸秆还田技术规程", "小麦赤霉病绿色防控技术"}),  # summary too
    ("大豆", {"高蛋白大豆新品种中黄301"}),
    ("耐密高产", {"耐密高产玉米新品种郑单958"}),
    ("黑土", {"东北黑土区玉米秸秆还田技术规程"}),
    ("玉米 黑土", {"东北黑土区玉米秸秆还田技术规程"}),
    ("耐盐碱", {"盐碱地水稻插秧机"}),             # keywords are searched
    ("稻", {"盐碱地水稻插秧机"}),                  # one character
    ("958", {"耐密高产玉米新品种郑单958"}),
    ("棉花", set()),
    ("米玉", set()),                               # order matters within a word
])
def test_search__chinese_text__finds_by_words_of_any_length(session, corpus, q, expected):
    assert names(session, q=q) == expected


def test_search__relevance__name_match_ranks_above_summary_match(session, corpus):
    page = search(session, SearchQuery(actor=SYSTEM, q="玉米", per_page=10))
    assert page.items[-1].name == "小麦赤霉病绿色防控技术"


@pytest.mark.parametrize("filters, expected", [
    ({"crop": ["maize"]}, {"耐密高产玉米新品种郑单958", "东北黑土区玉米秸秆还田技术规程"}),
    ({"crop": ["maize", "soybean"]},
     {"耐密高产玉米新品种郑单958", "东北黑土区玉米秸秆还田技术规程", "高蛋白大豆新品种中黄301"}),
    ({"crop": ["rice"]}, {"盐碱地水稻插秧机"}),                      # parent code finds rice_japonica
    ({"tech_field": ["TF02"]}, {"东北黑土区玉米秸秆还田技术规程"}),   # parent code finds TF0201
    ({"province": ["230000"]}, {"东北黑土区玉米秸秆还田技术规程", "高蛋白大豆新品种中黄301"}),
    ({"province": ["230000"], "form": ["variety"]}, {"高蛋白大豆新品种中黄301"}),
    ({"trl": ["9", "6"]}, {"耐密高产玉米新品种郑单958", "盐碱地水稻插秧机"}),
    ({"land_scenario": ["SC0103"]}, {"盐碱地水稻插秧机"}),
    ({"source": ["local"]}, {"小麦赤霉病绿色防控技术"}),
    ({"state": ["submitted"]}, {"高蛋白大豆新品种中黄301"}),
    ({"industry_type": ["IT01"], "crop": ["wheat"]}, {"小麦赤霉病绿色防控技术"}),
])
def test_search__facet_filters__and_across_or_within(session, corpus, filters, expected):
    assert names(session, filters=filters) == expected


def test_facet_counts__every_facet__counts_match_filtered_search(session, corpus):
    q = SearchQuery(actor=SYSTEM, q="玉米")
    counts = facet_counts(session, q)
    assert set(counts) == set(FACETS)
    assert counts["crop"] == {"maize": 2, "wheat": 1}
    assert counts["state"] == {"draft": 3}
    assert counts["province"] == {"410000": 2, "130000": 1, "230000": 1}
    assert counts["trl"] == {"9": 1, "7": 2}
    for facet, values in counts.items():
        for value, n in values.items():
            filtered = search(session, SearchQuery(actor=SYSTEM, q="玉米", filters={facet: [value]}, per_page=1))
            assert filtered.total == n, (facet, value)


def test_search__pages_and_sorts(session, corpus):
    first = search(session, SearchQuery(actor=SYSTEM, sort="name", per_page=2, page=1))
    second = search(session, SearchQuery(actor=SYSTEM, sort="name", per_page=2, page=2))
    third = search(session, SearchQuery(actor=SYSTEM, sort="name", per_page=2, page=3))
    assert first.total == 5 and len(third.items) == 1
    all_names = [r.name for r in first.items + second.items + third.items]
    assert len(set(all_names)) == 5 and all_names == sorted(all_names)
    newest = search(session, SearchQuery(actor=SYSTEM, sort="date", per_page=1))
    assert newest.items[0].name == "高蛋白大豆新品种中黄301"  # changed last (submitted)
    # A text query in date or name order is not ranked: its hits keep the order of the whole list.
    by_date = [r.id for r in search(session, SearchQuery(actor=SYSTEM, sort="date")).items]
    maize = {r.id for r in search(session, SearchQuery(actor=SYSTEM, q="玉米")).items}
    assert len(maize) == 3
    assert [r.id for r in search(session, SearchQuery(actor=SYSTEM, q="玉米", sort="date")).items] == \
        [i for i in by_date if i in maize]


QUERIES = [("玉米", {}), ("稻", {}), ("", {"crop": ["maize"]}), ("大豆", {"province": ["230000"]}),
           ("技术", {"trl": ["7"]}), ("黑土 玉米", {}), ("", {"tech_field": ["TF02"], "state": ["draft"]})]


@pytest.mark.postgis
def test_search__sqlite_and_postgis__same_answers(sqlite_url, postgis_url):
    answers = []
    for url in (sqlite_url, postgis_url):
        engine = make_engine(url)
        with act_as(Session(engine), operator("test")) as s:
            for name, fields in CORPUS:
                make_result(s, name, **fields)
            s.commit()
            answers.append([
                (names(s, q=q, filters=f), facet_counts(s, SearchQuery(actor=SYSTEM, q=q, filters=f)),
                 [r.name for r in search(s, SearchQuery(actor=SYSTEM, q=q, filters=f, sort="name")).items])
                for q, f in QUERIES
            ])
        engine.dispose()
    assert answers[0] == answers[1]
