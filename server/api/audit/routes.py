from __future__ import annotations

import math
from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import RAISE

from catalog.audit import AuditFilter, export_audit_csv, read_audit
from catalog.result_io import content_disposition
from server.api.audit.schemas import AuditFilterSchema, AuditPageSchema, AuditQuery
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="操作日志 / Audit log")


def _filter(args: dict[str, Any]) -> AuditFilter:
    return AuditFilter(**{k: args.get(k) for k in ("entity", "entity_id", "actor", "since", "until")})


@blp.route("")
@blp.arguments(AuditQuery, location="query", unknown=RAISE)
@blp.response(200, AuditPageSchema)
@login_required
def list_audit(args: dict[str, Any]) -> dict[str, Any]:
    """本辖区的操作日志（管理员）/ The audit log of your scope (officers)"""
    items, total = read_audit(db_session(), current_actor(), _filter(args), args["page"], args["per_page"])
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"],
            "pages": max(1, math.ceil(total / args["per_page"]))}


@blp.route("/export.csv")
@blp.arguments(AuditFilterSchema, location="query", unknown=RAISE)
@blp.response(200, content_type="text/csv")
@login_required
def export_audit(args: dict[str, Any]) -> Response:
    """导出操作日志（CSV，北京时间）/ Export the audit log (CSV, Beijing time)"""
    body = export_audit_csv(db_session(), current_actor(), _filter(args), current_app.config["EXPORT_MAX_ROWS"])
    return Response(body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition("操作日志.csv", "audit-log.csv")})
