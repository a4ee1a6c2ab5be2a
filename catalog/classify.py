"""Classification suggestions for a result's text, and the reviewers' decisions on them.

Two sources suggest codes for each dimension (technology field, industry type, scenario, crop, land scenario):
the keyword rules officers keep (``catalog.classify_rules``) and a character n-gram model trained on reviewed
results (``catalog.classify_model``). They combine per code as independent evidence (noisy-OR):

    confidence = 1 − (1 − rule confidence) × (1 − model confidence)

so either source alone can make a code likely and both together make it likelier; the suggestion's ``source`` is
``rule``, ``model`` or ``both`` (a source counts when its own confidence reaches ``MIN_EVIDENCE``), and its
``words`` are the matched keywords followed by the model's strongest character n-grams. Without a stored model
the rules suggest alone, and the answer says so (``model`` is None).

A reviewer accepts or changes the suggestion of a submitted result (:func:`decide`): the chosen codes go to the
result through the result store (validated, versioned, audited like every write), and each dimension's decision is
kept — what was suggested, what was chosen, by whom, when. ``classify train`` learns from reviewed results, the
decisions (which override the codes they decided) and the shipped real project titles labelled with their special
project's technology field (``catalog.classify_titles``). The trained model is stored in the database, so every
app server suggests with the same one.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.access import Actor, can_act
from catalog.classify_model import DIMENSIONS, CharNgramModel, Example, Params, Scored, clamp, train
from catalog.classify_rules import CODE_LISTS, RuleHit, RuleSpec, match, rule_specs
from catalog.classify_titles import shipped_titles, tech_field_mapping, title_of_project
from catalog.codelists import current_codes
from catalog.db import Base, UTCDateTime, timestamp, utcnow, uuid_pk
from catalog.errors import Conflict, FieldError, IllegalTransition, ValidationFailed
from catalog.lifecycle import EDITABLE_STATES, STATE_NAMES, allowed_actions
from catalog.result_store import update_result
from catalog.results import Result

# The result field that holds each dimension's codes (as the result API and store name them).
FIELDS: dict[str, str] = {"tech_field": "tech_fields", "industry_type": "industry_types", "scenario": "scenarios",
                          "crop": "crops", "land_scenario": "land_scenarios"}
REVIEWED_STATES = ("reviewed", "published", "withdrawn")  # a reviewer approved the result (and its codes)
TITLE_WEIGHT = 5.0  # a title is a few words against a result's paragraph: it counts as five results
DECISION_WEIGHT = 2.0  # a reviewer checked these codes one by one
MIN_EVIDENCE = 0.05  # below this a source is not counted as suggesting the code, and a code is not listed
PROPOSE_AT = 0.5  # codes this likely are pre-selected for the reviewer (the technology field's best always is)
DEFAULT_LIMIT = 5
KEEP_MODELS = 3  # older stored models are deleted when a new one is trained


class ClassifierModel(Base):
    """A trained suggestion model, shared by every app server through the database."""

    __tablename__ = "classify_model"

    id: Mapped[uuid_pk]
    trained_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    trained_by: Mapped[str] = mapped_column(String(64))
    examples: Mapped[int] = mapped_column(Integer)
    decisions: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    # classify_model.CharNgramModel.to_bytes(): arrays only, read back without pickle
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class ClassifyDecision(Base):
    """A reviewer's decision on one dimension of a result: what was suggested, what was chosen."""

    __tablename__ = "classify_decision"

    id: Mapped[uuid_pk]
    result_id: Mapped[str] = mapped_column(ForeignKey("result.id", ondelete="CASCADE"), index=True)
    dimension: Mapped[str] = mapped_column(String(16))
    suggested: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{code, confidence, source}], best first
    proposed: Mapped[list[str]] = mapped_column(JSON)  # the codes pre-selected for the reviewer
    chosen: Mapped[list[str]] = mapped_column(JSON)
    accepted: Mapped[bool] = mapped_column(Boolean)  # chosen is what was proposed
    model_id: Mapped[str | None] = mapped_column(String(36))  # None: the rules suggested alone
    actor: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[timestamp]


# -- texts and labels -----------------------------------------------------------------------------------------


def compose_text(name: str | None, summary: str | None = None, keywords: Sequence[str] = (),
                 institutions: Sequence[str] = ()) -> str:
    """The text suggestions read: name, summary, keywords and institutions, one per line."""
    return "\n".join(p for p in (name or "", summary or "", " ".join(keywords), " ".join(institutions)) if p)


