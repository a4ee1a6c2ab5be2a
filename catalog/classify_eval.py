"""How good the suggestions are: top-1 and top-3 accuracy on what the model was not trained on.

Folds are grouped by project title: every demo result built from one title, and the title itself, sit in the same
fold, so no fold is scored on a title whose results it was trained on. Each fold trains a model on the others and
scores, with the current rules, (a) its held-out labelled results, per dimension, and (b) its real project titles:
the technology field suggested for the title against its special project's primary field (the strict measure;
"any mapped field" is printed beside it). A titles file (``--titles``) is scored by a model trained on everything
except those titles and the results built from them.

Per dimension, top-k counts a result when one of the k best suggestions is among its codes; for the technology
field, when the primary field is among them (so top-1 means "the primary field was suggested first").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from catalog.classify import Ranked, rank_texts, training_examples
from catalog.classify_model import DIMENSIONS, CharNgramModel, Example, Params, train
from catalog.classify_rules import RuleSpec, rule_specs
from catalog.classify_titles import TitleRow, distinct_titles, shipped_titles, tech_field_mapping


@dataclass
class Tally:
    n: int = 0
    top1: int = 0
    top3: int = 0

    def rate(self, part: int) -> float:
        return part / self.n if self.n else 0.0


@dataclass(frozen=True)
class TitleOutcome:
    row: TitleRow
    gold: str  # the special project's primary field
    mapped: tuple[str, ...]
    got: tuple[Ranked, ...]  # the three best, combined
    rules_top: str | None
    model_top: str | None

    @property
    def top(self) -> str | None:
        return self.got[0].code if self.got else None


@dataclass
class TitleScore:
    label: str
    outcomes: list[TitleOutcome] = field(default_factory=list)
    with_institution: list[TitleOutcome] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.outcomes)

    def share(self, hits: int) -> float:
        return hits / self.n if self.n else 0.0

    @staticmethod
    def top1(outcomes: Sequence[TitleOutcome]) -> int:
        return sum(o.top == o.gold for o in outcomes)

    @property
    def top1_any(self) -> int:
        return sum(o.top in o.mapped for o in self.outcomes)

    @property
    def top3(self) -> int:
        return sum(o.gold in [r.code for r in o.got] for o in self.outcomes)

    @property
    def rules_top1(self) -> int:
        return sum(o.rules_top == o.gold for o in self.outcomes)

    @property
    def model_top1(self) -> int:
        return sum(o.model_top == o.gold for o in self.outcomes)

    @property
    def misses(self) -> list[TitleOutcome]:
        return [o for o in self.outcomes if o.top != o.gold]


@dataclass
class Evaluation:
    folds: int
    results: int
    titles_trained: int
    dimensions: dict[str, Tally]
    shipped: TitleScore
    file: TitleScore | None = None


def evaluate(session: Session, folds: int = 5, titles: Sequence[TitleRow] | None = None,
             titles_label: str = "titles", params: Params | None = None, seed: int = 0) -> Evaluation:
    """Cross-validate over title groups (see the module docstring); score ``titles`` too when given."""
    if folds < 2:
        raise ValueError("at least two folds")
    data = training_examples(session)
    rules = rule_specs(session)
    shipped = list(shipped_titles())
    groups = sorted({e.group for e in data.examples} | {t.title for t in shipped})
    random.Random(seed).shuffle(groups)
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    tallies = {d: Tally() for d in DIMENSIONS}
    shipped_score = TitleScore("shipped")
    for k in range(folds):
        model = train([e for e in data.examples if fold_of[e.group] != k], params)
        held = [e for e in data.examples if fold_of[e.group] == k and e.kind != "title"]
        _score_results(model, rules, held, tallies)
        fold_titles = [t for t in shipped if fold_of[t.title] == k]
        _score_titles(model, rules, fold_titles, shipped_score)
    out = Evaluation(folds, data.results, data.titles, tallies, shipped_score)
    if titles is not None:
        rows = distinct_titles(list(titles))
        held_out = training_examples(session, exclude_titles={r.title for r in rows})
        model = train(held_out.examples, params)
        out.file = TitleScore(titles_label)
        _score_titles(model, rules, rows, out.file)
    return out


def _score_results(model: CharNgramModel, rules: Sequence[RuleSpec], held: Sequence[Example],
                   tallies: dict[str, Tally]) -> None:
    if not held:
        return
    for example, ranked in zip(held, rank_texts([e.text for e in held], rules, model, limit=3), strict=True):
        for dim in DIMENSIONS:
            gold = list(example.labels.get(dim) or [])
            if not gold:
                continue
            wanted = gold[:1] if dim == "tech_field" else gold
            codes = [r.code for r in ranked[dim]]
            t = tallies[dim]
            t.n += 1
            t.top1 += bool(codes[:1] and codes[0] in wanted)
            t.top3 += any(c in wanted for c in codes[:3])


def _score_titles(model: CharNgramModel, rules: Sequence[RuleSpec], rows: Sequence[TitleRow],
                  score: TitleScore) -> None:
    if not rows:
        return
    mapping = tech_field_mapping()
    for with_institution, into in ((False, score.outcomes), (True, score.with_institution)):
        texts = [r.text(with_institution) for r in rows]
        combined = rank_texts(texts, rules, model, limit=3)
        by_rules = rank_texts(texts, rules, None, limit=1)
        by_model = rank_texts(texts, [], model, limit=1)
        for row, c, r, m in zip(rows, combined, by_rules, by_model, strict=True):
            fields = mapping[row.special_project]
            into.append(TitleOutcome(row, fields.primary, fields.tech_fields, tuple(c["tech_field"]),
                                     _top(r["tech_field"]), _top(m["tech_field"])))


def _top(ranked: Sequence[Ranked]) -> str | None:
    return ranked[0].code if ranked else None
