"""Matching: rank published results for a need, and the sites with open needs for a result, with reasons.

The score (0–100) is a weighted sum; every component that scores becomes one reason that names what matched:

=============  ======  ================================================================================
component      points  how
=============  ======  ================================================================================
crop           15      the need's crops and the result's share one (a parent code covers its children)
industry       10      they share a service industry type
scenario       5       × the share of the need's application scenarios the result has
region         20      a suitable region of the result is the site's place, lies in it, or contains it;
                       12 when a suitable region is only elsewhere in the site's province
land           15      × the share of the need's land scenarios (黑土地, 盐碱地 …) the result has
maturity       10      × TRL / 9
text           15      × min(1, 2 × idf-weighted share of the need's words found in the result's name,
                       summary and keywords); words are CJK bigrams (Chinese is unsegmented) and latin words
evidence       10      × min(1, mean gain / 10 %) of demo-plot yields in similar counties
=============  ======  ================================================================================

Similar counties: counties in the site's province, and counties whose demo plot has one of the need's land
scenarios (a saline plot in 山东 is evidence for a saline need in 河北). A plot is evidence for a result when it
names the result (``result_id``) or its variety appears in the result's name; its gain is the mean of its
yields' ``gain_pct``.

Only published results take part. Ranking a need scores every published result at once with numpy over a
per-process index (postings per code, region and word), rebuilt when ``catalog_state.results`` changes, like the
search index; the best candidates are then scored one by one by :func:`score_pair` — the same function that
ranks sites for a result — which gives the reasons and the final order.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.codelists import Code
from catalog.divisions import Division
from catalog.field import DemoPlot, YieldMeasurement
from catalog.need_access import reads_open_needs
from catalog.needs import Need
from catalog.result_index import current_version
from catalog.results import Result, ResultCode, ResultRegion
from catalog.search_index import tokens
from catalog.sites import Site, SiteDivision

WEIGHTS: dict[str, float] = {"crop": 15, "industry": 10, "scenario": 5, "region": 20, "land": 15,
                             "maturity": 10, "text": 15, "evidence": 10}
REGION_PROVINCE_ONLY = 12.0
EVIDENCE_FULL_GAIN = 10.0  # a mean gain of 10 % earns the whole evidence weight
TEXT_FULL_SHARE = 0.5      # half of the need's (idf-weighted) words found earns the whole text weight
DIMS = {"crop": "crop", "industry": "industry_type", "scenario": "scenario", "land": "land_scenario"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def words(text: str) -> set[str]:
    """Matching words of ``text``: CJK bigrams and latin words (single characters say too little)."""
    return {t for t in tokens(text) if len(t) >= 2 or not _CJK.match(t)}


def _prefix(code: str) -> str:
    """The digits that fix a division: 410000 → 41, 411000 → 4110, 411002 → 411002."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


# ------------------------------------------------------------------------------------------------- features


