"""The result lifecycle: draft → submitted → reviewed → published → withdrawn.

A reviewer may return a submitted result to draft, with a comment. "published" means the result appears in a
published list issue: the lists module calls :func:`transition` with ``publish``. Every step is a ResultEvent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import FieldError, IllegalTransition, ValidationFailed
from catalog.results import Result, ResultEvent


@dataclass(frozen=True)
class Step:
    sources: frozenset[str]
    target: str
    needs_comment: bool = False


STEPS: dict[str, Step] = {
    "submit": Step(frozenset({"draft"}), "submitted"),
    "return": Step(frozenset({"submitted"}), "draft", needs_comment=True),
    "approve": Step(frozenset({"submitted"}), "reviewed"),
    "publish": Step(frozenset({"reviewed"}), "published"),
    "withdraw": Step(frozenset({"reviewed", "published"}), "withdrawn", needs_comment=True),
}
EDITABLE_STATES = frozenset({"draft", "submitted"})
STATE_NAMES = {"draft": "草稿", "submitted": "已提交", "reviewed": "已审核", "published": "已发布",
               "withdrawn": "已撤回"}


def allowed_actions(state: str) -> list[str]:
    return [name for name, step in STEPS.items() if state in step.sources]


def transition(session: Session, result: Result, action: str, actor: str | None,
               comment: str | None = None, list_batch: str | None = None) -> Result:
    """Move ``result`` one step; refuse a step its state does not allow, or a missing comment."""
    step = STEPS.get(action)
    if step is None or result.state not in step.sources:
        raise IllegalTransition(STATE_NAMES.get(result.state, result.state), action,
                                allowed_actions(result.state))
    comment = (comment or "").strip() or None
    if step.needs_comment and not comment:
        raise ValidationFailed([FieldError("comment", "required", "退回或撤回须填写意见",
                                           "Returning or withdrawing needs a comment")])
    if action == "submit":
        _check_complete(result)
    before = result.state
    result.state = step.target
    result.version += 1
    result.updated_at = utcnow()
    result.updated_by = actor
    if comment:
        result.review_comment = comment
    if action == "publish" and list_batch:
        result.list_batch = list_batch
    session.add(ResultEvent(result_id=result.id, action=action, from_state=before, to_state=step.target,
                            actor=actor, comment=comment))
    session.flush()
    return result


def _check_complete(result: Result) -> None:
    """What a submitted result must carry for a reviewer to judge it."""
    missing: list[FieldError] = []
    if not (result.summary or "").strip():
        missing.append(FieldError("summary", "required", "提交前须填写成果简介", "A summary is required to submit"))
    if not result.institutions:
        missing.append(FieldError("institutions", "required", "提交前须填写完成单位",
                                  "The completing institutions are required to submit"))
    if not result.codes_of("industry_type"):
        missing.append(FieldError("industry_types", "required", "提交前须选择服务产业类型",
                                  "An industry type is required to submit"))
    if missing:
        raise ValidationFailed(missing)
