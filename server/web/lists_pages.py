"""List pages: the national and local lists, a list's issues, one issue (entries, the change since the
previous issue, exports, and for its composers the draft's editing and publication), and its printable view.

Rules and writes come from ``catalog.list_rules``, the same as the API; forms post with the session's CSRF token
and work without JavaScript; a refused form answers the API's status for the same error and says why.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from catalog import list_rules as lr
from catalog.access import can_read
from catalog.errors import CatalogError
from catalog.lists import ListIssue, ResultList
from catalog.results import Result
from server.auth import current_actor
from server.db import db_session
from server.i18n import current_lang, t
from server.web.account_pages import error_text, status_of
from server.web.labels import Labels

Page = str | tuple[str, int] | WerkzeugResponse
CANDIDATES = 50


def lists_page() -> str:
    """成果清单 / The national list and every province's local list, each with its latest issue."""
    session = db_session()
    rows = list(session.scalars(select(ResultList).order_by(ResultList.kind.desc(), ResultList.id)))
    if not rows:
        lr.get_list(session, "national")
        session.commit()
        rows = list(session.scalars(select(ResultList).order_by(ResultList.kind.desc(), ResultList.id)))
    actor = current_actor()
    latest = lr.latest_published_of(session, [lst.id for lst in rows])
    mine = [lst for lst in rows if lr.can_compose(actor, lst)]
    return render_template("lists.html", national=[r for r in rows if r.kind == "national"],
                           local=[r for r in rows if r.kind == "local"], latest=latest, mine=mine,
                           counts=lr.entry_counts(session, latest.values()))


def list_page(list_id: str) -> str:
    """一个清单的各期 / One list's issues (drafts for the officers who compose it)."""
    session = db_session()
    lst = lr.get_list(session, list_id)
    actor = current_actor()
    issues = lr.issues_of(session, actor, lst)
    return render_template("list.html", lst=lst, issues=issues, counts=lr.entry_counts(session, issues),
                           can_compose=lr.can_compose(actor, lst))


def list_new_issue(list_id: str) -> Page:
    if not current_actor().authenticated:
        return redirect(url_for("web.login", next=url_for("web.list_page", list_id=list_id)))
    session = db_session()
    lst = lr.get_list(session, list_id)
    try:
        issue = lr.new_issue(session, current_actor(), lst, request.form.get("note"),
                             carry_over=request.form.get("carry_over") == "1")
        session.commit()
    except CatalogError as exc:
        session.rollback()
        issues = lr.issues_of(session, current_actor(), lst)
        return render_template("list.html", lst=lst, issues=issues, counts=lr.entry_counts(session, issues),
                               can_compose=lr.can_compose(current_actor(), lst), errors=error_text(exc)), \
            status_of(exc)
    flash(t("lists.draft_made"))
    return redirect(url_for("web.list_issue", issue_id=issue.id))


def _entries(session: Any, issue: ListIssue) -> list[dict[str, Any]]:
    """Each entry as published (its snapshot); a draft's as its result is now."""
    if issue.state == "published":
        return [{"result_id": e.result_id, **(e.snapshot or {})} for e in issue.entries]
    results = {r.id: r for r in session.scalars(select(Result).where(
        Result.id.in_([e.result_id for e in issue.entries])))}
    return [{"result_id": e.result_id, **lr.snapshot(results[e.result_id])} for e in issue.entries
            if e.result_id in results]


def _candidates(session: Any, issue: ListIssue, q: str) -> list[Result]:
    """Results the draft may take (reviewed, or published on an earlier issue), not on it yet, newest first;
    ``q`` narrows by name."""
    lst = issue.result_list
    query = select(Result).where(Result.state.in_(lr.ELIGIBLE_STATES), Result.source == lst.kind)
    if lst.kind == "local":
        query = query.where(Result.source_province == lst.province_code)
    have = [e.result_id for e in issue.entries]
    if have:
        query = query.where(Result.id.not_in(have))
    if q:
        query = query.where(Result.name.contains(q, autoescape=True))
    actor = current_actor()
    return [r for r in session.scalars(query.order_by(Result.updated_at.desc()).limit(CANDIDATES))
            if can_read(actor, r)]


