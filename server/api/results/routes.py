from __future__ import annotations

import math
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select

from catalog.access import ensure_can_create, ensure_readable, ensure_result_writable
from catalog.lifecycle import allowed_actions, transition
from catalog.privacy import contact_phone
from catalog.result_store import create_result, get_result, update_result
from catalog.results import Result, ResultEvent
from catalog.search import SearchQuery, facet_counts, search
from server.api.results.schemas import (
    FACET_PARAMS,
    FacetCountsSchema,
    ResultEditSchema,
    ResultEventSchema,
    ResultListSchema,
    ResultSchema,
    ResultWriteSchema,
    SearchArgsSchema,
    TransitionSchema,
)
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("results", __name__, url_prefix="/api/results", description="科技成果 / Research results")


def result_dict(r: Result) -> dict[str, Any]:
    """A result as the API shows it: codes as lists per field, the primary technology field first."""
    return {
        **{c: getattr(r, c) for c in (
            "id", "name", "summary", "keywords", "special_project", "project_no", "subject_no",
            "institutions", "people", "trl", "trl_scale", "stage", "form", "ip", "registration_no",
            "key_figures", "transfer_terms", "contact_name", "contact_phone", "contact_email", "source",
            "source_province", "list_batch", "state", "version", "review_comment", "created_at",
            "updated_at", "created_by", "updated_by")},
        "tech_fields": r.codes_of("tech_field"),
        "industry_types": r.codes_of("industry_type"),
        "scenarios": r.codes_of("scenario"),
        "crops": r.codes_of("crop"),
        "land_scenarios": r.codes_of("land_scenario"),
        "transfer_modes": r.codes_of("transfer_mode"),
        "suitable_regions": r.region_codes,
        "allowed_actions": allowed_actions(r.state),
        "contact_phone": contact_phone(current_actor(), r),  # masked unless the actor may see it in full
    }


def search_query(args: dict[str, Any]) -> SearchQuery:
    """The domain query from parsed arguments."""
    filters = {k: [str(v) for v in args[k]] for k in FACET_PARAMS if args.get(k)}
    return SearchQuery(q=args["q"], filters=filters, sort=args["sort"], page=args["page"],
                       per_page=args["per_page"], actor=current_actor())


@blp.route("")
class Results(MethodView):
    @blp.arguments(SearchArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, ResultListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """检索成果（全文、分面筛选、排序、分页）/ Search results"""
        query = search_query(args)
        page = search(db_session(), query)
        out: dict[str, Any] = {"items": [result_dict(r) for r in page.items], "total": page.total,
                               "page": page.page, "per_page": page.per_page,
                               "pages": max(1, math.ceil(page.total / page.per_page))}
        if args["facets"]:
            out["facets"] = facet_counts(db_session(), query)
        return out

    @blp.arguments(ResultWriteSchema)
    @blp.response(201, ResultSchema)
    @login_required
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """新建成果（草稿）/ Create a result (draft)"""
        session = db_session()
        ensure_can_create(current_actor(), data)
        result = create_result(session, data, current_actor().name)
        session.commit()
        return result_dict(result)


@blp.route("/facets")
@blp.arguments(SearchArgsSchema, location="query", unknown=RAISE)
@blp.response(200, FacetCountsSchema)
def result_facets(args: dict[str, Any]) -> dict[str, Any]:
    """分面计数 / Facet counts for a query"""
    query = search_query(args)
    counts = facet_counts(db_session(), query)
    return {"facets": counts, "total": sum(counts["state"].values())}


@blp.route("/<result_id>")
class ResultItem(MethodView):
    @blp.response(200, ResultSchema)
    def get(self, result_id: str) -> dict[str, Any]:
        """一条成果 / One result"""
        return result_dict(ensure_readable(current_actor(), get_result(db_session(), result_id)))

    @blp.arguments(ResultEditSchema)
    @blp.response(200, ResultSchema)
    @login_required
    def patch(self, data: dict[str, Any], result_id: str) -> dict[str, Any]:
        """修改成果（草稿或已提交）/ Edit a draft or submitted result"""
        session = db_session()
        version = data.pop("version", None)
        result = ensure_result_writable(current_actor(), get_result(session, result_id), "edit")
        if "institutions" in data:
            ensure_can_create(current_actor(), data)  # a holder cannot hand its result to someone else
        result = update_result(session, result, data, current_actor().name, version)
        session.commit()
        return result_dict(result)


@blp.route("/<result_id>/transitions", methods=["POST"])
@blp.arguments(TransitionSchema)
@blp.response(200, ResultSchema)
@login_required
def result_transition(data: dict[str, Any], result_id: str) -> dict[str, Any]:
    """变更成果状态（提交、退回、审核通过、撤回）/ Move a result through its lifecycle"""
    session = db_session()
    result = ensure_result_writable(current_actor(), get_result(session, result_id), data["action"])
    result = transition(session, result, data["action"], current_actor().name, data.get("comment"))
    session.commit()
    return result_dict(result)


@blp.route("/<result_id>/history")
@blp.response(200, ResultEventSchema(many=True))
def result_history(result_id: str) -> list[ResultEvent]:
    """成果操作记录 / Who did what to a result, and when"""
    session = db_session()
    ensure_readable(current_actor(), get_result(session, result_id))
    return list(session.scalars(
        select(ResultEvent).where(ResultEvent.result_id == result_id).order_by(ResultEvent.at)))

