from __future__ import annotations

import pytest
from sqlalchemy import select

from catalog.errors import IllegalTransition, ValidationFailed
from catalog.lifecycle import allowed_actions, transition
from catalog.result_store import update_result
from catalog.results import ResultEvent
from tests.catalog.factories import make_result


def test_transition__full_path__records_every_step(session):
    r = make_result(session, "耐密高产玉米新品种")
    for action in ("submit", "approve", "publish"):
        transition(session, r, action, "reviewer")
    transition(session, r, "withdraw", "officer", comment="品种权到期")
    assert r.state == "withdrawn"
    events = session.scalars(select(ResultEvent).where(ResultEvent.result_id == r.id)
                             .order_by(ResultEvent.at)).all()
    assert [e.action for e in events] == ["create", "submit", "approve", "publish", "withdraw"]
    assert events[-1].comment == "品种权到期" and events[-1].actor == "officer"
    assert r.version == 5


@pytest.mark.parametrize("state_path, action", [
    ((), "approve"),                      # draft cannot be approved
    ((), "publish"),
    (("submit",), "submit"),              # already submitted
    (("submit", "approve"), "return"),    # reviewed cannot be returned
    (("submit", "approve", "publish"), "approve"),
])
def test_transition__illegal_step__refused_and_state_unchanged(session, state_path, action):
    r = make_result(session, "大豆高产栽培技术规程")
    for step in state_path:
        transition(session, r, step, "x")
    before = (r.state, r.version)
    with pytest.raises(IllegalTransition) as exc:
        transition(session, r, action, "x", comment="意见")
    assert (r.state, r.version) == before
    assert exc.value.context["allowed"] == allowed_actions(r.state)
    assert "不能执行" in exc.value.zh


def test_return__without_comment__refused(session):
    r = make_result(session, "水稻机插秧技术")
    transition(session, r, "submit", "holder")
    with pytest.raises(ValidationFailed) as exc:
        transition(session, r, "return", "reviewer", comment="  ")
    assert exc.value.errors[0].field == "comment"
    assert r.state == "submitted"
    transition(session, r, "return", "reviewer", comment="请补充试验数据")
    assert r.state == "draft" and r.review_comment == "请补充试验数据"


def test_submit__incomplete_record__names_missing_fields(session):
    r = make_result(session, "盐碱地改良技术", summary="", institutions=[], industry_types=[])
    with pytest.raises(ValidationFailed) as exc:
        transition(session, r, "submit", "holder")
    assert {e.field for e in exc.value.errors} == {"summary", "institutions", "industry_types"}
    assert r.state == "draft"


def test_edit__reviewed_result__locked(session):
    r = make_result(session, "小麦节水技术")
    transition(session, r, "submit", "holder")
    update_result(session, r, {"summary": "补充说明"}, "holder")  # submitted is still editable
    transition(session, r, "approve", "reviewer")
    with pytest.raises(IllegalTransition):
        update_result(session, r, {"summary": "改动"}, "holder")
    assert r.summary == "补充说明"