@dataclass(frozen=True, eq=False)
class NeedFeatures:
    """What matching reads of a need and its site."""

    need_id: str | None
    title: str
    site_id: str
    place: str | None
    province: str | None
    divisions: tuple[str, ...]   # the site's place and the divisions it covers
    codes: dict[str, frozenset[str]]  # component (crop, industry, scenario, land) → codes
    words: frozenset[str]
    text: str
    _totals: dict[int, tuple[dict[str, float], float]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, session: Session, need: Need, site: Site | None = None,
           divisions: Sequence[str] | None = None) -> NeedFeatures:
        site = site or session.get(Site, need.site_id)
        assert site is not None
        if divisions is None:
            divisions = list(session.scalars(select(SiteDivision.division_code)
                                             .where(SiteDivision.site_id == site.id)))
        return cls.make(need.id, need.title, need.problem, {
            "crop": need.crops, "industry": need.industry_types, "scenario": need.scenarios,
            "land": need.land_scenarios}, site.id, site.place_code, site.province_code, divisions)

    @classmethod
    def make(cls, need_id: str | None, title: str, problem: str, codes: dict[str, list[str] | None], site_id: str,
             place: str | None, province: str | None, divisions: Sequence[str]) -> NeedFeatures:
        text = f"{title}\n{problem}"
        return cls(need_id, title, site_id, place, province,
                   tuple(dict.fromkeys([*filter(None, [place]), *divisions])),
                   {k: frozenset(v or []) for k, v in codes.items()}, frozenset(words(text)), text)

    @functools.cached_property
    def _own(self) -> tuple[frozenset[str], tuple[str, ...]]:
        base = {c for d in self.divisions for c in (d, d[:4] + "00", d[:2] + "0000")}
        return frozenset(base), tuple(_prefix(d) for d in self.divisions)

    def idf_total(self, idf: dict[str, float]) -> float:
        """The summed idf of the need's words that occur in ``idf`` (once per index)."""
        held = self._totals.get(id(idf))
        if held is None or held[0] is not idf:
            held = (idf, sum(idf[t] for t in self.words if t in idf))
            self._totals[id(idf)] = held
        return held[1]

    def in_area(self, code: str) -> bool:
        """Whether a division is the site's own area: one of its divisions, their ancestors or their insides."""
        base, prefixes = self._own
        return code in base or (bool(prefixes) and code.startswith(prefixes))

    def region_targets(self, known: Iterable[str]) -> set[str]:
        """The codes of ``known`` in the site's own area (see :meth:`in_area`)."""
        return {k for k in known if self.in_area(k)}


# ---------------------------------------------------------------------------------------------------- index


@dataclass
class MatchIndex:
    version: int
    ids: list[str]
    names: list[str]
    pos: dict[str, int]
    trl: FloatArray
    trl_list: list[float]  # the same as plain floats, for scoring one pair at a time
    codes: list[dict[str, frozenset[str]]]   # per position: component → codes (implied parents too)
    regions: list[list[tuple[str, str]]]     # per position: (division, province)
    words: list[frozenset[str]]
    code_postings: dict[tuple[str, str], IntArray]
    region_postings: dict[str, IntArray]
    province_postings: dict[str, IntArray]
    word_postings: dict[str, IntArray]
    idf: dict[str, float]
    _variety_cache: dict[str, IntArray] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.ids)

    def variety_positions(self, variety: str) -> IntArray:
        """Results whose name holds ``variety`` (a plot's variety names the result it shows)."""
        found = self._variety_cache.get(variety)
        if found is None:
            found = np.array([i for i, n in enumerate(self.names) if variety in n], dtype=np.int64)
            self._variety_cache[variety] = found
        return found


def _postings(members: dict[Any, list[int]]) -> dict[Any, IntArray]:
    return {k: np.array(sorted(set(v)), dtype=np.int64) for k, v in members.items()}


