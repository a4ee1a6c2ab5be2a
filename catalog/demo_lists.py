"""Demo list issues: the issues the demo results were published in, and one draft per list being composed.

The demo publishes results with a batch name (``2025年第2期``, ``河南省2025年第2期``, see ``catalog.demo``); this
step records those batches as the published issues of the national and local lists (numbered as named, dated by
their last publication, each entry's snapshot as the result stands), then starts the next national issue and the
next 河南 issue as drafts (the latest issue carried over, some reviewed results added), so that composing and
publishing can be tried at once.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import list_rules as lr
from catalog.access import operator
from catalog.lists import ListEntry, ListIssue, list_id_of, load_lists
from catalog.results import Result, ResultEvent

BATCH = re.compile(r"^(?P<prefix>\D*)(?P<year>\d{4})年第(?P<number>\d+)期$")
DRAFT_PROVINCE = "410000"  # the demo officers' province (catalog.demo.demo_accounts)


@dataclass
class ListsReport:
    published: int = 0
    entries: int = 0
    drafts: int = 0
    by_list: dict[str, int] = field(default_factory=dict)


def seed_lists(session: Session, seed: int = 42) -> ListsReport:
    report = ListsReport()
    load_lists(session)
    if session.scalar(select(func.count()).select_from(ListIssue)):
        return report  # seeded already
    published = session.scalars(select(Result).where(Result.state.in_(("published", "withdrawn")),
                                                     Result.list_batch.is_not(None))).all()
    when = dict(session.execute(select(ResultEvent.result_id, func.max(ResultEvent.at)).where(
        ResultEvent.action == "publish").group_by(ResultEvent.result_id)).all())
    batches: dict[tuple[str, int, int], list[Result]] = defaultdict(list)
    for r in published:
        m = BATCH.match(r.list_batch or "")
        if m is None:
            continue
        list_id = list_id_of(r.source_province if r.source == "local" else None)
        batches[(list_id, int(m["year"]), int(m["number"]))].append(r)
    for (list_id, year, number), results in sorted(batches.items()):
        results.sort(key=lambda r: (when.get(r.id) or r.updated_at, r.id))
        at = max(when.get(r.id) or r.updated_at for r in results)
        issue = ListIssue(list_id=list_id, state="published", year=year, number=number, created_at=at,
                          created_by="demo-publisher", published_at=at, published_by="demo-publisher")
        issue.entries = [ListEntry(result_id=r.id, position=k, snapshot=lr.snapshot(r))
                         for k, r in enumerate(results)]
        session.add(issue)  # the issue and its entries in one flush: the guard only freezes what is stored
        report.published += 1
        report.entries += len(results)
        report.by_list[list_id] = report.by_list.get(list_id, 0) + 1
    session.flush()
    rng = random.Random(seed)
    officer = operator("demo-publisher", channel="seed")
    for list_id, province in (("national", None), (list_id_of(DRAFT_PROVINCE), DRAFT_PROVINCE)):
        q = select(Result.id).where(Result.state == "reviewed",
                                    Result.source == ("local" if province else "national"))
        if province:
            q = q.where(Result.source_province == province)
        ids = sorted(session.scalars(q))
        if not ids:
            continue
        pick = rng.sample(ids, min(len(ids), 12))
        lr.new_issue(session, officer, lr.get_list(session, list_id), note="下一期（编制中）", result_ids=pick,
                     carry_over=True)
        report.drafts += 1
    return report
