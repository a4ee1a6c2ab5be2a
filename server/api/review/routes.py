"""Approval of yield measurements (catalog.review): the queue of an officer's scope, one measurement, approve,
reject. Errors as everywhere: 404 ``not_found`` (unreadable), 403 ``forbidden`` (readable, not this officer's level
or scope), 409 ``locked`` / ``review_order`` / ``not_pending`` / ``conflict``, 422 ``comment_required``."""

from __future__ import annotations

import math
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from catalog import review
from catalog.field import DemoPlot, YieldMeasurement
from gis.area import M2_PER_MU
from server.api.review.schemas import (
    ReviewDecisionSchema,
    YieldReviewPageSchema,
    YieldReviewQuery,
    YieldReviewSchema,
)
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("review", __name__, url_prefix="/api",
                description="测产审核 / Approval of yield measurements (county → city → province → ministry)")

COLUMNS = ("id", "plot_id", "county_code", "level", "method", "measured_on", "crop", "panel", "samples",
           "standard_moisture", "yield_kg_per_mu", "baseline_kg_per_mu", "baseline_type", "gain_pct", "notes",
           "verifies_id", "review_state", "reviewed_by", "reviewed_at", "review_comment", "version", "created_by",
           "created_at", "updated_at")


def measurement_dict(m: YieldMeasurement, plot: DemoPlot | None = None,
                     facts: review.ChainFacts | None = None) -> dict[str, Any]:
    session = db_session()
    actor = current_actor()
    plot = plot or session.get(DemoPlot, m.plot_id)
    facts = facts or review.chain_facts(session, [m])[m.id]
    waiting = [w.id for w in facts.blocking]
    ready = facts.order_ok
    out = {c: getattr(m, c) for c in COLUMNS}
    out |= {"locked": review.is_locked(m), "waiting_for": waiting or ([m.verifies_id] if not ready and m.verifies_id
                                                                      else []),
            "can_decide": m.review_state == "pending" and ready and review.can_decide(actor, m),
            "verified_by": [v.id for v in facts.verified_by]}
    if plot is not None:
        out["plot"] = {"id": plot.id, "name": plot.name, "county_code": plot.county_code, "season": plot.season,
                       "crop": plot.crop, "variety": plot.variety,
                       "area_mu": round(plot.area_m2 / M2_PER_MU, 2) if plot.area_m2 else None}
    return out


@blp.route("/yields/review-queue")
class Queue(MethodView):
    @blp.arguments(YieldReviewQuery, location="query")
    @blp.response(200, YieldReviewPageSchema)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """审核队列：本人所在级别、范围内待审核且下一级已通过的测产 / The measurements one decides"""
        filters = review.QueueFilter(args.get("level"), args.get("county"), args.get("season"), args["state"])
        session = db_session()
        rows, total = review.review_queue(session, current_actor(), filters, args["page"], args["per_page"])
        facts = review.chain_facts(session, [m for m, _ in rows])
        return {"items": [measurement_dict(m, p, facts[m.id]) for m, p in rows], "total": total, "page": args["page"],
                "per_page": args["per_page"], "pages": max(1, math.ceil(total / args["per_page"]))}


@blp.route("/yields/<yield_id>")
class Measurement(MethodView):
    @blp.response(200, YieldReviewSchema)
    @login_required
    def get(self, yield_id: str) -> dict[str, Any]:
        """一条测产及其审核状态 / One yield measurement and its review"""
        return measurement_dict(review.get_measurement(db_session(), current_actor(), yield_id))


def _decide(decision: str, data: dict[str, Any], yield_id: str) -> dict[str, Any]:
    session = db_session()
    m = review.decide(session, current_actor(), yield_id, decision, data.get("comment"), data.get("version"))
    session.commit()
    return measurement_dict(m)


@blp.route("/yields/<yield_id>/approve", methods=["POST"])
@blp.arguments(ReviewDecisionSchema)
@blp.response(200, YieldReviewSchema)
@login_required
def approve(data: dict[str, Any], yield_id: str) -> dict[str, Any]:
    """审核通过（随即锁定）/ Approve a pending measurement (it is then locked)"""
    return _decide("approve", data, yield_id)


@blp.route("/yields/<yield_id>/reject", methods=["POST"])
@blp.arguments(ReviewDecisionSchema)
@blp.response(200, YieldReviewSchema)
@login_required
def reject(data: dict[str, Any], yield_id: str) -> dict[str, Any]:
    """退回（须填意见，退回推广员外业工具）/ Reject with a comment; it goes back to the agent's field kit"""
    return _decide("reject", data, yield_id)