def build_index(session: Session, version: int) -> MatchIndex:
    rows = session.execute(select(Result.id, Result.name, Result.summary, Result.keywords, Result.trl)
                           .where(Result.state == "published").order_by(Result.id)).all()
    ids = [r[0] for r in rows]
    pos = {rid: i for i, rid in enumerate(ids)}
    n = len(ids)
    dim_to_comp = {v: k for k, v in DIMS.items()}
    codes: list[dict[str, set[str]]] = [defaultdict(set) for _ in range(n)]
    code_members: dict[tuple[str, str], list[int]] = defaultdict(list)
    published = Result.state == "published"
    for rid, dim, code in session.execute(
            select(ResultCode.result_id, ResultCode.dimension, ResultCode.code)
            .join(Result, Result.id == ResultCode.result_id)
            .where(published, ResultCode.dimension.in_(list(DIMS.values())))
            .order_by(ResultCode.result_id, ResultCode.position)):
        i, comp = pos[rid], dim_to_comp[dim]
        codes[i][comp].add(code)
        code_members[(comp, code)].append(i)
    regions: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    region_members: dict[str, list[int]] = defaultdict(list)
    province_members: dict[str, list[int]] = defaultdict(list)
    for rid, div, prov in session.execute(
            select(ResultRegion.result_id, ResultRegion.division_code, ResultRegion.province_code)
            .join(Result, Result.id == ResultRegion.result_id).where(published)
            .order_by(ResultRegion.result_id, ResultRegion.division_code)):
        i = pos[rid]
        regions[i].append((div, prov))
        region_members[div].append(i)
        province_members[prov].append(i)
    result_words: list[frozenset[str]] = []
    word_members: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        w = frozenset(words(" ".join([r[1] or "", r[2] or "", *(r[3] or [])])))
        result_words.append(w)
        for token in w:
            word_members[token].append(i)
    idf = {t: math.log((n + 1) / (len(m) + 0.5)) for t, m in word_members.items()}
    return MatchIndex(
        version, ids, [r[1] for r in rows], pos,
        np.array([float(r[4] or 0) for r in rows], dtype=np.float64), [float(r[4] or 0) for r in rows],
        [{k: frozenset(v) for k, v in c.items()} for c in codes], regions,
        result_words, _postings(code_members), _postings(region_members), _postings(province_members),
        {t: np.array(m, dtype=np.int64) for t, m in word_members.items()}, idf)


_cache: dict[str, MatchIndex] = {}
_lock = threading.Lock()


def match_index(session: Session) -> MatchIndex:
    """The index for this session's database, rebuilt when the results changed."""
    key = session.get_bind().url.render_as_string(hide_password=True)
    version = current_version(session)
    found = _cache.get(key)
    if found is not None and found.version == version:
        return found
    with _lock:
        found = _cache.get(key)
        if found is None or found.version != version:
            found = build_index(session, version)
            _cache[key] = found
    return found


# ------------------------------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class PlotGain:
    plot_id: str
    county_code: str
    land_scenario: str | None
    result_id: str | None
    variety: str | None
    gain_pct: float  # mean over the plot's yields


def plot_gains(session: Session, *, provinces: Iterable[str] = (), land: Iterable[str] = (),
               result_id: str | None = None, varieties: Iterable[str] = ()) -> list[PlotGain]:
    """Demo plots with a recorded yield gain, in the given provinces or land scenarios, or showing a result."""
    q = (select(DemoPlot.id, DemoPlot.county_code, DemoPlot.land_scenario, DemoPlot.result_id, DemoPlot.variety,
                YieldMeasurement.gain_pct)
         .join(YieldMeasurement, YieldMeasurement.plot_id == DemoPlot.id)
         .where(DemoPlot.deleted.is_(False), YieldMeasurement.deleted.is_(False),
                YieldMeasurement.gain_pct.is_not(None)))
    where = [DemoPlot.county_code.startswith(p[:2]) for p in provinces if p]
    if land := list(land):
        where.append(DemoPlot.land_scenario.in_(land))
    if result_id is not None:
        where.append(DemoPlot.result_id == result_id)
    if varieties := list(varieties):
        where.append(DemoPlot.variety.in_(varieties))
    if not where:
        return []
    per_plot: dict[str, list[Any]] = {}
    for pid, county, ls, rid, variety, gain in session.execute(q.where(or_(*where)).order_by(DemoPlot.id)):
        per_plot.setdefault(pid, [county, ls, rid, variety, []])[4].append(float(gain))
    return [PlotGain(pid, c, ls, rid, v, sum(g) / len(g)) for pid, (c, ls, rid, v, g) in per_plot.items()]


def similar(need: NeedFeatures, plot: PlotGain) -> bool:
    same_province = bool(need.province) and plot.county_code[:2] == (need.province or "")[:2]
    return same_province or (plot.land_scenario is not None and plot.land_scenario in need.codes["land"])


# ---------------------------------------------------------------------------------------------------- names


