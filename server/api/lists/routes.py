"""Periodic result lists: the national list and the provinces' local lists, their numbered issues."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from catalog import list_rules as lr
from catalog.lists import ListIssue, ResultList
from catalog.result_export import csv_export, write_xlsx
from catalog.result_io import content_disposition
from catalog.results import Result
from server.api.lists.schemas import (
    EntriesAddSchema,
    IssueCreateSchema,
    IssueDiffSchema,
    IssueEditSchema,
    IssueSchema,
    PeriodicListIssuesSchema,
    PeriodicListSchema,
)
from server.api.results.transfer import CSV_TYPE, XLSX_TYPE, _send_file
from server.auth import current_actor, login_required
from server.db import db_session

blp = Blueprint("lists", __name__, url_prefix="/api", description="成果清单 / Periodic result lists")


def brief(issue: ListIssue, entries_count: int | None = None) -> dict[str, Any]:
    return {**{k: getattr(issue, k) for k in ("id", "list_id", "state", "year", "number", "title_zh", "title_en",
                                               "note", "created_at", "created_by", "published_at", "published_by")},
            "entries_count": len(issue.entries) if entries_count is None else entries_count}


def list_dicts(session: Any, rows: list[ResultList], *, with_issues: bool) -> list[dict[str, Any]]:
    """The lists with their latest issues (and all their issues), in a fixed number of queries."""
    actor = current_actor()
    latest = lr.latest_published_of(session, [lst.id for lst in rows])
    issues = {lst.id: lr.issues_of(session, actor, lst) for lst in rows} if with_issues else {}
    counts = lr.entry_counts(session, [*latest.values(), *(i for row in issues.values() for i in row)])
    out = []
    for lst in rows:
        one = latest.get(lst.id)
        item: dict[str, Any] = {
            "id": lst.id, "kind": lst.kind, "province_code": lst.province_code, "name_zh": lst.name_zh,
            "name_en": lst.name_en, "can_compose": lr.can_compose(actor, lst),
            "latest": brief(one, counts[one.id]) if one else None}
        if with_issues:
            item["issues"] = [brief(i, counts[i.id]) for i in issues[lst.id]]
        out.append(item)
    return out


def entries_of(session: Any, issue: ListIssue, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Entries as published (their snapshot), a draft's as its results are now."""
    wanted = [e for e in issue.entries if ids is None or e.result_id in ids]
    current = {} if issue.state == "published" else {
        r.id: lr.snapshot(r) for r in session.scalars(select(Result).where(
            Result.id.in_([e.result_id for e in wanted])))}
    out = []
    for e in wanted:
        snap = e.snapshot if issue.state == "published" else current.get(e.result_id, {})
        snap = snap or {}
        out.append({"result_id": e.result_id, "position": e.position, "name": snap.get("name", ""),
                    "institutions": snap.get("institutions") or [], "trl": snap.get("trl"),
                    "form": snap.get("form"), "codes": snap.get("codes") or {}, "regions": snap.get("regions") or [],
                    "snapshot": e.snapshot})
    return out


def issue_dict(session: Any, issue: ListIssue) -> dict[str, Any]:
    lst = issue.result_list
    return {**brief(issue), "list": {"id": lst.id, "kind": lst.kind, "province_code": lst.province_code,
                                     "name_zh": lst.name_zh, "name_en": lst.name_en},
            "entries": entries_of(session, issue), "can_compose": lr.can_compose(current_actor(), lst)}


def readable_issue(issue_id: str) -> ListIssue:
    return lr.ensure_issue_readable(current_actor(), lr.get_issue(db_session(), issue_id))


@blp.route("/lists")
@blp.response(200, PeriodicListSchema(many=True))
def lists() -> list[dict[str, Any]]:
    """国家清单与各省地方清单，及其最新一期 / The national and local lists, each with its latest issue"""
    session = db_session()
    rows = list(session.scalars(select(ResultList).order_by(ResultList.kind.desc(), ResultList.id)))
    if not rows:
        lr.get_list(session, "national")  # a database made before lists existed: create them
        session.commit()
        rows = list(session.scalars(select(ResultList).order_by(ResultList.kind.desc(), ResultList.id)))
    return list_dicts(session, rows, with_issues=False)


@blp.route("/lists/<list_id>")
@blp.response(200, PeriodicListIssuesSchema)
def one_list(list_id: str) -> dict[str, Any]:
    """一个清单及其各期（草稿仅编制人可见）/ One list and its issues (drafts for their composers)"""
    session = db_session()
    return list_dicts(session, [lr.get_list(session, list_id)], with_issues=True)[0]


@blp.route("/lists/<list_id>/issues", methods=["POST"])
@blp.arguments(IssueCreateSchema)
@blp.response(201, IssueSchema)
@login_required
def new_issue(data: dict[str, Any], list_id: str) -> dict[str, Any]:
    """编制新一期（草稿）/ Start a new issue (a draft), optionally with results"""
    session = db_session()
    issue = lr.new_issue(session, current_actor(), lr.get_list(session, list_id), data.get("note"),
                         data["result_ids"], carry_over=data["carry_over"])
    session.commit()
    return issue_dict(session, issue)


