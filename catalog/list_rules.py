"""Composing, publishing and comparing list issues (``catalog.lists``), with who may do it.

The ministry's officers keep the national list; a province's officers keep their province's local list (and
no other). A draft is read by the officers who may compose it and by ministry officers; a published issue by
everyone. A list takes reviewed results of its own kind: national results on the national list, a province's
local results on its local list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Actor, ensure_readable
from catalog.audit import BEIJING
from catalog.db import utcnow
from catalog.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from catalog.lifecycle import transition
from catalog.lists import ListEntry, ListIssue, ResultList, load_lists
from catalog.results import DIMENSIONS, Result

ELIGIBLE_STATES = ("reviewed", "published")
MAX_ENTRIES = 5000
# What an entry keeps of its result (and what the diff between two issues compares).
SNAPSHOT_FIELDS = ("name", "institutions", "summary", "trl", "form", "stage", "source", "source_province",
                   "transfer_terms", "contact_name", "registration_no", "project_no")


# --- who ---------------------------------------------------------------------------------------------------

def can_compose(actor: Actor, lst: ResultList) -> bool:
    if actor.system:
        return True
    if lst.kind == "national":
        return None in actor.scopes("ministry_officer")
    return any(s and lst.province_code and s[:2] == lst.province_code[:2] for s in actor.scopes("province_officer"))


def can_read_drafts(actor: Actor, lst: ResultList) -> bool:
    return can_compose(actor, lst) or actor.has("ministry_officer")


def ensure_issue_readable(actor: Actor, issue: ListIssue) -> ListIssue:
    if issue.state != "published" and not can_read_drafts(actor, issue.result_list):
        raise NotFound(en=f"No list issue {issue.id}", zh="清单期次不存在", id=issue.id)
    return issue


def ensure_can_compose(actor: Actor, lst: ResultList) -> None:
    if not can_compose(actor, lst):
        raise Forbidden(en="Only the officers of the list's own level compose it",
                        zh="只有本级管理员可以编制和发布本清单", list=lst.id)


# --- reading -----------------------------------------------------------------------------------------------

def get_list(session: Session, list_id: str) -> ResultList:
    lst = session.get(ResultList, list_id)
    if lst is None:
        if not session.scalar(select(func.count()).select_from(ResultList)):
            load_lists(session)  # a database made before lists existed
            lst = session.get(ResultList, list_id)
        if lst is None:
            raise NotFound(en=f"No list {list_id}", zh="清单不存在", id=list_id)
    return lst


def get_issue(session: Session, issue_id: str) -> ListIssue:
    issue = session.get(ListIssue, issue_id)
    if issue is None:
        raise NotFound(en=f"No list issue {issue_id}", zh="清单期次不存在", id=issue_id)
    return issue


def issues_of(session: Session, actor: Actor, lst: ResultList) -> list[ListIssue]:
    """Published issues newest first, then the drafts the actor may read."""
    q = select(ListIssue).where(ListIssue.list_id == lst.id)
    if not can_read_drafts(actor, lst):
        q = q.where(ListIssue.state == "published")
    issues = list(session.scalars(q))
    return sorted(issues, key=lambda i: (i.state == "published", i.year or 0, i.number or 0,
                                         i.created_at), reverse=True)


def latest_published(session: Session, list_id: str, before: ListIssue | None = None) -> ListIssue | None:
    q = select(ListIssue).where(ListIssue.list_id == list_id, ListIssue.state == "published")
    if before is not None and before.state == "published":
        q = q.where((ListIssue.year < before.year) | ((ListIssue.year == before.year)
                                                      & (ListIssue.number < before.number)))
    return session.scalar(q.order_by(ListIssue.year.desc(), ListIssue.number.desc()).limit(1))



def latest_published_of(session: Session, list_ids: Sequence[str]) -> dict[str, ListIssue]:
    """Each list's latest published issue, in one query: the lists pages show every list's."""
    latest: dict[str, ListIssue] = {}
    for issue in session.scalars(select(ListIssue).where(ListIssue.list_id.in_(list_ids),
                                                         ListIssue.state == "published")
                                 .order_by(ListIssue.list_id, ListIssue.year.desc(), ListIssue.number.desc())):
        latest.setdefault(issue.list_id, issue)
    return latest


def entry_counts(session: Session, issues: Iterable[ListIssue]) -> dict[str, int]:
    """Entries per issue, counted in the database (loading them would load every snapshot)."""
    ids = [i.id for i in issues]
    counts = dict(session.execute(select(ListEntry.issue_id, func.count()).where(ListEntry.issue_id.in_(ids))
                                  .group_by(ListEntry.issue_id)).all()) if ids else {}
    return {i: counts.get(i, 0) for i in ids}

# --- composing ---------------------------------------------------------------------------------------------

def new_issue(session: Session, actor: Actor, lst: ResultList, note: str | None = None,
              result_ids: Sequence[str] = (), *, carry_over: bool = False) -> ListIssue:
    """A draft; with ``carry_over`` it starts as the latest published issue, less what is no longer eligible
    (a list is republished whole, so the diff between issues says what came and went)."""
    ensure_can_compose(actor, lst)
    issue = ListIssue(list_id=lst.id, result_list=lst, state="draft", note=_note(note), created_by=actor.name)
    session.add(issue)
    session.flush()
    ids = list(result_ids)
    latest = latest_published(session, lst.id) if carry_over else None
    if latest is not None:
        kept = {r.id: r for r in session.scalars(select(Result).where(
            Result.id.in_([e.result_id for e in latest.entries])))}
        ids = [e.result_id for e in latest.entries if e.result_id in kept
               and entry_problem(kept[e.result_id], lst) is None] + ids
    if ids:
        add_entries(session, actor, issue, ids)
    return issue


def _note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > 4000:
        raise ValidationFailed([FieldError("note", "too_long", "说明不能超过 4000 字",
                                           "The note is over 4,000 characters")])
    return note or None


def _writable_draft(actor: Actor, issue: ListIssue) -> None:
    ensure_issue_readable(actor, issue)
    ensure_can_compose(actor, issue.result_list)
    if issue.state == "published":
        raise Conflict(en="A published list issue cannot change", zh="已发布的清单期次不可修改", issue=issue.id)


def entry_problem(result: Result, lst: ResultList) -> tuple[str, str, str] | None:
    """Why ``result`` may not stand on ``lst`` (code, zh, en), or None."""
    if result.state not in ELIGIBLE_STATES:
        return "not_reviewed", "只有审核通过的成果可以列入清单", "Only reviewed results go on a list"
    if lst.kind == "national" and result.source != "national":
        return "wrong_list", "地方成果不能列入国家清单", "A local result does not go on the national list"
    if lst.kind == "local" and (result.source != "local" or (result.source_province or "")[:2]
                                != (lst.province_code or "")[:2]):
        return "wrong_list", "只有本省的地方成果可以列入本省清单", "Only this province's local results go on its list"
    return None


def add_entries(session: Session, actor: Actor, issue: ListIssue, result_ids: Iterable[str]) -> list[ListEntry]:
    """Add results to a draft; every refused id is reported (field ``result_ids.N``) and nothing is added."""
    _writable_draft(actor, issue)
    ids = list(dict.fromkeys(result_ids))
    have = {e.result_id for e in issue.entries}
    if len(have) + len(ids) > MAX_ENTRIES:
        raise ValidationFailed([FieldError("result_ids", "too_many", f"一期清单最多 {MAX_ENTRIES} 项",
                                           f"An issue holds at most {MAX_ENTRIES} results")])
    found = {r.id: r for r in session.scalars(select(Result).where(Result.id.in_(ids)))} if ids else {}
    errors: list[FieldError] = []
    for n, rid in enumerate(ids):
        result = found.get(rid)
        try:
            if result is None:
                raise NotFound()
            ensure_readable(actor, result)
        except NotFound:
            errors.append(FieldError(f"result_ids.{n}", "not_found", "成果不存在", "No such result", value=rid))
            continue
        problem = entry_problem(result, issue.result_list)
        if problem:
            errors.append(FieldError(f"result_ids.{n}", problem[0], problem[1], problem[2], value=rid))
    if errors:
        raise ValidationFailed(errors)
    start = max((e.position for e in issue.entries), default=-1) + 1
    added = [ListEntry(issue_id=issue.id, result_id=rid, position=start + k)
             for k, rid in enumerate(r for r in ids if r not in have)]
    issue.entries.extend(added)
    session.flush()
    return added


def remove_entry(session: Session, actor: Actor, issue: ListIssue, result_id: str) -> None:
    _writable_draft(actor, issue)
    entry = next((e for e in issue.entries if e.result_id == result_id), None)
    if entry is None:
        raise NotFound(en=f"Result {result_id} is not in this issue", zh="该成果不在本期清单中", id=result_id)
    issue.entries.remove(entry)
    session.flush()


def set_note(session: Session, actor: Actor, issue: ListIssue, note: str | None) -> ListIssue:
    _writable_draft(actor, issue)
    issue.note = _note(note)
    session.flush()
    return issue


def discard(session: Session, actor: Actor, issue: ListIssue) -> None:
    _writable_draft(actor, issue)
    session.delete(issue)
    session.flush()


def snapshot(result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(result, k) for k in SNAPSHOT_FIELDS}
    out["codes"] = {dim: result.codes_of(dim) for dim in DIMENSIONS}
    out["regions"] = result.region_codes
    out["version"] = result.version
    return out


def publish(session: Session, actor: Actor, issue: ListIssue) -> ListIssue:
    """Number the draft, freeze its entries as they are now, and publish its reviewed results."""
    _writable_draft(actor, issue)
    if not issue.entries:
        raise ValidationFailed([FieldError("entries", "required", "清单中还没有成果", "The issue holds no results")])
    results = {r.id: r for r in session.scalars(select(Result).where(
        Result.id.in_([e.result_id for e in issue.entries])))}
    errors = []
    for n, e in enumerate(issue.entries):
        problem = entry_problem(results[e.result_id], issue.result_list)
        if problem:  # withdrawn, say, since it was added
            errors.append(FieldError(f"entries.{n}", problem[0], f"{results[e.result_id].name}：{problem[1]}",
                                     f"{results[e.result_id].name}: {problem[2]}", value=e.result_id))
    if errors:
        raise ValidationFailed(errors)
    # The list's row locked until commit (PostgreSQL), so two issues published at once take numbers in turn.
    session.execute(select(ResultList.id).where(ResultList.id == issue.list_id).with_for_update())
    now = utcnow()
    year = now.astimezone(BEIJING).year
    last = session.scalar(select(func.max(ListIssue.number)).where(ListIssue.list_id == issue.list_id,
                                                                   ListIssue.year == year))
    batch = f"{issue.result_list.batch_prefix}{year}年第{(last or 0) + 1}期"
    for e in issue.entries:
        result = results[e.result_id]
        if result.state == "reviewed":
            transition(session, result, "publish", actor.name, list_batch=batch)
        else:  # on an earlier issue too: it now stands on the newest (a changed record: a new version)
            result.list_batch, result.updated_at, result.updated_by = batch, now, actor.name
            result.version += 1
    # The entries' snapshots and the issue's state in one last flush: from then on the guard freezes them.
    for e in issue.entries:
        e.snapshot = snapshot(results[e.result_id])
    issue.year, issue.number = year, (last or 0) + 1
    issue.state, issue.published_at, issue.published_by = "published", now, actor.name
    session.flush()
    return issue


# --- comparing ---------------------------------------------------------------------------------------------

@dataclass
class IssueDiff:
    previous: ListIssue | None
    added: list[str] = field(default_factory=list)      # result ids, in the issue's order
    removed: list[str] = field(default_factory=list)    # in the previous issue's order
    changed: dict[str, list[str]] = field(default_factory=dict)  # result id -> fields that changed
    kept: int = 0


def _snapshots(session: Session, issue: ListIssue) -> dict[str, dict[str, Any]]:
    """Each entry as published; a draft's as its results are now."""
    if issue.state == "published":
        return {e.result_id: e.snapshot or {} for e in issue.entries}
    results = {r.id: r for r in session.scalars(select(Result).where(
        Result.id.in_([e.result_id for e in issue.entries])))}
    return {e.result_id: snapshot(results[e.result_id]) for e in issue.entries if e.result_id in results}


def diff(session: Session, issue: ListIssue, previous: ListIssue | None = None) -> IssueDiff:
    """What changed since the previous published issue of the same list (or ``previous``)."""
    previous = previous or latest_published(session, issue.list_id, before=issue)
    if previous is not None and previous.id == issue.id:
        previous = None
    now = _snapshots(session, issue)
    before = _snapshots(session, previous) if previous is not None else {}
    out = IssueDiff(previous)
    out.added = [rid for rid in now if rid not in before]
    out.removed = [rid for rid in before if rid not in now]
    for rid in now.keys() & before.keys():
        fields = [k for k in (*SNAPSHOT_FIELDS, "codes", "regions") if now[rid].get(k) != before[rid].get(k)]
        if fields:
            out.changed[rid] = fields
        else:
            out.kept += 1
    return out