class Namer:
    """Code and division names for the reasons (zh and en)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.codes = {(lid, code): (zh, en or zh) for lid, code, zh, en in session.execute(
            select(Code.list_id, Code.code, Code.name_zh, Code.name_en).where(Code.list_id.in_(list(DIMS.values()))))}
        self.divisions: dict[str, tuple[str, str]] = {}

    def code(self, list_id: str, code: str) -> tuple[str, str]:
        return self.codes.get((list_id, code), (code, code))

    def codes_text(self, list_id: str, codes: Iterable[str]) -> tuple[str, str]:
        names = [self.code(list_id, c) for c in codes]
        return "、".join(n[0] for n in names), ", ".join(n[1] for n in names)

    def load_divisions(self, codes: Iterable[str]) -> None:
        wanted = set(codes) - set(self.divisions)
        if wanted:
            for code, name in self.session.execute(select(Division.code, Division.name)
                                                   .where(Division.code.in_(wanted))):
                self.divisions[code] = (name, name)

    def division(self, code: str) -> str:
        if code not in self.divisions:
            self.load_divisions([code])
        return self.divisions.get(code, (code, code))[0]


# ---------------------------------------------------------------------------------------------------- score


@dataclass(frozen=True)
class Reason:
    kind: str
    points: float
    max_points: float
    zh: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "points": round(self.points, 2), "max_points": self.max_points,
                "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Scored:
    score: float
    reasons: list[Reason]


def _phrases(need: NeedFeatures, result_words: frozenset[str], idf: dict[str, float], limit: int = 5
             ) -> list[str]:
    """The need's words found in the result, merged into the longest runs of its own text (耐密、抗旱)."""
    found: list[tuple[float, str]] = []
    for run in _CJK.findall(need.text):
        i = 0
        while i < len(run) - 1:
            if run[i:i + 2] not in result_words:
                i += 1
                continue
            j = i
            while j < len(run) - 1 and run[j:j + 2] in result_words:
                j += 1
            phrase = run[i:j + 1]
            found.append((sum(idf.get(phrase[k:k + 2], 0) for k in range(len(phrase) - 1)), phrase))
            i = j
    for token in need.words:
        if not _CJK.match(token) and token in result_words:
            found.append((idf.get(token, 0), token))
    out: list[str] = []
    for _w, phrase in sorted(found, key=lambda x: (-x[0], x[1])):
        if phrase not in out and not any(phrase in o for o in out):
            out.append(phrase)
        if len(out) == limit:
            break
    return out


def text_share(need: NeedFeatures, result_words: frozenset[str], idf: dict[str, float]) -> float:
    """The idf-weighted share of the need's words (those any published result has) found in the result's."""
    total = need.idf_total(idf)
    if total <= 0:
        return 0.0
    return sum(idf[t] for t in need.words & result_words) / total