@blp.route("/list-issues/<issue_id>")
class IssueItem(MethodView):
    @blp.response(200, IssueSchema)
    def get(self, issue_id: str) -> dict[str, Any]:
        """一期清单 / One issue with its entries"""
        return issue_dict(db_session(), readable_issue(issue_id))

    @blp.arguments(IssueEditSchema)
    @blp.response(200, IssueSchema)
    @login_required
    def patch(self, data: dict[str, Any], issue_id: str) -> dict[str, Any]:
        """修改草稿说明 / Change a draft's note"""
        session = db_session()
        issue = lr.set_note(session, current_actor(), lr.get_issue(session, issue_id), data["note"])
        session.commit()
        return issue_dict(session, issue)

    @blp.response(204)
    @login_required
    def delete(self, issue_id: str) -> None:
        """删除草稿 / Discard a draft"""
        session = db_session()
        lr.discard(session, current_actor(), lr.get_issue(session, issue_id))
        session.commit()


@blp.route("/list-issues/<issue_id>/entries", methods=["POST"])
@blp.arguments(EntriesAddSchema)
@blp.response(200, IssueSchema)
@login_required
def add_entries(data: dict[str, Any], issue_id: str) -> dict[str, Any]:
    """把审核通过的成果加入草稿（有一项不符则都不加入）/ Add reviewed results to a draft (all or none)"""
    session = db_session()
    issue = lr.get_issue(session, issue_id)
    lr.add_entries(session, current_actor(), issue, data["result_ids"])
    session.commit()
    return issue_dict(session, issue)


@blp.route("/list-issues/<issue_id>/entries/<result_id>", methods=["DELETE"])
@blp.response(200, IssueSchema)
@login_required
def remove_entry(issue_id: str, result_id: str) -> dict[str, Any]:
    """从草稿中移出一项成果 / Take a result off a draft"""
    session = db_session()
    issue = lr.get_issue(session, issue_id)
    lr.remove_entry(session, current_actor(), issue, result_id)
    session.commit()
    return issue_dict(session, issue)


@blp.route("/list-issues/<issue_id>/publish", methods=["POST"])
@blp.response(200, IssueSchema)
@login_required
def publish(issue_id: str) -> dict[str, Any]:
    """发布：编号为本年第 N 期，此后不可修改；其中成果成为“已发布” / Publish: numbered, frozen, results published"""
    session = db_session()
    issue = lr.publish(session, current_actor(), lr.get_issue(session, issue_id))
    session.commit()
    return issue_dict(session, issue)


@blp.route("/list-issues/<issue_id>/diff")
@blp.response(200, IssueDiffSchema)
def issue_diff(issue_id: str) -> dict[str, Any]:
    """与上一期相比：新增、移出、有变化的成果 / Changes since the previous published issue"""
    session = db_session()
    issue = readable_issue(issue_id)
    d = lr.diff(session, issue)
    added = entries_of(session, issue, d.added)
    removed = entries_of(session, d.previous, d.removed) if d.previous is not None else []
    names = {e["result_id"]: e["name"] for e in entries_of(session, issue, list(d.changed))}
    return {"previous": brief(d.previous) if d.previous else None, "added": added, "removed": removed,
            "changed": [{"result_id": rid, "name": names.get(rid, ""), "fields": f} for rid, f in d.changed.items()],
            "kept": d.kept}


def export_name(issue: ListIssue, ext: str) -> tuple[str, str]:
    return (f"{issue.result_list.name_zh}_{issue.title_zh}.{ext}",
            f"{issue.list_id}_{issue.year or 'draft'}-{issue.number or 0}.{ext}")


@blp.route("/list-issues/<issue_id>/export.xlsx")
@blp.response(200, description="Excel 工作簿", content_type=XLSX_TYPE)
def export_xlsx(issue_id: str) -> Response:
    """导出本期清单（Excel）/ Export the issue to XLSX"""
    issue = readable_issue(issue_id)
    out = tempfile.TemporaryFile()
    write_xlsx(db_session(), [e.result_id for e in issue.entries], out, current_actor())
    return _send_file(out, XLSX_TYPE, *export_name(issue, "xlsx"))


@blp.route("/list-issues/<issue_id>/export.csv")
@blp.response(200, description="CSV（UTF-8 带 BOM）", content_type=CSV_TYPE)
def export_csv(issue_id: str) -> Response:
    """导出本期清单（CSV，Excel 可直接打开）/ Export the issue to CSV"""
    issue = readable_issue(issue_id)
    ids, actor, name = [e.result_id for e in issue.entries], current_actor(), export_name(issue, "csv")
    session = current_app.extensions["yx_sessionmaker"]()  # the stream outlives the request's session

    def body() -> Iterator[bytes]:
        try:
            yield from csv_export(session, ids, actor)
        finally:
            session.close()

    return Response(body(), content_type=CSV_TYPE, headers={"Content-Disposition": content_disposition(*name)})
