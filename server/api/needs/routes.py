from __future__ import annotations

import math
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from catalog.access import ensure_readable
from catalog.matching import rank_results, rank_sites
from catalog.need_store import (
    M2_PER_MU,
    NeedFilter,
    allowed_steps,
    create_need,
    list_needs,
    move_need,
    read_need,
    site_of,
    update_need,
)
from catalog.needs import Need
from catalog.result_store import get_result
from catalog.sites import Site
from server.api.needs.schemas import (
    LimitArgs,
    NeedEditSchema,
    NeedMatchesSchema,
    NeedPageSchema,
    NeedQuery,
    NeedSchema,
    NeedTransitionSchema,
    NeedWriteSchema,
    ResultSitesSchema,
)
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("needs", __name__, url_prefix="/api", description="需求与匹配 / Needs of parks and counties, matching")


def site_brief(site: Site) -> dict[str, Any]:
    return {c: getattr(site, c) for c in ("id", "name", "kind", "province_code", "place_code")}


def need_dict(need: Need, site: Site | None = None) -> dict[str, Any]:
    site = site or site_of(db_session(), need)
    return {
        **{c: getattr(need, c) for c in (
            "id", "site_id", "province_code", "title", "problem", "crops", "industry_types", "scenarios",
            "land_scenarios", "season", "area_m2", "scale_text", "contact", "state", "matched_result_id",
            "state_comment", "version", "created_at", "updated_at", "created_by", "updated_by")},
        "area_mu": round(need.area_m2 / M2_PER_MU, 2) if need.area_m2 is not None else None,
        "site": site_brief(site), "allowed_actions": allowed_steps(need.state),
    }


@blp.route("/needs")
class Needs(MethodView):
    @blp.arguments(NeedQuery, location="query")
    @blp.response(200, NeedPageSchema)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """需求列表（本人可见的）/ The needs one may read, newest first"""
        filters = NeedFilter(args.get("site"), args.get("state"), args.get("province"))
        items, total = list_needs(db_session(), current_actor(), filters, args["page"], args["per_page"])
        return {"items": [need_dict(n) for n in items], "total": total, "page": args["page"],
                "per_page": args["per_page"], "pages": max(1, math.ceil(total / args["per_page"]))}

    @blp.arguments(NeedWriteSchema)
    @blp.response(201, NeedSchema)
    @login_required
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """发布需求（园区管理者、县级管理员）/ Post a need for one's park or county"""
        session = db_session()
        need = create_need(session, current_actor(), data)
        session.commit()
        return need_dict(need)


@blp.route("/needs/<need_id>")
class NeedItem(MethodView):
    @blp.response(200, NeedSchema)
    @login_required
    def get(self, need_id: str) -> dict[str, Any]:
        """一条需求 / One need"""
        return need_dict(read_need(db_session(), current_actor(), need_id))

    @blp.arguments(NeedEditSchema)
    @blp.response(200, NeedSchema)
    @login_required
    def patch(self, data: dict[str, Any], need_id: str) -> dict[str, Any]:
        """修改需求 / Edit an open or matched need"""
        session = db_session()
        version = data.pop("version", None)
        need = update_need(session, current_actor(), need_id, data, version)
        session.commit()
        return need_dict(need)


@blp.route("/needs/<need_id>/transitions", methods=["POST"])
@blp.arguments(NeedTransitionSchema)
@blp.response(200, NeedSchema)
@login_required
def need_transition(data: dict[str, Any], need_id: str) -> dict[str, Any]:
    """变更需求状态（match 已对接、close 关闭、reopen 重新打开）/ Move a need: match, close, reopen"""
    session = db_session()
    need = move_need(session, current_actor(), need_id, data["action"], result_id=data.get("result_id"),
                     comment=data.get("comment"), expected_version=data.get("version"))
    session.commit()
    return need_dict(need)


@blp.route("/needs/<need_id>/matches")
@blp.arguments(LimitArgs, location="query")
@blp.response(200, NeedMatchesSchema)
@login_required
def need_matches(args: dict[str, Any], need_id: str) -> dict[str, Any]:
    """为需求匹配已发布成果（附匹配理由）/ Published results ranked for a need, with the reasons"""
    session = db_session()
    need = read_need(session, current_actor(), need_id)
    matches = rank_results(session, need, args["limit"], site_of(session, need))
    return {"need_id": need.id, "items": [
        {"result_id": m.result_id, "name": m.name, "score": m.score, "reasons": [r.as_dict() for r in m.reasons]}
        for m in matches]}


@blp.route("/results/<result_id>/sites")
@blp.arguments(LimitArgs, location="query")
@blp.response(200, ResultSitesSchema)
@login_required
def result_sites(args: dict[str, Any], result_id: str) -> dict[str, Any]:
    """需要该成果的园区与县（按待对接需求排序）/ Sites whose open needs a published result fits"""
    session = db_session()
    actor = current_actor()
    result = ensure_readable(actor, get_result(session, result_id))
    matches = rank_sites(session, actor, result.id, args["limit"])
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_([m.site_id for m in matches])))}
    return {"result_id": result.id, "items": [
        {"site": site_brief(sites[m.site_id]), "need_id": m.need_id, "need_title": m.need_title,
         "score": m.score, "reasons": [r.as_dict() for r in m.reasons], "other_needs": m.other_needs}
        for m in matches]}