def score_pair(need: NeedFeatures, index: MatchIndex, i: int, gains: Sequence[PlotGain], namer: Namer,
               explain: bool = True) -> Scored:
    """The score of published result ``i`` of ``index`` for ``need``, with a reason per component that scored.

    ``gains``: demo-plot gains of similar counties that are evidence for this result. ``explain=False`` leaves
    out the words of the text reason (the slow part), for ranking many pairs; the score is the same."""
    reasons: list[Reason] = []
    codes = index.codes[i]
    lists = {"crop": "crop", "industry": "industry_type", "scenario": "scenario", "land": "land_scenario"}
    for comp in ("crop", "industry", "scenario", "land"):
        wanted = need.codes[comp]
        shared = wanted & codes.get(comp, frozenset())
        if not wanted or not shared:
            continue
        share = 1.0 if comp in ("crop", "industry") else len(shared) / len(wanted)
        zh, en = namer.codes_text(lists[comp], sorted(shared))
        text = {"crop": (f"同为{zh}", f"both {en}"), "industry": (f"同属{zh}", f"same industry: {en}"),
                "scenario": (f"应用场景：{zh}", f"scenario: {en}"),
                "land": (f"耕地场景：{zh}", f"land scenario: {en}")}[comp]
        reasons.append(Reason(comp, WEIGHTS[comp] * share, WEIGHTS[comp], *text))
    if index.regions[i]:
        inside = [d for d, _p in index.regions[i] if need.in_area(d)]
        if inside:
            names = "、".join(namer.division(d) for d in inside[:3])
            reasons.append(Reason("region", WEIGHTS["region"], WEIGHTS["region"], f"适宜区域含{names}",
                                  f"suitable in {names}"))
        elif need.province and any(p == need.province for _d, p in index.regions[i]):
            name = namer.division(need.province)
            reasons.append(Reason("region", REGION_PROVINCE_ONLY, WEIGHTS["region"], f"适宜区域在{name}其他地方",
                                  f"suitable elsewhere in {name}"))
    trl = index.trl_list[i]
    if trl > 0:
        reasons.append(Reason("maturity", WEIGHTS["maturity"] * trl / 9, WEIGHTS["maturity"],
                              f"技术成熟度 {int(trl)} 级", f"technology readiness level {int(trl)}"))
    share = text_share(need, index.words[i], index.idf)
    if share > 0:
        phrases = _phrases(need, index.words[i], index.idf) if explain else []
        reasons.append(Reason("text", WEIGHTS["text"] * min(1.0, share / TEXT_FULL_SHARE), WEIGHTS["text"],
                              f"文字相近：{'、'.join(phrases)}", f"similar words: {', '.join(phrases)}"))
    if gains:
        mean = sum(g.gain_pct for g in gains) / len(gains)
        if mean > 0:
            reasons.append(Reason(
                "evidence", WEIGHTS["evidence"] * min(1.0, mean / EVIDENCE_FULL_GAIN), WEIGHTS["evidence"],
                f"在相似县的示范田平均增产 {mean:.1f}%（{len(gains)} 块）",
                f"demo plots in similar counties gained {mean:.1f}% on average ({len(gains)} plots)"))
    return Scored(round(sum(r.points for r in reasons), 2), reasons)


def pair_points(need: NeedFeatures, index: MatchIndex, i: int, gains: Sequence[PlotGain]) -> tuple[float, bool]:
    """:func:`score_pair`'s score without its reasons (and whether more than maturity scored), for ranking many
    needs against one result; the test suite checks both agree."""
    points = 0.0
    codes = index.codes[i]
    for comp in ("crop", "industry", "scenario", "land"):
        wanted = need.codes[comp]
        if wanted:
            shared = len(wanted & codes.get(comp, frozenset()))
            if shared:
                points += WEIGHTS[comp] * (1.0 if comp in ("crop", "industry") else shared / len(wanted))
    regions = index.regions[i]
    if regions:
        if any(need.in_area(d) for d, _p in regions):
            points += WEIGHTS["region"]
        elif need.province and any(p == need.province for _d, p in regions):
            points += REGION_PROVINCE_ONLY
    share = text_share(need, index.words[i], index.idf)
    if share > 0:
        points += WEIGHTS["text"] * min(1.0, share / TEXT_FULL_SHARE)
    if gains:
        mean = sum(g.gain_pct for g in gains) / len(gains)
        if mean > 0:
            points += WEIGHTS["evidence"] * min(1.0, mean / EVIDENCE_FULL_GAIN)
    fit = points > 0
    if index.trl_list[i] > 0:
        points += WEIGHTS["maturity"] * index.trl_list[i] / 9
    return round(points, 2), fit


def fits(scored: Scored) -> bool:
    """A match shares something with the need: maturity alone says nothing about fit."""
    return any(r.kind != "maturity" for r in scored.reasons)


def _evidence_by_position(index: MatchIndex, gains: Sequence[PlotGain]) -> dict[int, list[PlotGain]]:
    out: dict[int, dict[str, PlotGain]] = defaultdict(dict)
    for g in gains:
        if g.result_id is not None and g.result_id in index.pos:
            out[index.pos[g.result_id]][g.plot_id] = g
        if g.variety:
            for i in index.variety_positions(g.variety).tolist():
                out[i][g.plot_id] = g
    return {i: list(p.values()) for i, p in out.items()}


