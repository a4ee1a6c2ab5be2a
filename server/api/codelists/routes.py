from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from catalog.codelists import Code, CodeList
from catalog.errors import NotFound
from server.api.codelists.schemas import CodeListQuery, CodeListSchema
from server.db import db_session

blp = Blueprint("codelists", __name__, url_prefix="/api/codelists", description="代码表 / Code lists")


def _with_codes(cl: CodeList, include_retired: bool) -> dict[str, Any]:
    q = select(Code).where(Code.list_id == cl.id).order_by(Code.sort)
    if not include_retired:
        q = q.where(Code.retired_in.is_(None))
    return {"id": cl.id, "name_zh": cl.name_zh, "name_en": cl.name_en, "version": cl.version,
            "codes": list(db_session().scalars(q))}


@blp.route("")
@blp.arguments(CodeListQuery, location="query")
@blp.response(200, CodeListSchema(many=True))
def list_code_lists(args: dict[str, Any]) -> list[dict[str, Any]]:
    """所有代码表 / All code lists with their codes"""
    lists = db_session().scalars(select(CodeList).order_by(CodeList.id))
    return [_with_codes(cl, args["include_retired"]) for cl in lists]


@blp.route("/<list_id>")
@blp.arguments(CodeListQuery, location="query")
@blp.response(200, CodeListSchema)
def get_code_list(args: dict[str, Any], list_id: str) -> dict[str, Any]:
    """一个代码表 / One code list"""
    cl = db_session().get(CodeList, list_id)
    if cl is None:
        raise NotFound(en=f"No code list '{list_id}'", zh=f"代码表“{list_id}”不存在")
    return _with_codes(cl, args["include_retired"])
