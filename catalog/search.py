"""Search over results: Chinese full text, facet filters, facet counts, sort and pages.

Filters combine as AND across facets and OR within one facet. Text queries match every term (a CJK run is the
AND of its bigrams, a single character or a latin word a prefix — see ``search_index.query_terms``), through
FTS5 on SQLite and a GIN-indexed ``tsvector`` on PostgreSQL; both give the same set of results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Select, String, column, func, literal_column, select, text
from sqlalchemy.orm import Session

from catalog.results import DIMENSIONS, Result, ResultCode, ResultRegion
from catalog.search_index import ResultText, query_terms

# Facets on columns of the result row itself.
COLUMN_FACETS = {"trl": Result.trl, "form": Result.form, "source": Result.source, "state": Result.state}
FACETS = (*DIMENSIONS, "province", *COLUMN_FACETS)
SORTS = ("relevance", "date", "name")


@dataclass
class SearchQuery:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet → values (OR within)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass
class SearchPage:
    items: list[Result]
    total: int
    page: int
    per_page: int


def _match_ids(session: Session, q: str) -> Any | None:
    """A selectable of (result_id, rank) for the text query, or None when it has no terms."""
    groups = query_terms(q)
    if not groups:
        return None
    terms = [(tok, prefix) for toks, prefix in groups for tok in toks]
    if session.get_bind().dialect.name == "postgresql":
        tsq = " & ".join(f"'{tok}'" + (":*" if prefix else "") for tok, prefix in terms)
        tsq_sql = text("CAST(:tsq AS tsquery)").bindparams(tsq=tsq)
        rank = (func.ts_rank(literal_column("result_text.name_tsv"), tsq_sql) * 10
                + func.ts_rank(literal_column("result_text.tsv"), tsq_sql))
        return (select(ResultText.result_id.label("rid"), (-rank).label("rank"))
                .where(literal_column("result_text.tsv").op("@@")(tsq_sql)).subquery("m"))
    match = " AND ".join(f'"{tok}"' + ("*" if prefix else "") for tok, prefix in terms)
    fts = text(
        "SELECT t.result_id AS rid, bm25(result_fts, 10.0, 1.0) AS rank FROM result_fts "
        "JOIN result_text t ON t.doc_id = result_fts.rowid WHERE result_fts MATCH :m"
    ).bindparams(m=match)
    return fts.columns(column("rid", String), column("rank", Float)).subquery("m")


def _filtered(stmt: Select[Any], filters: dict[str, list[str]], skip: str | None = None) -> Select[Any]:
    for facet, values in filters.items():
        if not values or facet == skip:
            continue
        if facet in DIMENSIONS:
            stmt = stmt.where(Result.id.in_(
                select(ResultCode.result_id).where(ResultCode.dimension == facet, ResultCode.code.in_(values))))
        elif facet == "province":
            stmt = stmt.where(Result.id.in_(
                select(ResultRegion.result_id).where(ResultRegion.province_code.in_(values))))
        elif facet == "trl":
            stmt = stmt.where(Result.trl.in_([int(v) for v in values]))
        elif facet in COLUMN_FACETS:
            stmt = stmt.where(COLUMN_FACETS[facet].in_(values))
        else:
            raise ValueError(f"unknown facet {facet}")
    return stmt


def _selection(session: Session, query: SearchQuery) -> tuple[Select[Any], list[Any]]:
    """The ids the query matches (unordered) and the order of the result list."""
    match = _match_ids(session, query.q)
    ids = select(Result.id)
    if match is not None:
        ids = ids.join(match, match.c.rid == Result.id)
    ids = _filtered(ids, query.filters)
    if query.sort == "relevance" and match is not None:
        return ids, [match.c.rank, Result.updated_at.desc(), Result.id]
    if query.sort == "name":
        return ids, [Result.name, Result.id]
    return ids, [Result.updated_at.desc(), Result.id]


def ordered_ids(session: Session, query: SearchQuery) -> Select[Any]:
    """One statement selecting every matching id in the list's order (exports read it whole)."""
    ids, order = _selection(session, query)
    return ids.order_by(*order)


def search(session: Session, query: SearchQuery) -> SearchPage:
    ids, order = _selection(session, query)
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    page_ids = list(session.scalars(
        ids.order_by(*order).limit(query.per_page).offset((query.page - 1) * query.per_page)))
    by_id = {r.id: r for r in session.scalars(select(Result).where(Result.id.in_(page_ids)))}
    return SearchPage([by_id[i] for i in page_ids], total, query.page, query.per_page)


def facet_counts(session: Session, query: SearchQuery) -> dict[str, dict[str, int]]:
    """Counts per facet value among the results the query matches (filters and text applied)."""
    match = _match_ids(session, query.q)
    ids = select(Result.id)
    if match is not None:
        ids = ids.join(match, match.c.rid == Result.id)
    matched = _filtered(ids, query.filters).subquery("hits")
    out: dict[str, dict[str, int]] = {f: {} for f in FACETS}
    code_rows = session.execute(
        select(ResultCode.dimension, ResultCode.code, func.count())
        .where(ResultCode.result_id.in_(select(matched.c.id)))
        .group_by(ResultCode.dimension, ResultCode.code)
    )
    for dim, code, n in code_rows:
        out[dim][code] = n
    for prov, n in session.execute(
        select(ResultRegion.province_code, func.count(func.distinct(ResultRegion.result_id)))
        .where(ResultRegion.result_id.in_(select(matched.c.id)))
        .group_by(ResultRegion.province_code)
    ):
        out["province"][prov] = n
    for facet, col in COLUMN_FACETS.items():
        for value, n in session.execute(
            select(col, func.count()).where(Result.id.in_(select(matched.c.id))).group_by(col)
        ):
            if value is not None:
                out[facet][str(value)] = n
    return out
