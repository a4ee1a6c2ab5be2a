"""Search over results: Chinese full text, facet filters, facet counts, sort and pages.

Filters combine as AND across facets and OR within one facet. Text queries match every term (a CJK run is the
AND of its bigrams, one character is a token of its own, a latin word is a prefix — see
``search_index.query_terms``) through FTS5 on SQLite and a GIN-indexed ``tsvector`` on PostgreSQL; the engine
answers only that. Filters, counts and order come from the in-memory ``result_index``, so both engines give
the same results in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalog.access import ANONYMOUS, Actor, read_rule
from catalog.result_index import ResultIndex, popcount, result_index
from catalog.results import DIMENSIONS, Result
from catalog.search_index import query_terms

FACETS = (*DIMENSIONS, "province", "trl", "form", "source", "state")
SORTS = ("relevance", "date", "name")


@dataclass
class SearchQuery:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet → values (OR within)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    actor: Actor = ANONYMOUS  # results this actor may not read are never counted, listed or exported


@dataclass
class SearchPage:
    items: list[Result]
    total: int
    page: int
    per_page: int


def text_hits(session: Session, q: str, ranked: bool = True) -> dict[str, float] | None:
    """Result id → rank (lower is better) for the text query; None when the query has no terms.

    Unranked, every rank is 0: ranking is most of a common query's SQL time, and counts and date or name order
    do not need it."""
    groups = query_terms(q)
    if not groups:
        return None
    terms = [(tok, prefix) for toks, prefix in groups for tok in toks]
    if session.get_bind().dialect.name == "postgresql":
        # Cast, not to_tsquery: our tokens are the lexemes, no parser may split them again.
        tsq = " & ".join(f"'{tok}'" + (":*" if prefix else "") for tok, prefix in terms)
        rank = "-(10 * ts_rank(name_tsv, q) + ts_rank(tsv, q))" if ranked else "0"
        rows = session.execute(text(
            f"SELECT result_id, {rank} FROM result_text, CAST(:tsq AS tsquery) AS q WHERE tsv @@ q"), {"tsq": tsq})
    else:
        match = " AND ".join(f'"{tok}"' + ("*" if prefix else "") for tok, prefix in terms)
        rank = "bm25(result_fts, 10.0, 1.0)" if ranked else "0"
        rows = session.execute(text(
            f"SELECT t.result_id, {rank} FROM result_fts "
            "JOIN result_text t ON t.doc_id = result_fts.rowid WHERE result_fts MATCH :m"), {"m": match})
    return {rid: float(rank) for rid, rank in rows.all()}  # fetched at once, not a row at a time


def _selection(session: Session, query: SearchQuery, ranked: bool = True
               ) -> tuple[ResultIndex, Any, dict[str, float] | None]:
    """The index, the bitset of matching results, and the text ranks (None without text)."""
    index = result_index(session)
    mask = readable(index, query.actor)
    for facet, values in query.filters.items():
        if values:
            if facet not in FACETS:
                raise ValueError(f"unknown facet {facet}")
            mask &= index.any_of(facet, [str(v) for v in values])
    hits = text_hits(session, query.q, ranked=ranked and query.sort == "relevance")
    if hits is not None:
        # Ids committed after the index was read are not in it yet; they show up on the next query.
        mask &= index.of_positions(index.pos[r] for r in hits if r in index.pos)
    return index, mask, hits


def readable(index: ResultIndex, actor: Actor) -> Any:
    """The bitset of results ``actor`` may read (catalog.access.read_rule, as a bitset)."""
    rule = read_rule(actor)
    if rule.everything:
        return index.full()
    mask = index.any_of("state", ["published"]) | index.any_of("lead_institution", rule.institutions)
    past_draft = index.full() & ~index.any_of("state", ["draft"])
    if rule.every_submitted:
        mask |= past_draft
    elif rule.provinces:
        mask |= past_draft & index.any_of("source_province", rule.provinces)
    return mask


def _ordered(index: ResultIndex, mask: Any, hits: dict[str, float] | None, sort: str) -> Any:
    positions = index.positions(mask)  # ascending = newest first
    if sort == "name":
        keep = np.zeros(index.size, dtype=bool)
        keep[positions] = True
        return index.name_order[keep[index.name_order]]
    if sort == "relevance" and hits is not None:
        ranks = np.fromiter((hits[index.ids[p]] for p in positions), dtype=np.float64, count=len(positions))
        return positions[np.lexsort((positions, ranks))]  # best rank first, then newest
    return positions


def ordered_ids(session: Session, query: SearchQuery, limit: int | None = None) -> list[str]:
    """Every matching id in the list's order (exports read it whole)."""
    index, mask, hits = _selection(session, query)
    order = _ordered(index, mask, hits, query.sort)
    return [index.ids[p] for p in order[:limit]]


def search(session: Session, query: SearchQuery) -> SearchPage:
    index, mask, hits = _selection(session, query)
    order = _ordered(index, mask, hits, query.sort)
    start = (query.page - 1) * query.per_page
    page_ids = [index.ids[p] for p in order[start:start + query.per_page]]
    by_id = {r.id: r for r in session.scalars(select(Result).where(Result.id.in_(page_ids)))}
    return SearchPage([by_id[i] for i in page_ids if i in by_id], popcount(mask), query.page, query.per_page)


def facet_counts(session: Session, query: SearchQuery) -> dict[str, dict[str, int]]:
    """Counts per facet value among the results the query matches (filters and text applied)."""
    index, mask, _hits = _selection(session, query, ranked=False)
    counts = index.counts(mask)
    return {facet: counts.get(facet, {}) for facet in FACETS}