def text_of(result: Result) -> str:
    return compose_text(result.name, result.summary, result.keywords or [], result.institutions or [])


def group_of(project_no: str | None, result_id: str) -> str:
    """The evaluation group of a result: the project title it was built from, when known."""
    if project_no:
        return title_of_project().get(project_no) or f"project:{project_no}"
    return f"result:{result_id}"


@dataclass(frozen=True)
class TrainingSet:
    examples: list[Example]
    results: int
    decisions: int
    titles: int


def training_examples(session: Session, exclude_titles: Collection[str] = (),
                      with_titles: bool = True) -> TrainingSet:
    """Reviewed results with their codes (a decision replaces the codes of its dimension), results that only a
    decision labels (for the decided dimensions), and the shipped real titles (technology field only).

    ``exclude_titles``: leave out those titles and every result built from them (honest evaluation)."""
    excluded = set(exclude_titles)
    latest: dict[str, dict[str, list[str]]] = {}
    for rid, dim, chosen in session.execute(select(ClassifyDecision.result_id, ClassifyDecision.dimension,
                                                   ClassifyDecision.chosen)
                                            .order_by(ClassifyDecision.at, ClassifyDecision.id)):
        latest.setdefault(rid, {})[dim] = list(chosen)
    query = select(Result).where(or_(Result.state.in_(REVIEWED_STATES),
                                     Result.id.in_(select(ClassifyDecision.result_id))))
    examples: list[Example] = []
    results = decisions = 0
    for r in session.scalars(query.order_by(Result.id)):
        group = group_of(r.project_no, r.id)
        if group in excluded:
            continue
        decided = latest.get(r.id, {})
        labels = {dim: r.codes_of(dim) for dim in DIMENSIONS} if r.state in REVIEWED_STATES else {}
        labels.update({d: c for d, c in decided.items() if d in DIMENSIONS})
        if not labels:
            continue
        examples.append(Example(text_of(r), labels, group, DECISION_WEIGHT if decided else 1.0,
                                "decision" if decided else "result"))
        results += 1
        decisions += bool(decided)
    titles = 0
    if with_titles:
        mapping = tech_field_mapping()
        for t in shipped_titles():
            if t.title in excluded:
                continue
            examples.append(Example(t.text(with_institution=True), {"tech_field": [mapping[t.special_project].primary]},
                                    t.title, TITLE_WEIGHT, "title"))
            titles += 1
    return TrainingSet(examples, results, decisions, titles)


# -- training and the stored model ------------------------------------------------------------------------------


def train_model(session: Session, actor: str, params: Params | None = None) -> ClassifierModel:
    """Train on everything labelled, store the model (it becomes the current one), drop the oldest; flushes."""
    data = training_examples(session)
    if not data.results:
        raise ValidationFailed([FieldError("results", "required", "没有已审核的成果可供训练",
                                           "There are no reviewed results to train on")])
    started = time.perf_counter()
    model = train(data.examples, params)
    blob = model.to_bytes()
    row = ClassifierModel(trained_by=actor, examples=len(data.examples), decisions=data.decisions,
                          params=dict(model.params.__dict__), data=blob, metrics={
                              "results": data.results, "decisions": data.decisions, "titles": data.titles,
                              "vocabulary": len(model.vocabulary), "bytes": len(blob),
                              "seconds": round(time.perf_counter() - started, 2),
                              "codes": {d: len(h.classes) for d, h in model.heads.items()}})
    session.add(row)
    session.flush()
    old = session.scalars(select(ClassifierModel.id).order_by(ClassifierModel.trained_at.desc(),
                                                              ClassifierModel.id.desc()).offset(KEEP_MODELS))
    for model_id in list(old):
        session.delete(session.get(ClassifierModel, model_id))
    session.flush()
    _remember(row.id, model)
    return row


@dataclass(frozen=True)
class ModelInfo:
    id: str
    trained_at: dt.datetime
    trained_by: str
    examples: int
    decisions: int
    metrics: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "trained_at": self.trained_at.isoformat(), "trained_by": self.trained_by,
                "examples": self.examples, "decisions": self.decisions, "metrics": self.metrics}


_LOADED: dict[str, CharNgramModel] = {}  # model id → model (a stored model never changes); the newest only
_LOCK = threading.Lock()


def _remember(model_id: str, model: CharNgramModel) -> None:
    with _LOCK:
        _LOADED.clear()
        _LOADED[model_id] = model