def vector_scores(need: NeedFeatures, index: MatchIndex, evidence: dict[int, list[PlotGain]]) -> FloatArray:
    """Every published result's score for ``need`` at once (the same formulas as :func:`score_pair`)."""
    n = index.size
    total = np.zeros(n, dtype=np.float64)
    for comp in ("crop", "industry", "scenario", "land"):
        wanted = need.codes[comp]
        if not wanted:
            continue
        hits = np.zeros(n, dtype=np.float64)
        for code in wanted:
            posting = index.code_postings.get((comp, code))
            if posting is not None:
                hits[posting] += 1
        if comp in ("crop", "industry"):
            total += WEIGHTS[comp] * (hits > 0)
        else:
            total += WEIGHTS[comp] * hits / len(wanted)
    region = np.zeros(n, dtype=np.float64)
    if need.province and need.province in index.province_postings:
        region[index.province_postings[need.province]] = REGION_PROVINCE_ONLY
    for code in need.region_targets(index.region_postings):
        posting = index.region_postings.get(code)
        if posting is not None:
            region[posting] = WEIGHTS["region"]
    total += region
    total += WEIGHTS["maturity"] * index.trl / 9
    known = [t for t in need.words if t in index.idf]
    denom = sum(index.idf[t] for t in known)
    if denom > 0:
        postings = [index.word_postings[t] for t in known]
        weights = np.concatenate([np.full(len(p), index.idf[t]) for t, p in zip(known, postings, strict=True)])
        share = np.bincount(np.concatenate(postings), weights=weights, minlength=n) / denom
        total += WEIGHTS["text"] * np.minimum(1.0, share / TEXT_FULL_SHARE)
    for i, gains in evidence.items():
        mean = sum(g.gain_pct for g in gains) / len(gains)
        if mean > 0:
            total[i] += WEIGHTS["evidence"] * min(1.0, mean / EVIDENCE_FULL_GAIN)
    return total


# ------------------------------------------------------------------------------------------------- rankings


@dataclass(frozen=True)
class ResultMatch:
    result_id: str
    name: str
    score: float
    reasons: list[Reason]


def rank_results(session: Session, need: Need, limit: int = 20, site: Site | None = None) -> list[ResultMatch]:
    """The published results that fit ``need`` best, best first (ties by name, then id)."""
    features = NeedFeatures.of(session, need, site)
    index = match_index(session)
    if index.size == 0:
        return []
    gains = [g for g in plot_gains(session, provinces=[features.province or ""], land=features.codes["land"])
             if similar(features, g)]
    evidence = _evidence_by_position(index, gains)
    scores = vector_scores(features, index, evidence)
    k = min(index.size, max(limit * 3, 60))
    candidates = np.argpartition(-scores, k - 1)[:k] if k < index.size else np.arange(index.size)
    # Maturity alone is no fit: a candidate must share something with the need.
    fit = scores - WEIGHTS["maturity"] * index.trl / 9
    candidates = [int(i) for i in candidates if fit[i] > 1e-9]
    namer = Namer(session)
    namer.load_divisions([d for i in candidates for d, _p in index.regions[i]] +
                         list(filter(None, [features.province])))
    out = []
    for i in candidates:
        scored = score_pair(features, index, i, evidence.get(i, []), namer)
        if fits(scored):
            out.append(ResultMatch(index.ids[i], index.names[i], scored.score, scored.reasons))
    out.sort(key=lambda m: (-m.score, m.name, m.result_id))
    return out[:limit]


@dataclass(frozen=True)
class SiteMatch:
    site_id: str
    site_name: str
    site_kind: str
    province_code: str | None
    need_id: str
    need_title: str
    score: float
    reasons: list[Reason]
    other_needs: int  # further open needs of the same site this result fits less well


_FEATURES: dict[tuple[Any, ...], NeedFeatures] = {}  # open needs' features by (need, version, site place)


