"""The result browser: full-text search, facets with counts, chips, sort, pages, export links.

Everything is a plain GET link or form, so the page works without JavaScript. The page's state lives in the
URL only (q, sort, page, per_page and the facet parameters of ``GET /api/results``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from flask import render_template, request, url_for
from markupsafe import Markup, escape

from catalog.results import STATES, Result
from catalog.search import SORTS, SearchQuery, facet_counts, search
from server.auth import current_actor
from server.db import db_session
from server.i18n import t
from server.web.labels import CODE_LIST_OF, Labels, facet_value_label

PER_PAGE = 20
PER_PAGE_MAX = 100
Q_MAX = 200
EXCERPT_CHARS = 160
# Facets in the order the sidebar shows them; the first few start open.
FACET_ORDER = ("tech_field", "industry_type", "scenario", "crop", "land_scenario", "transfer_mode",
               "province", "trl", "form", "source", "state")
OPEN_FACETS = frozenset({"tech_field", "industry_type", "crop", "province"})

_WORDS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class BrowseState:
    """What the URL asks for, normalised; builds the URLs of every link on the page."""

    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: Any) -> BrowseState:
        # Forgiving where the API is strict: a page link never answers 422, a bad value is dropped.
        filters: dict[str, tuple[str, ...]] = {}
        for facet in FACET_ORDER:
            values = [v.strip() for raw in args.getlist(facet) for v in raw.split(",") if v.strip()]
            if facet == "trl":
                values = [v for v in values if v.isdigit()]
            if values:
                filters[facet] = tuple(dict.fromkeys(values))
        sort = args.get("sort", "relevance")
        return cls(q=(args.get("q") or "").strip()[:Q_MAX], filters=filters,
                   sort=sort if sort in SORTS else "relevance",
                   page=_int(args.get("page"), 1, 1, 10000),
                   per_page=_int(args.get("per_page"), PER_PAGE, 1, PER_PAGE_MAX))

    def query(self) -> SearchQuery:
        return SearchQuery(q=self.q, filters={k: list(v) for k, v in self.filters.items()}, sort=self.sort,
                           page=self.page, per_page=self.per_page, actor=current_actor())

    def params(self, *, paging: bool = True) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for facet in FACET_ORDER:
            out.extend((facet, v) for v in self.filters.get(facet, ()))
        if self.sort != "relevance":
            out.append(("sort", self.sort))
        if paging and self.page != 1:
            out.append(("page", str(self.page)))
        if paging and self.per_page != PER_PAGE:
            out.append(("per_page", str(self.per_page)))
        return out

    def url(self, **changes: Any) -> str:
        state = replace(self, **changes)
        query = urlencode(state.params())
        return url_for("web.results") + (f"?{query}" if query else "")

    def toggled(self, facet: str, value: str) -> str:
        """This page with ``value`` added to or removed from ``facet``, back on page 1."""
        values = self.filters.get(facet, ())
        new = tuple(v for v in values if v != value) if value in values else (*values, value)
        filters = {k: v for k, v in self.filters.items() if k != facet}
        if new:
            filters[facet] = new
        return self.url(filters=filters, page=1)

    def export_url(self, fmt: str) -> str:
        # Same parameters as the list, minus paging: an export holds the whole result set.
        query = urlencode(self.params(paging=False))
        return f"{request.script_root}/api/results/export.{fmt}" + (f"?{query}" if query else "")


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str
    depth: int = 0


@dataclass
class Facet:
    name: str
    values: list[FacetValue]
    active: bool
    open: bool


@dataclass
class Chip:
    label: str
    url: str


@dataclass
class Item:
    result: Result
    name: Markup
    excerpt: Markup
    primary_field: str | None
    trl: str | None


def _int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(raw or default)))
    except ValueError:
        return default


def query_words(q: str) -> list[str]:
    """What to mark in the text for a query: its words, and the bigrams a CJK word was matched by."""
    words: list[str] = []
    for w in _WORDS.findall(q):
        words.append(w)
        if _CJK.match(w) and len(w) > 2:
            words.extend(w[i : i + 2] for i in range(len(w) - 1))
    return sorted(dict.fromkeys(words), key=len, reverse=True)  # stable: longest first, then query order


def highlight(text: str, words: list[str]) -> Markup:
    """``text`` HTML-escaped, with every occurrence of ``words`` in ``<mark>``."""
    if not words or not text:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out: list[Markup] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(Markup("<mark>%s</mark>") % m.group(0))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def excerpt(text: str, words: list[str], width: int = EXCERPT_CHARS) -> Markup:
    """About ``width`` characters of ``text`` around the first match, highlighted."""
    text = " ".join((text or "").split())
    start = 0
    if words:
        m = re.search("|".join(re.escape(w) for w in words), text, re.IGNORECASE)
        if m and m.end() > width - 20:
            start = max(0, m.start() - width // 4)
    end = min(len(text), start + width)
    body = highlight(text[start:end], words)
    return Markup("").join([Markup("…") if start else Markup(""), body, Markup("…") if end < len(text) else ""])


def _facet_counts(state: BrowseState) -> dict[str, dict[str, int]]:
    """Counts per facet value. A facet with a selection is counted without its own filter, because values
    within a facet are ORed: each count then says how many results ticking that value would add."""
    session = db_session()
    query = state.query()
    counts = facet_counts(session, query)
    for facet in state.filters:
        others = {k: v for k, v in query.filters.items() if k != facet}
        counts[facet] = facet_counts(session, replace(query, filters=others))[facet]
    return counts


def _facet_values(facet: str, labels: Labels) -> list[tuple[str, int]]:
    """Every value a facet can take, in display order, with its depth in the code hierarchy."""
    if facet in CODE_LIST_OF:
        codes = labels.codes.get(CODE_LIST_OF[facet], {})
        return [(c.code, 1 if c.parent_code else 0) for c in codes.values()]
    if facet == "province":
        return [(d.code, 0) for d in labels.provinces()]
    if facet == "source":
        return [("national", 0), ("local", 0)]
    if facet == "state":
        return [(s, 0) for s in STATES]
    return []


def build_facets(state: BrowseState, counts: dict[str, dict[str, int]], labels: Labels) -> list[Facet]:
    facets: list[Facet] = []
    for facet in FACET_ORDER:
        selected = state.filters.get(facet, ())
        got = counts.get(facet, {})
        known = _facet_values(facet, labels)
        # Values the lists do not know (retired elsewhere, typed in a URL) still show, so they can be removed.
        extra = [(v, 0) for v in [*got, *selected] if v not in {k for k, _ in known}]
        values = [
            # Indentation shows the hierarchy here, so a sub-field shows its own name only.
            FacetValue(value=v, label=labels.code(CODE_LIST_OF[facet], v) if facet in CODE_LIST_OF
                       else facet_value_label(labels, facet, v),
                       count=got.get(v, 0), selected=v in selected, url=state.toggled(facet, v), depth=depth)
            for v, depth in [*known, *dict.fromkeys(extra)]
            if got.get(v, 0) > 0 or v in selected
        ]
        facets.append(Facet(name=facet, values=values, active=bool(selected),
                            open=bool(selected) or facet in OPEN_FACETS))
    return facets


def build_chips(state: BrowseState, labels: Labels) -> list[Chip]:
    chips: list[Chip] = []
    if state.q:
        chips.append(Chip(t("chips.pair", name=t("chips.query"), value=state.q), state.url(q="", page=1)))
    for facet in FACET_ORDER:
        for value in state.filters.get(facet, ()):
            label = t("chips.pair", name=t(f"facet.{facet}"), value=facet_value_label(labels, facet, value))
            chips.append(Chip(label, state.toggled(facet, value)))
    return chips


def page_links(page: int, pages: int, spread: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``spread`` around the current one; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, page - spread), min(pages, page + spread) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def results_page() -> str:
    """成果目录 / The result browser."""
    state = BrowseState.from_args(request.args)
    session = db_session()
    found = search(session, state.query())
    counts = _facet_counts(state)
    labels = Labels.load(session)
    words = query_words(state.q)
    items = []
    for r in found.items:
        fields = r.codes_of("tech_field")
        items.append(Item(
            result=r, name=highlight(r.name, words), excerpt=excerpt(r.summary, words),
            primary_field=labels.code_path("tech_field", fields[0]) if fields else None,
            trl=labels.code("trl", str(r.trl)) if r.trl is not None else None))
    pages = max(1, math.ceil(found.total / state.per_page))
    first = (state.page - 1) * state.per_page + 1
    return render_template(
        "results.html", state=state, items=items, total=found.total, pages=pages,
        range_first=first, range_last=min(found.total, first + len(items) - 1),
        facets=build_facets(state, counts, labels), chips=build_chips(state, labels),
        page_links=page_links(state.page, pages), sorts=SORTS, default_per_page=PER_PAGE,
    )
