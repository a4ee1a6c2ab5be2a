from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from catalog.access import ensure_readable, ensure_result_writable, ensure_rule_editor
from catalog.classify import Classification, classification, compose_text, decide, suggest
from catalog.classify_rules import ClassifyRule, add_rule, delete_rule, get_rule, list_rules, update_rule
from catalog.result_store import get_result
from server.api.classify.schemas import (
    ClassificationSchema,
    DecisionWriteSchema,
    RuleEditSchema,
    RuleQuerySchema,
    RuleSchema,
    RuleWriteSchema,
    SuggestArgsSchema,
    SuggestionsSchema,
)
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("classify", __name__, url_prefix="/api/classify", description="分类建议 / Classification suggestions")
# A result's own classification lives under the result's path.
result_blp = Blueprint("result_classification", __name__, url_prefix="/api/results",
                       description="成果分类审核 / Reviewing a result's classification")


@blp.route("/suggest", methods=["POST"])
@blp.arguments(SuggestArgsSchema)
@blp.response(200, SuggestionsSchema)
def suggest_codes(args: dict[str, Any]) -> dict[str, Any]:
    """一段文字的分类建议（各维度按把握排序）/ Ranked classification suggestions for a text"""
    # Open to everyone: a suggestion is computed from the text sent and the shared rules, and reveals no record.
    return suggest(db_session(), compose_text(args["text"].strip()), args["limit"]).as_dict()


@blp.route("/rules")
class Rules(MethodView):
    @blp.arguments(RuleQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, RuleSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[ClassifyRule]:
        """关键词规则 / The keyword rules"""
        return list_rules(db_session(), args.get("dimension"), args.get("code"))

    @blp.arguments(RuleWriteSchema)
    @blp.response(201, RuleSchema)
    @login_required
    def post(self, data: dict[str, Any]) -> ClassifyRule:
        """新增关键词规则（部级管理员）/ Add a keyword rule (ministry officers)"""
        ensure_rule_editor(current_actor())
        session = db_session()
        rule = add_rule(session, data, current_actor().name)
        session.commit()
        return rule


@blp.route("/rules/<rule_id>")
class RuleItem(MethodView):
    @blp.arguments(RuleEditSchema)
    @blp.response(200, RuleSchema)
    @login_required
    def patch(self, data: dict[str, Any], rule_id: str) -> ClassifyRule:
        """修改关键词规则（部级管理员）/ Change a keyword rule (ministry officers)"""
        ensure_rule_editor(current_actor())
        session = db_session()
        rule = update_rule(session, get_rule(session, rule_id), data, current_actor().name)
        session.commit()
        return rule

    @blp.response(204)
    @login_required
    def delete(self, rule_id: str) -> None:
        """删除关键词规则（部级管理员）/ Delete a keyword rule (ministry officers)"""
        ensure_rule_editor(current_actor())
        session = db_session()
        delete_rule(session, get_rule(session, rule_id))
        session.commit()


def classification_dict(c: Classification) -> dict[str, Any]:
    return {"result_id": c.result.id, "state": c.result.state, "version": c.result.version,
            "may_decide": c.may_decide, "current": c.current(), "proposed": c.proposed(),
            "suggestions": c.suggestions.as_dict(), "decisions": c.decisions}


@result_blp.route("/<result_id>/classification")
class ResultClassification(MethodView):
    @result_blp.response(200, ClassificationSchema)
    def get(self, result_id: str) -> dict[str, Any]:
        """成果的分类建议与审核记录 / A result's codes, the suggestions for it, and the decisions so far"""
        session, actor = db_session(), current_actor()
        result = ensure_readable(actor, get_result(session, result_id))
        return classification_dict(classification(session, actor, result))

    @result_blp.arguments(DecisionWriteSchema)
    @result_blp.response(200, ClassificationSchema)
    @login_required
    def post(self, data: dict[str, Any], result_id: str) -> dict[str, Any]:
        """接受或修改分类建议（审核专家、管理员）/ Accept or change the suggested codes (reviewers, officers)"""
        session, actor = db_session(), current_actor()
        result = ensure_result_writable(actor, get_result(session, result_id), "classify")
        version = data.pop("version", None)
        decide(session, result, data, actor.name, actor.user_id, version)
        session.commit()
        return classification_dict(classification(session, actor, result))