def _issue_context(session: Any, issue: ListIssue) -> dict[str, Any]:
    actor = current_actor()
    composer = issue.state == "draft" and lr.can_compose(actor, issue.result_list)
    entries = _entries(session, issue)
    d = lr.diff(session, issue)
    names = {e["result_id"]: e.get("name", "") for e in entries}
    if d.previous is not None:
        names |= {e.result_id: (e.snapshot or {}).get("name", "") for e in d.previous.entries}
    q = (request.args.get("q") or "").strip()[:64]
    codes = [c for e in entries for c in e.get("regions") or []]
    return {"issue": issue, "lst": issue.result_list, "entries": entries, "diff": d, "names": names,
            "composer": composer, "q": q, "candidates": _candidates(session, issue, q) if composer else [],
            "labels": Labels.load(session, codes)}


def issue_page(issue_id: str) -> Page:
    """一期清单 / One issue: its results, what changed since the previous issue, exports; a draft's editing."""
    session = db_session()
    issue = lr.ensure_issue_readable(current_actor(), lr.get_issue(session, issue_id))
    return render_template("list_issue.html", **_issue_context(session, issue))


def issue_print(issue_id: str) -> str:
    """打印版 / The issue as a printable page."""
    session = db_session()
    issue = lr.ensure_issue_readable(current_actor(), lr.get_issue(session, issue_id))
    entries = _entries(session, issue)
    return render_template("list_issue_print.html", issue=issue, lst=issue.result_list, entries=entries,
                           labels=Labels.load(session, [c for e in entries for c in e.get("regions") or []]))


def issue_action(issue_id: str) -> Page:
    """The draft's forms: add the ticked results, take one off, change the note, publish, discard."""
    actor = current_actor()
    if not actor.authenticated:
        return redirect(url_for("web.login", next=url_for("web.list_issue", issue_id=issue_id)))
    session = db_session()
    issue = lr.ensure_issue_readable(actor, lr.get_issue(session, issue_id))
    action = request.form.get("action", "")
    try:
        if action == "add":
            lr.add_entries(session, actor, issue, request.form.getlist("result_id"))
            message = t("lists.added")
        elif action == "remove":
            lr.remove_entry(session, actor, issue, request.form.get("result_id", ""))
            message = t("lists.removed")
        elif action == "note":
            lr.set_note(session, actor, issue, request.form.get("note"))
            message = t("lists.saved")
        elif action == "publish":
            lr.publish(session, actor, issue)
            message = t("lists.published", title=issue.title_en if current_lang() == "en" else issue.title_zh)
        elif action == "discard":
            list_id = issue.list_id
            lr.discard(session, actor, issue)
            session.commit()
            flash(t("lists.discarded"))
            return redirect(url_for("web.list_page", list_id=list_id))
        else:
            return render_template("list_issue.html", **_issue_context(session, issue),
                                   errors=[t("lists.unknown_action")]), 400
        session.commit()
    except CatalogError as exc:
        session.rollback()
        issue = lr.get_issue(session, issue_id)
        return render_template("list_issue.html", **_issue_context(session, issue), errors=error_text(exc)), \
            status_of(exc)
    flash(message)
    return redirect(url_for("web.list_issue", issue_id=issue.id))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/lists", "lists", lists_page)
    bp.add_url_rule("/lists/<list_id>", "list_page", list_page)
    bp.add_url_rule("/lists/<list_id>/issues", "list_new_issue", list_new_issue, methods=["POST"])
    bp.add_url_rule("/list-issues/<issue_id>", "list_issue", issue_page)
    bp.add_url_rule("/list-issues/<issue_id>", "list_issue_action", issue_action, methods=["POST"])
    bp.add_url_rule("/list-issues/<issue_id>/print", "list_issue_print", issue_print)