_OPEN: dict[str, tuple[Any, list[NeedFeatures]]] = {}  # db → (needs stamp, open needs' features)


def open_need_features(session: Session) -> list[NeedFeatures]:
    """Features of every open need, read as plain rows; the words are cut once per need version. Kept per
    database until a need is posted or changed (every write bumps a version and sets ``updated_at``)."""
    conn = session.connection()  # plain rows: no ORM bookkeeping for hundreds of needs
    stamp = tuple(conn.execute(select(func.count(), func.sum(Need.version), func.max(Need.updated_at))).one())
    key = session.get_bind().url.render_as_string(hide_password=True)
    held = _OPEN.get(key)
    if held is not None and held[0] == stamp:
        return held[1]
    _OPEN[key] = (stamp, features := _read_open_needs(session))
    return features


def _read_open_needs(session: Session) -> list[NeedFeatures]:
    conn = session.connection()
    rows = conn.execute(select(Need.id, Need.version, Need.site_id, Need.title, Need.problem, Need.crops,
                                  Need.industry_types, Need.scenarios, Need.land_scenarios)
                           .where(Need.state == "open").order_by(Need.id)).all()
    site_ids = list({r[2] for r in rows})
    sites = {sid: (place, prov) for sid, place, prov in conn.execute(
        select(Site.id, Site.place_code, Site.province_code).where(Site.id.in_(site_ids)))}
    divisions: dict[str, list[str]] = defaultdict(list)
    for sid, code in conn.execute(select(SiteDivision.site_id, SiteDivision.division_code)
                                  .where(SiteDivision.site_id.in_(site_ids)).order_by(SiteDivision.division_code)):
        divisions[sid].append(code)
    if len(_FEATURES) > 50_000:
        _FEATURES.clear()
    out = []
    for nid, version, sid, title, problem, crops, industries, scenarios, land in rows:
        place, prov = sites.get(sid, (None, None))
        key = (nid, version, place, prov, tuple(divisions[sid]))
        found = _FEATURES.get(key)
        if found is None:
            found = NeedFeatures.make(nid, title, problem, {"crop": crops, "industry": industries,
                                                            "scenario": scenarios, "land": land},
                                      sid, place, prov, divisions[sid])
            _FEATURES[key] = found
        out.append(found)
    return out


def rank_sites(session: Session, actor: Actor, result_id: str, limit: int = 20) -> list[SiteMatch]:
    """The sites whose open needs this (published) result fits, best first; each with its best need.

    Open needs are what every signed-in account reads (``catalog.need_access``): others get nothing."""
    if not reads_open_needs(actor):
        return []
    index = match_index(session)
    i = index.pos.get(result_id)
    if i is None:
        return []
    needs = open_need_features(session)
    if not needs:
        return []
    varieties = [v for v in session.scalars(select(DemoPlot.variety).where(DemoPlot.variety.is_not(None))
                                            .distinct()) if v and v in index.names[i]]
    gains = plot_gains(session, result_id=result_id, varieties=varieties)
    namer = Namer(session)
    namer.load_divisions([d for d, _p in index.regions[i]] + [p for n in needs for p in (n.province, n.place) if p])
    best: dict[str, tuple[float, NeedFeatures]] = {}
    counts: dict[str, int] = defaultdict(int)
    for need in needs:
        points, fit = pair_points(need, index, i, [g for g in gains if similar(need, g)] if gains else [])
        if not fit:
            continue
        counts[need.site_id] += 1
        held = best.get(need.site_id)
        if held is None or points > held[0]:
            best[need.site_id] = (points, need)
    top = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_([sid for sid, _b in top])))}
    out = []
    for sid, (_scored, need) in top:
        scored = score_pair(need, index, i, [g for g in gains if similar(need, g)], namer)
        out.append(SiteMatch(sid, sites[sid].name, sites[sid].kind, sites[sid].province_code, need.need_id or "",
                             need.title, scored.score, scored.reasons, counts[sid] - 1))
    return out
