from __future__ import annotations

import json
import math
from typing import Any

import shapely
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select

from catalog.divisions import (
    Division,
    DivisionBoundary,
    DivisionChange,
    ancestors,
    children,
    get_division,
    successors,
)
from catalog.errors import NotFound
from catalog.sites import Site, SiteDivision
from server.api.divisions.schemas import DivisionDetailSchema, DivisionPageSchema, DivisionQuery, FeatureSchema
from server.db import db_session

blp = Blueprint("divisions", __name__, url_prefix="/api/divisions", description="行政区划 / Administrative divisions")


def page_of(query: Any, args: dict[str, Any]) -> dict[str, Any]:
    """One page of a select, in the envelope every list of the API uses."""
    s = db_session()
    total = s.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(s.scalars(query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])))
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"],
            "pages": max(1, math.ceil(total / args["per_page"]))}


@blp.route("")
@blp.arguments(DivisionQuery, location="query")
@blp.response(200, DivisionPageSchema)
def list_divisions(args: dict[str, Any]) -> dict[str, Any]:
    """行政区划列表 / Divisions by level, parent or name"""
    q = select(Division).order_by(Division.code)
    if not args["include_retired"]:
        q = q.where(Division.valid_to.is_(None))
    if "level" in args:
        q = q.where(Division.level == args["level"])
    if "parent" in args:
        parent = args["parent"]
        q = q.where(Division.level == "province") if parent == "000000" else q.where(Division.parent_code == parent)
    if "q" in args:
        q = q.where(or_(Division.name.contains(args["q"], autoescape=True),
                        Division.code.startswith(args["q"], autoescape=True)))
    return page_of(q, args)


def _ref(d: Division) -> dict[str, str]:
    return {"code": d.code, "name": d.name, "level": d.level}


@blp.route("/<code>")
@blp.response(200, DivisionDetailSchema)
def get_division_detail(code: str) -> dict[str, Any]:
    """一个行政区划：上级、下级数、继任代码、边界 / One division with ancestors, successors, boundary flag"""
    s = db_session()
    d = get_division(s, code)
    changes = s.scalars(
        select(DivisionChange).where(or_(DivisionChange.old_code == code, DivisionChange.new_code == code))
        .order_by(DivisionChange.year, DivisionChange.id)
    )
    sites = s.scalars(select(Site).join(SiteDivision).where(SiteDivision.division_code == code).order_by(Site.id))
    return {
        **{c: getattr(d, c) for c in DivisionDetailSchema().fields if hasattr(Division, c)},
        "children_count": len(children(s, code)),
        "ancestors": [_ref(a) for a in ancestors(s, code)],
        "successors": [_ref(get_division(s, c)) for c in successors(s, code) if c != code] if d.retired else [],
        "has_boundary": s.get(DivisionBoundary, code) is not None,
        "changes": list(changes),
        "sites": list(sites),
    }


@blp.route("/<code>/boundary")
@blp.response(200, FeatureSchema)
def get_boundary(code: str) -> dict[str, Any]:
    """边界（GeoJSON，WGS-84）/ The simplified boundary as a GeoJSON Feature (WGS-84 lon/lat)"""
    s = db_session()
    d = get_division(s, code)
    boundary = s.get(DivisionBoundary, code)
    if boundary is None:
        raise NotFound(en=f"Division '{code}' ({d.name}) has no boundary", zh=f"“{d.name}”（{code}）没有边界数据",
                       division_code=code)
    return {"type": "Feature", "id": code, "geometry": json.loads(shapely.to_geojson(boundary.geom)),
            "properties": {"code": code, "name": d.name, "level": d.level, "retired": d.retired}}
