from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from catalog.divisions import Division
from catalog.sites import SiteList, get_site, get_site_list, list_counts, site_divisions, site_query
from server.api.divisions.routes import page_of
from server.api.sites.schemas import SiteDetailSchema, SiteListSchema, SitePageSchema, SiteQuery
from server.db import db_session

blp = Blueprint("sites", __name__, url_prefix="/api", description="园区与县 / Parks and counties the action serves")


def _list_dict(sl: SiteList, counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    known, active = counts.get(sl.id, (0, 0))
    return {**{c: getattr(sl, c) for c in ("id", "kind", "name_zh", "name_en", "expected_count", "complete",
                                           "source")},
            "known_count": known, "active_count": active}


@blp.route("/sites")
@blp.arguments(SiteQuery, location="query")
@blp.response(200, SitePageSchema)
def list_sites(args: dict[str, Any]) -> dict[str, Any]:
    """园区与县 / Sites by kind, province, active flag and list"""
    return page_of(site_query(args.get("kind"), args.get("province"), args.get("active"), args.get("list")), args)


def _ref(code: str | None) -> dict[str, str] | None:
    d = db_session().get(Division, code) if code else None
    return {"code": d.code, "name": d.name, "level": d.level} if d else None


@blp.route("/sites/<site_id>")
@blp.response(200, SiteDetailSchema)
def get_site_detail(site_id: str) -> dict[str, Any]:
    """一个园区或县，含所覆盖的行政区划 / One site with the divisions it covers"""
    s = db_session()
    site = get_site(s, site_id)
    return {
        **{c: getattr(site, c) for c in SiteDetailSchema().fields if hasattr(type(site), c)},
        "province": _ref(site.province_code),
        "place": _ref(site.place_code),
        "divisions": [_ref(c) for c in site_divisions(s, site_id)],
        "list": _list_dict(get_site_list(s, site.list_id), list_counts(s)),
    }


@blp.route("/site-lists")
@blp.response(200, SiteListSchema(many=True))
def list_site_lists() -> list[dict[str, Any]]:
    """名单及完整度 / The site lists, how many sites each holds and whether it is complete"""
    s = db_session()
    counts = list_counts(s)
    return [_list_dict(sl, counts) for sl in s.scalars(select(SiteList).order_by(SiteList.id))]


@blp.route("/site-lists/<list_id>")
@blp.response(200, SiteListSchema)
def get_site_list_detail(list_id: str) -> dict[str, Any]:
    """一个名单 / One site list"""
    s = db_session()
    return _list_dict(get_site_list(s, list_id), list_counts(s))
