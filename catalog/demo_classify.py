"""The demo's classification: a trained suggestion model, and a few reviewer decisions on submitted results.

The demo reviewer confirms each picked result's own codes (those the demo built from its project title), so the
decisions record where the suggestion was accepted as proposed and where the reviewer changed it, while the results
stay as seeded. The model is trained first: the decisions are what the next ``yuanxian classify train`` learns from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.classify import FIELDS, ClassifyDecision, decide, train_model
from catalog.classify_model import DIMENSIONS
from catalog.demo import REVIEWER
from catalog.errors import ValidationFailed
from catalog.results import Result


@dataclass
class ClassifySeedReport:
    model_id: str | None = None
    examples: int = 0
    seconds: float = 0.0
    decisions: int = 0  # results decided
    accepted: int = 0  # dimensions accepted as proposed
    changed: int = 0  # dimensions the reviewer changed


def seed_classification(session: Session, trained_by: str, seed: int = 42, decide_on: int = 6) -> ClassifySeedReport:
    """Train and store the model, then decide ``decide_on`` submitted results; flushes, never commits."""
    report = ClassifySeedReport()
    try:
        row = train_model(session, trained_by)
    except ValidationFailed:  # no reviewed result yet (a tiny demo): suggestions stay with the rules
        return report
    report.model_id, report.examples, report.seconds = row.id, row.examples, float(row.metrics["seconds"])
    decided = select(ClassifyDecision.result_id)
    ids = list(session.scalars(select(Result.id).where(Result.state == "submitted", Result.id.not_in(decided))
                               .order_by(Result.id)))
    for result_id in random.Random(f"{seed}:classify").sample(ids, k=min(decide_on, len(ids))):
        result = session.get_one(Result, result_id)
        own = {FIELDS[d]: result.codes_of(d) for d in DIMENSIONS}
        done = decide(session, result, own, REVIEWER)
        report.decisions += 1
        report.accepted += sum(d.accepted for d in done.decisions)
        report.changed += sum(not d.accepted for d in done.decisions)
    return report
