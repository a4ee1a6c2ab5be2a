from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog.access import SYSTEM
from catalog.demo import (
    BulkReference,
    DemoClock,
    DemoGenerator,
    Places,
    analyse_title,
    bulk_insert_results,
    projects,
    seed_results,
    special_projects,
)
from catalog.results import Result, ResultCode, ResultEvent, ResultRegion
from catalog.search import FACETS, SearchQuery, facet_counts, search
from catalog.search_index import ResultText

ROOT = Path(__file__).resolve().parents[2]


def dump(session: Session) -> dict[str, Any]:
    """Everything the demo writes, in a stable order (the text index's surrogate doc_id left out)."""
    def rows(model: Any, *order: Any, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        cols = [c.key for c in model.__table__.columns if c.key not in skip]
        return [{c: getattr(o, c) for c in cols} for o in session.scalars(select(model).order_by(*order))]

    session.expire_all()
    return {
        "results": rows(Result, Result.id),
        "codes": rows(ResultCode, ResultCode.result_id, ResultCode.dimension, ResultCode.code),
        "regions": rows(ResultRegion, ResultRegion.result_id, ResultRegion.division_code),
        "text": rows(ResultText, ResultText.result_id, skip=("doc_id",)),
        "events": rows(ResultEvent, ResultEvent.id),
    }


def wipe(session: Session) -> None:
    for model in (ResultEvent, ResultText, ResultCode, ResultRegion, Result):
        session.execute(delete(model))
    session.flush()


def test_every_project_title__is_classified_consistently() -> None:
    assert len(projects()) == 109  # 115 rows, six announced twice
    for project in projects():
        profile = analyse_title(project)
        special = special_projects()[project.special_project]
        assert profile.theme == special.theme
        assert profile.subjects and profile.industry_types, project.title
    by_title = {p.title: analyse_title(p) for p in projects()}
    assert "maize" in by_title["西北耐密高产抗旱玉米新品种培育"].crops
    assert by_title["西北耐密高产抗旱玉米新品种培育"].land_scenarios == ("SC0102",)
    assert set(by_title["西北耐密高产抗旱玉米新品种培育"].provinces) == {"61", "62", "63", "64", "65"}
    assert "SC0103" in by_title["黄渤海滩涂生态农牧化与三产融合模式示范"].land_scenarios
    assert by_title["湖南双季稻周年绿色优质丰产增效技术集成与示范"].crops == ("rice_indica",)


def test_seed__same_seed_gives_same_data__another_seed_differs(session: Session) -> None:
    seed_results(session, 40, seed=7)
    first = dump(session)
    wipe(session)
    seed_results(session, 40, seed=7)
    assert dump(session) == first
    wipe(session)
    seed_results(session, 40, seed=8)
    other = dump(session)
    assert {r["id"] for r in other["results"]}.isdisjoint({r["id"] for r in first["results"]})


def test_seed__every_state_every_facet_and_unique_registration(session: Session) -> None:
    report = seed_results(session, 400, seed=42)
    session.commit()
    assert report.results == 400
    assert set(report.by_state) == {"draft", "submitted", "reviewed", "published", "withdrawn"}
    assert set(report.by_form) == {"variety", "procedure", "equipment", "product", "software", "standard"}

    counts = facet_counts(session, SearchQuery(actor=SYSTEM))
    assert [f for f in FACETS if not counts[f] or min(counts[f].values()) <= 0] == []
    assert sum(counts["state"].values()) == 400

    results = list(session.scalars(select(Result)))
    regs = [r.registration_no for r in results if r.registration_no]
    assert len(regs) > 300 and len(set(regs)) == len(regs)
    names = Counter(r.name for r in results)
    assert sum(n - 1 for n in names.values()) <= 4  # names are composed; a rare repeat is tolerated
    for r in results:
        if r.state == "published":
            assert r.list_batch and "年第" in r.list_batch
        if r.state == "withdrawn":
            assert r.review_comment
        assert r.codes_of("tech_field") and r.codes_of("industry_type") and r.institutions
        assert r.source == "national" or r.source_province in r.region_codes or r.source_province[:2] in {
            c[:2] for c in r.region_codes}
    # history: a create event plus one per step; a returned draft went submit → return
    events = Counter(session.scalars(select(ResultEvent.action)))
    assert events["create"] == 400 and events["return"] > 0 and events["withdraw"] > 0

    # the text index was built the normal way: a two-character crop name finds results naming it
    page = search(session, SearchQuery(actor=SYSTEM, q="玉米"))
    assert page.total > 0 and all("玉米" in (i.name + i.summary + "".join(i.keywords)) for i in page.items)


def test_bulk_rows__equal_what_create_result_and_transition_write(session: Session) -> None:
    seed_results(session, 60, seed=11)
    via_domain = dump(session)
    wipe(session)
    items = list(DemoGenerator(11, Places.load(session)).results(60))
    bulk_insert_results(session, items, BulkReference.load(session), DemoClock(11), chunk=25)
    assert dump(session) == via_domain


def test_bench_quick__prints_latency_json_last() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "catalog_search.py"), "--quick", "--engines",
                          "sqlite"], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert last["results"] == 2000
    assert set(last["search_p95_ms"]) == {"sqlite"} and set(last["facets_p95_ms"]) == {"sqlite"}
    assert last["search_p95_ms"]["sqlite"] > 0 and last["facets_p95_ms"]["sqlite"] > 0


@pytest.mark.parametrize("title, crop", [("西南及南方抗逆高产耐瘠薄玉米新品种培育", "maize"),
                                         ("长江上游及北方油菜高产优质适宜机械化新品种培育", "rapeseed"),
                                         ("北方小麦化肥农药减施技术集成研究与示范", "wheat")])
def test_crop_detected_from_title(title: str, crop: str) -> None:
    project = next(p for p in projects() if p.title == title)
    assert crop in analyse_title(project).crops
