"""Periodic lists: composing from reviewed results, numbered publication, frozen issues, the diff between issues,
and who may do what — on SQLite and PostGIS."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import list_rules as lr
from catalog.access import ANONYMOUS, Actor, Grant
from catalog.audit import BEIJING, AuditEntry
from catalog.db import utcnow
from catalog.errors import Conflict, Forbidden, NotFound, ValidationFailed
from catalog.lifecycle import transition
from catalog.lists import IssueFrozen, ListEntry, ListIssue
from catalog.result_store import create_result

MINISTRY = Actor("部级", "u-m", (Grant("ministry_officer", None),))
HENAN = Actor("河南省", "u-h", (Grant("province_officer", "410000"),))
HEBEI = Actor("河北省", "u-b", (Grant("province_officer", "130000"),))


def result(s: Session, name: str, *, steps: tuple[str, ...] = ("submit", "approve"), **extra: Any) -> str:
    data = {"name": name, "summary": f"{name}的简介", "institutions": ["河南农业大学"], "industry_types": ["IT0103"],
            "tech_fields": ["TF01"], "crops": ["maize"], "trl": 7, **extra}
    r = create_result(s, data, "test")
    for step in steps:
        transition(s, r, step, "reviewer", "意见" if step in ("return", "withdraw") else None)
    return str(r.id)


def published(s: Session, actor: Actor, list_id: str, ids: list[str]) -> ListIssue:
    issue = lr.new_issue(s, actor, lr.get_list(s, list_id), note="第一批", result_ids=ids)
    return lr.publish(s, actor, issue)


def test_publish__numbered_in_the_year_results_published_and_entries_snapshotted(session: Session) -> None:
    a, b = result(session, "耐密玉米郑单958"), result(session, "抗旱玉米品种")
    first = published(session, MINISTRY, "national", [a, b])
    year = utcnow().astimezone(BEIJING).year
    assert (first.state, first.year, first.number, first.title_zh) == ("published", year, 1, f"{year}年第1期")
    assert [e.result_id for e in first.entries] == [a, b]
    assert first.entries[0].snapshot["name"] == "耐密玉米郑单958"
    assert first.entries[0].snapshot["codes"]["tech_field"] == ["TF01"]
    from catalog.results import Result
    ra = session.get(Result, a)
    assert ra is not None and ra.state == "published" and ra.list_batch == f"{year}年第1期"
    version = session.get(Result, b).version  # type: ignore[union-attr]
    second = published(session, MINISTRY, "national", [b])
    assert second.number == 2
    rb = session.get(Result, b)
    assert rb is not None and rb.list_batch == f"{year}年第2期" and rb.version == version + 1  # a changed record
    local = published(session, HENAN, "local-410000", [result(session, "豫南稻麦轮作", source="local",
                                                                source_province="410000")])
    assert local.number == 1 and local.entries[0].snapshot["source"] == "local"
    assert session.get(Result, local.entries[0].result_id).list_batch == f"河南省{year}年第1期"  # type: ignore


def test_published_issue__never_changes_on_any_path(session: Session) -> None:
    a, b = result(session, "甲"), result(session, "乙")
    issue = published(session, MINISTRY, "national", [a])
    with pytest.raises(Conflict):
        lr.add_entries(session, MINISTRY, issue, [b])
    with pytest.raises(Conflict):
        lr.remove_entry(session, MINISTRY, issue, a)
    with pytest.raises(Conflict):
        lr.set_note(session, MINISTRY, issue, "改")
    with pytest.raises(Conflict):
        lr.publish(session, MINISTRY, issue)
    session.commit()
    # Below the rules too: the ORM guard refuses a direct write to a published issue or its entries.
    changes = {
        "note": lambda: setattr(issue, "note", "偷改"),
        "position": lambda: setattr(issue.entries[0], "position", 9),
        "snapshot": lambda: setattr(issue.entries[0], "snapshot", {**issue.entries[0].snapshot, "name": "偷改"}),
        "new entry": lambda: session.add(ListEntry(issue_id=issue.id, result_id=b, position=1)),
        "entry deleted": lambda: session.delete(issue.entries[0]),
        "issue deleted": lambda: session.delete(issue),
    }
    for what, change in changes.items():
        change()
        with pytest.raises(IssueFrozen):
            session.flush()
            pytest.fail(what)
        session.rollback()
    fresh = session.scalar(select(ListIssue).where(ListIssue.id == issue.id))
    assert fresh is not None and fresh.note == "第一批" and [e.result_id for e in fresh.entries] == [a]
    assert fresh.entries[0].snapshot["name"] == "甲"


def test_diff__added_removed_changed_against_the_previous_issue(session: Session) -> None:
    a, b, c = result(session, "甲"), result(session, "乙"), result(session, "丙")
    first = published(session, MINISTRY, "national", [a, b])
    from catalog.results import Result
    rb = session.get(Result, b)
    assert rb is not None
    rb.trl = 8  # a correction after publication (by the platform's operator)
    session.flush()
    draft = lr.new_issue(session, MINISTRY, lr.get_list(session, "national"), result_ids=[b, c])
    d = lr.diff(session, draft)
    assert d.previous is not None and d.previous.id == first.id
    assert (d.added, d.removed, d.changed, d.kept) == ([c], [a], {b: ["trl"]}, 0)
    second = lr.publish(session, MINISTRY, draft)
    assert lr.diff(session, second).added == [c]
    assert lr.diff(session, first).previous is None  # the first issue has nothing before it
    third = published(session, MINISTRY, "national", [b, c])
    d3 = lr.diff(session, third)
    assert d3.previous is not None and d3.previous.id == second.id and (d3.added, d3.removed, d3.kept) == ([], [], 2)


def test_add__only_reviewed_results_of_the_lists_own_kind__every_refusal_named(session: Session) -> None:
    ok = result(session, "审核通过")
    draft_result = result(session, "草稿", steps=())
    submitted = result(session, "已提交", steps=("submit",))
    local = result(session, "河南地方成果", source="local", source_province="410000")
    hebei = result(session, "河北地方成果", source="local", source_province="130000")
    issue = lr.new_issue(session, MINISTRY, lr.get_list(session, "national"))
    with pytest.raises(ValidationFailed) as e:
        lr.add_entries(session, MINISTRY, issue, [ok, draft_result, submitted, local, "nope"])
    assert [(f.field, f.code) for f in e.value.errors] == [  # a draft the officer may not read: "not found"
        ("result_ids.1", "not_found"), ("result_ids.2", "not_reviewed"), ("result_ids.3", "wrong_list"),
        ("result_ids.4", "not_found")]
    assert issue.entries == []  # nothing added when anything is refused
    national = published(session, MINISTRY, "national", [ok]).entries[0].result_id  # readable by all now
    henan = lr.new_issue(session, HENAN, lr.get_list(session, "local-410000"))
    with pytest.raises(ValidationFailed) as e:
        lr.add_entries(session, HENAN, henan, [local, hebei, national])
    assert [(f.field, f.code) for f in e.value.errors] == [("result_ids.1", "not_found"),  # 河北's, unpublished
                                                           ("result_ids.2", "wrong_list")]
    lr.add_entries(session, HENAN, henan, [local, local])
    assert [x.result_id for x in henan.entries] == [local]


def test_publish__refused_when_an_entry_was_withdrawn_meanwhile_or_the_issue_is_empty(session: Session) -> None:
    a = result(session, "甲")
    issue = lr.new_issue(session, MINISTRY, lr.get_list(session, "national"))
    with pytest.raises(ValidationFailed):
        lr.publish(session, MINISTRY, issue)
    lr.add_entries(session, MINISTRY, issue, [a])
    from catalog.results import Result
    transition(session, session.get(Result, a), "withdraw", "部级", "被新版替代")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as e:
        lr.publish(session, MINISTRY, issue)
    assert e.value.errors[0].field == "entries.0" and "甲" in e.value.errors[0].zh
    assert issue.state == "draft" and issue.number is None


def test_who__each_level_its_own_list_drafts_hidden_publications_public(session: Session) -> None:
    national, henan, hebei = (lr.get_list(session, i) for i in ("national", "local-410000", "local-130000"))
    with pytest.raises(Forbidden):
        lr.new_issue(session, HENAN, national)
    with pytest.raises(Forbidden):
        lr.new_issue(session, HENAN, hebei)  # a province officer cannot publish another province's list
    with pytest.raises(Forbidden):
        lr.new_issue(session, MINISTRY, henan)  # a local list is the province's own
    draft = lr.new_issue(session, HEBEI, hebei)
    hebei_local = result(session, "冀中南节水小麦", source="local", source_province="130000")
    lr.add_entries(session, HEBEI, draft, [hebei_local])
    with pytest.raises(NotFound):  # another province's draft: not even there for 河南
        lr.publish(session, HENAN, draft)
    for outsider in (ANONYMOUS, HENAN):
        with pytest.raises(NotFound):
            lr.ensure_issue_readable(outsider, draft)
    assert lr.ensure_issue_readable(MINISTRY, draft) is draft
    assert lr.issues_of(session, ANONYMOUS, hebei) == []
    lr.publish(session, HEBEI, draft)
    assert lr.ensure_issue_readable(ANONYMOUS, draft) is draft and lr.issues_of(session, ANONYMOUS, hebei) == [draft]


def test_publish__audited(session: Session) -> None:
    issue = published(session, MINISTRY, "national", [result(session, "甲")])
    session.flush()
    rows = session.scalars(select(AuditEntry).where(AuditEntry.entity == "list_issue")).all()
    assert {r.action for r in rows} >= {"insert", "update"} and any(r.entity_id == issue.id for r in rows)


def test_carry_over__starts_from_the_latest_issue_less_what_was_withdrawn(session: Session) -> None:
    a, b, c = result(session, "甲"), result(session, "乙"), result(session, "丙")
    published(session, MINISTRY, "national", [a, b])
    from catalog.results import Result
    transition(session, session.get(Result, b), "withdraw", "部级", "被新版替代")  # type: ignore[arg-type]
    draft = lr.new_issue(session, MINISTRY, lr.get_list(session, "national"), result_ids=[c], carry_over=True)
    assert [e.result_id for e in draft.entries] == [a, c]
    d = lr.diff(session, draft)
    assert (d.added, d.removed, d.kept) == ([c], [b], 1)
    empty = lr.new_issue(session, MINISTRY, lr.get_list(session, "national"))
    assert empty.entries == []