def current_model(session: Session) -> tuple[ModelInfo, CharNgramModel] | None:
    """The newest stored model, loaded once per process (asked for by id each time, so a model trained on any
    server is used by all from their next suggestion)."""
    row = session.execute(select(ClassifierModel.id, ClassifierModel.trained_at, ClassifierModel.trained_by,
                                 ClassifierModel.examples, ClassifierModel.decisions, ClassifierModel.metrics)
                          .order_by(ClassifierModel.trained_at.desc(), ClassifierModel.id.desc()).limit(1)).first()
    if row is None:
        return None
    info = ModelInfo(row.id, row.trained_at, row.trained_by, row.examples, row.decisions, dict(row.metrics or {}))
    with _LOCK:
        model = _LOADED.get(info.id)
    if model is None:
        blob = session.scalar(select(ClassifierModel.data).where(ClassifierModel.id == info.id))
        model = CharNgramModel.from_bytes(bytes(blob or b""))
        _remember(info.id, model)
    return info, model


# -- suggestions -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    code: str
    confidence: float
    source: str  # rule, model, both
    words: tuple[str, ...]


def rank(model_scores: Sequence[Scored], hits: Mapping[str, RuleHit], limit: int = DEFAULT_LIMIT,
         allowed: Collection[str] | None = None) -> list[Ranked]:
    """One dimension's suggestions from both sources, best first (see the module docstring for the rule)."""
    model = {s.code: s for s in model_scores}
    out: list[Ranked] = []
    for code in dict.fromkeys([*hits, *model]):
        if allowed is not None and code not in allowed:
            continue
        p_rule = hits[code].confidence if code in hits else 0.0
        p_model = model[code].confidence if code in model else 0.0
        confidence = clamp(1.0 - (1.0 - p_rule) * (1.0 - p_model))
        if confidence < MIN_EVIDENCE:
            continue
        by_rule, by_model = p_rule >= MIN_EVIDENCE, p_model >= MIN_EVIDENCE
        source = "both" if by_rule and by_model else "rule" if by_rule else "model"
        words = (*(hits[code].words if code in hits else ()),
                 *(w for w in (model[code].words if by_model else ()) if not any(w in h or h in w for h in (
                     hits[code].words if code in hits else ()))))
        out.append(Ranked(code, round(confidence, 4), source, tuple(words)))
    out.sort(key=lambda r: (-r.confidence, r.code))
    return out[:limit]


def rank_texts(texts: Sequence[str], rules: Sequence[RuleSpec], model: CharNgramModel | None,
               limit: int = DEFAULT_LIMIT, allowed: Mapping[str, Collection[str]] | None = None
               ) -> list[dict[str, list[Ranked]]]:
    """Suggestions for several texts at once (one model call)."""
    scored = model.predict(texts, limit=max(limit, 10)) if model is not None else [{} for _ in texts]
    out = []
    for text, by_dim in zip(texts, scored, strict=True):
        hits = match(rules, text)
        out.append({dim: rank(by_dim.get(dim, []), hits.get(dim, {}), limit,
                              allowed.get(dim) if allowed is not None else None) for dim in DIMENSIONS})
    return out


@dataclass(frozen=True)
class Suggestion:
    code: str
    confidence: float
    source: str
    words: tuple[str, ...]
    name_zh: str
    name_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "confidence": self.confidence, "source": self.source, "words": list(self.words),
                "name_zh": self.name_zh, "name_en": self.name_en}


@dataclass(frozen=True)
class Suggestions:
    by_dimension: dict[str, list[Suggestion]]
    model: ModelInfo | None  # None: no model is stored yet, the rules suggested alone

    def as_dict(self) -> dict[str, Any]:
        """``{dimension: [suggestion, ...], ..., "model": {...} | None}``: the shape of the API and the CLI."""
        return {**{d: [s.as_dict() for s in self.by_dimension[d]] for d in DIMENSIONS},
                "model": self.model.as_dict() if self.model else None}

    def proposal(self, dimension: str) -> list[str]:
        """The codes pre-selected for a reviewer: the likely ones; for the technology field at least the best,
        as the primary field (a result needs one)."""
        ranked = self.by_dimension.get(dimension, [])
        picked = [s.code for s in ranked if s.confidence >= PROPOSE_AT]
        if dimension == "tech_field" and ranked and ranked[0].code not in picked:
            picked.insert(0, ranked[0].code)
        return picked


def suggest(session: Session, text: str, limit: int = DEFAULT_LIMIT) -> Suggestions:
    """Ranked suggestions per dimension for ``text``, from the officers' rules and the current model."""
    loaded = current_model(session)
    codes = {dim: current_codes(session, list_id) for dim, list_id in CODE_LISTS.items()}
    ranked = rank_texts([text], rule_specs(session), loaded[1] if loaded else None, limit, codes)[0]
    by_dim = {dim: [Suggestion(r.code, r.confidence, r.source, r.words, codes[dim][r.code].name_zh,
                               codes[dim][r.code].name_en) for r in ranked[dim]] for dim in DIMENSIONS}
    return Suggestions(by_dim, loaded[0] if loaded else None)


# -- decisions ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    result: Result
    decisions: list[ClassifyDecision] = field(default_factory=list)
    changed: bool = False  # the result's codes changed


def decide(session: Session, result: Result, chosen: Mapping[str, Sequence[str]], actor: str,
           actor_id: str | None = None, expected_version: int | None = None) -> Decided:
    """Keep a reviewer's codes for ``result`` (keyed by result field: ``tech_fields``, ``industry_types``,
    ``scenarios``, ``crops``, ``land_scenarios``; the first technology field is the primary one).

    The result must still be editable (draft or submitted); changed codes go through ``update_result``. The
    caller has checked that ``actor`` may classify it (``catalog.access``). Flushes, never commits."""
    unknown = [f for f in chosen if f not in FIELDS.values()]
    if unknown or not chosen:
        raise ValidationFailed([FieldError(f, "unknown_field", "未知字段", "Unknown field") for f in unknown] or [
            FieldError("_schema", "required", "至少需要一个维度的分类", "Give the codes of at least one dimension")])
    if result.state not in EDITABLE_STATES:
        raise IllegalTransition(STATE_NAMES.get(result.state, result.state), "classify",
                                allowed_actions(result.state))
    if expected_version is not None and expected_version != result.version:
        raise Conflict(en=f"The result changed meanwhile (version {result.version}, yours {expected_version})",
                       zh=f"成果已被他人修改（当前版本 {result.version}，您的版本 {expected_version}）",
                       server_version=result.version)
    shown = suggest(session, text_of(result), limit=10)
    dims = {f: d for d, f in FIELDS.items()}
    clean = {f: list(dict.fromkeys(str(c) for c in codes)) for f, codes in chosen.items()}
    changes = {f: codes for f, codes in clean.items() if codes != result.codes_of(dims[f])}
    if changes:
        update_result(session, result, changes, actor)
    decisions = []
    for f, codes in clean.items():
        dim = dims[f]
        proposed = shown.proposal(dim)
        accepted = set(codes) == set(proposed) and (dim != "tech_field" or codes[:1] == proposed[:1])
        decision = ClassifyDecision(
            result_id=result.id, dimension=dim, chosen=codes, proposed=proposed, accepted=accepted,
            suggested=[{"code": s.code, "confidence": s.confidence, "source": s.source}
                       for s in shown.by_dimension[dim]],
            model_id=shown.model.id if shown.model else None, actor=actor, actor_id=actor_id)
        session.add(decision)
        decisions.append(decision)
    session.flush()
    return Decided(result, decisions, bool(changes))


def decisions_of(session: Session, result_id: str) -> list[ClassifyDecision]:
    return list(session.scalars(select(ClassifyDecision).where(ClassifyDecision.result_id == result_id)
                                .order_by(ClassifyDecision.at.desc(), ClassifyDecision.dimension)))



@dataclass(frozen=True)
class Classification:
    """What a reviewer sees of a result's classification: its codes, the suggestions, the decisions so far."""

    result: Result
    suggestions: Suggestions
    decisions: list[ClassifyDecision]
    may_decide: bool

    def current(self) -> dict[str, list[str]]:
        return {dim: self.result.codes_of(dim) for dim in DIMENSIONS}

    def proposed(self) -> dict[str, list[str]]:
        return {dim: self.suggestions.proposal(dim) for dim in DIMENSIONS}


def may_classify(actor: Actor, result: Result) -> bool:
    """Whether ``actor`` reviews ``result`` and its codes may still change."""
    return result.state in EDITABLE_STATES and can_act(actor, result, "classify")


def classification(session: Session, actor: Actor, result: Result, limit: int = 8) -> Classification:
    """The caller has checked that ``actor`` may read ``result``."""
    return Classification(result, suggest(session, text_of(result), limit), decisions_of(session, result.id),
                          may_classify(actor, result))
