"""Every /api route, every role, against the one written access matrix in docs/access.md.

The rows come from the app's URL map: a route without a row in the matrix fails. Each request gets fresh
records, so one role's write never changes what the next role meets.
"""

from __future__ import annotations

import io
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy.orm import Session

from catalog.access import operator
from catalog.accounts import create_user, get_user, issue_token
from catalog.audit import act_as
from catalog.lifecycle import transition
from catalog.result_store import create_result
from sync.wire import HEADER_PROTOCOL, HEADER_SCHEMA, PROTOCOL, SCHEMA
from tests.conftest import ROLE_SCOPES, _admin_execute

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"
ROLES = ["anonymous", *ROLE_SCOPES]


def read_matrix() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "endpoint":
            header = cells[1:]
            continue
        if header and re.match(r"(GET|POST|PATCH|PUT|DELETE) /", cells[0]):
            rows[cells[0]] = dict(zip(header, cells[1:], strict=True))
    assert header == ROLES, "the matrix columns must be the roles, in order"
    return rows


MATRIX = read_matrix()


def route_of(row: str) -> str:
    return row.split(" · ")[0]


PASSWORD = "correct horse battery"
KIT_HEADERS = {HEADER_PROTOCOL: str(PROTOCOL), HEADER_SCHEMA: str(SCHEMA)}  # what a field kit sends
BASE = {"summary": "示范效果好", "tech_fields": ["TF01"], "industry_types": ["IT0103"], "crops": ["maize"]}


@dataclass
class Ctx:
    session: Session
    role: str = "anonymous"

    @property
    def credentials(self) -> dict[str, str]:
        """The acting role's own username and password (anonymous: an unknown user)."""
        if self.role == "anonymous":  # a new unknown name each time: failures never add up to the sign-in limit
            return {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "not a password"}
        return {"username": f"m_{self.role}", "password": PASSWORD}

    def user(self, role: str = "agent", scope: str | None = "410102") -> str:
        """A fresh account with one role."""
        user = create_user(self.session, f"x_{uuid.uuid4().hex[:8]}", PASSWORD, roles=[(role, scope)])
        self.session.commit()
        return user.id

    def token(self, kind: str, username: str) -> str:
        """A fresh token of ``username``; its id."""
        token, _secret = issue_token(self.session, get_user(self.session, username), kind, "matrix")
        self.session.commit()
        return token.id

    def result(self, kind: str) -> str:
        """A fresh record of ``kind``, made by the test operator."""
        name = f"{kind}-{uuid.uuid4().hex[:6]}"
        if kind == "own draft":
            r = create_result(self.session, {**BASE, "name": name, "institutions": ["河南农业大学"]}, "test")
        elif kind == "published":
            r = create_result(self.session, {**BASE, "name": name, "institutions": ["中国农业大学"]}, "test")
            for step in ("submit", "approve", "publish"):
                transition(self.session, r, step, "test")
        elif kind == "submitted national":
            r = create_result(self.session, {**BASE, "name": name, "institutions": ["河南农业大学"]}, "test")
            transition(self.session, r, "submit", "test")
        elif kind in ("submitted local", "reviewed local"):
            r = create_result(self.session, {**BASE, "name": name, "institutions": ["中国农业大学"],
                                             "source": "local", "source_province": "410000"}, "test")
            transition(self.session, r, "submit", "test")
            if kind == "reviewed local":
                transition(self.session, r, "approve", "test")
        else:
            raise KeyError(kind)
        self.session.commit()
        return r.id


def matchmaking(c: Ctx, what: str) -> dict[str, str]:
    """A fresh 河南 event with a published result of 河南农业大学 showcased and the park NASTP001 taking part; with
    ``what`` = "intent" also the park's intent on that result. Ids by name."""
    from catalog.events import create_event, register_site, showcase_result
    from catalog.intents import check_new_intent, create_intent

    r = create_result(c.session, {**BASE, "name": f"对接成果-{uuid.uuid4().hex[:6]}",
                                  "institutions": ["河南农业大学"]}, "test")
    for step in ("submit", "approve", "publish"):
        transition(c.session, r, step, "test")
    event = create_event(c.session, {"kind": "onsite", "title": "河南省农业科技成果现场对接会",
                                     "starts_on": "2026-04-10", "ends_on": "2026-04-11", "place_code": "411000",
                                     "province_code": "410000"}, "test")
    showcase_result(c.session, event, r.id, "test")
    out = {"event": event.id, "result": r.id}
    if what in ("site", "intent"):
        register_site(c.session, event, "NASTP001", "test")
    if what == "intent":
        new = check_new_intent(c.session, {"site_id": "NASTP001", "result_id": r.id, "event_id": event.id},
                               lambda _r: True)
        out["intent"] = create_intent(c.session, new, "test", on="2026-04-10").id
    c.session.commit()
    return out


def need(c: Ctx, state: str = "open") -> str:
    """A fresh need of the park NASTP001 (the park manager's), posted by the test operator, in ``state``."""
    from catalog.need_store import create_need, move_need

    n = create_need(c.session, operator("test"), {**NEED, "title": f"需求-{uuid.uuid4().hex[:6]}"})
    if state == "closed":
        move_need(c.session, operator("test"), n.id, "close")
    c.session.commit()
    return n.id


NEED = {"site_id": "NASTP001", "title": "耐密玉米品种", "problem": "需要耐密抗倒的玉米新品种", "crops": ["maize"]}


def county_yield(c: Ctx) -> str:
    """A fresh plot in 410102 (the county officer's and agent's county) with a pending county self-test."""
    from catalog.access import Actor, Grant
    from catalog.field_rules import apply_plot, apply_yield

    agent = Actor("matrix-agent", grants=(Grant("agent", "410102"),), channel="sync")
    plot = apply_plot(c.session, agent, {"name": f"示范田-{uuid.uuid4().hex[:6]}", "county_code": "410102",
                                         "crop": "wheat", "season": "2026-summer_grain"}).record
    m = apply_yield(c.session, agent, {"plot_id": plot.id, "method": "harvest", "samples": [
        {"area_mu": 1, "fresh_kg": 600, "moisture": 0.14, "impurity": 0.01}]}).record
    c.session.commit()
    return m.id


PLAN = {"plots_expected": 3, "deadline": "2026-10-31"}  # 2026-autumn_grain
REPORT = {"county_code": "410102", "season": "2026-autumn_grain", "kind": "variety_extension", "area_mu": 800,
          "evidence": "2026年中原区农业统计报表"}


def plan(c: Ctx) -> str:
    """The plan of 410102 for 2026-autumn_grain, made (again) by the test operator; its path."""
    from catalog.seasons import save_plan

    save_plan(c.session, operator("test"), {**PLAN, "county_code": "410102", "season": "2026-autumn_grain"})
    c.session.commit()
    return "/api/plans/410102/2026-autumn_grain"


def extension_report(c: Ctx) -> str:
    """A fresh 品种推广面积 report of 410102, made by the test operator; its id."""
    from catalog.seasons import create_extension_report

    r = create_extension_report(c.session, operator("test"), REPORT)
    c.session.commit()
    return r.id


def list_issue(c: Ctx, kind: str) -> str:
    """A fresh list issue: "national draft", "河南 draft" (empty) or "published" (national, one result)."""
    from catalog import list_rules as lr

    lst = lr.get_list(c.session, "local-410000" if kind == "河南 draft" else "national")
    issue = lr.new_issue(c.session, operator("test"), lst)
    if kind == "published":
        r = create_result(c.session, {**BASE, "name": f"清单成果-{uuid.uuid4().hex[:6]}",
                                      "institutions": ["中国农业大学"]}, "test")
        for step in ("submit", "approve"):
            transition(c.session, r, step, "test")
        lr.add_entries(c.session, operator("test"), issue, [r.id])
        lr.publish(c.session, operator("test"), issue)
    c.session.commit()
    return issue.id


def list_issue_entry(c: Ctx) -> tuple[str, str]:
    """A fresh 河南 draft holding one reviewed local result: (issue id, result id)."""
    from catalog import list_rules as lr

    issue_id, result_id = list_issue(c, "河南 draft"), c.result("reviewed local")
    lr.add_entries(c.session, operator("test"), lr.get_issue(c.session, issue_id), [result_id])
    c.session.commit()
    return issue_id, result_id


def import_file() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["成果名称", "成果简介", "完成单位", "技术领域", "服务产业类型"])
    ws.append([f"导入成果{uuid.uuid4().hex[:6]}", "简介", "河南农业大学", "TF01", "IT0103"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def classify_rule(c: Ctx) -> str:
    """A fresh keyword rule, as an officer would add it."""
    from catalog.classify_rules import add_rule

    rule = add_rule(c.session, {"dimension": "crop", "code": "maize", "keywords": [f"玉米{uuid.uuid4().hex[:4]}"],
                                "weight": 0.5}, "test")
    c.session.commit()
    return rule.id


CLASSIFIED = {"tech_fields": ["TF03", "TF01"], "industry_types": ["IT0103"]}  # a reviewer's codes


Request = tuple[str, str, dict[str, Any]]
BUILDERS: dict[str, Callable[[Ctx], Request]] = {
    "GET /api/openapi.json": lambda c: ("GET", "/api/openapi.json", {}),
    "GET /api/codelists": lambda c: ("GET", "/api/codelists", {}),
    "GET /api/codelists/<list_id>": lambda c: ("GET", "/api/codelists/crop", {}),
    "GET /api/divisions": lambda c: ("GET", "/api/divisions?level=province", {}),
    "GET /api/divisions/<code>": lambda c: ("GET", "/api/divisions/410102", {}),
    "GET /api/divisions/<code>/boundary": lambda c: ("GET", "/api/divisions/410102/boundary", {}),
    "GET /api/sites": lambda c: ("GET", "/api/sites?kind=park", {}),
    "GET /api/sites/<site_id>": lambda c: ("GET", "/api/sites/NASTP001", {}),
    "GET /api/site-lists": lambda c: ("GET", "/api/site-lists", {}),
    "GET /api/site-lists/<list_id>": lambda c: ("GET", "/api/site-lists/KC", {}),
    "GET /api/results": lambda c: ("GET", "/api/results?q=玉米&facets=1", {}),
    "GET /api/results/facets": lambda c: ("GET", "/api/results/facets?crop=maize", {}),
    "POST /api/results · national, 河南农业大学": lambda c: (
        "POST", "/api/results", {"json": {**BASE, "name": "新品种", "institutions": ["河南农业大学"]}}),
    "POST /api/results · local 河南, 中国农业大学": lambda c: (
        "POST", "/api/results", {"json": {**BASE, "name": "地方成果", "institutions": ["中国农业大学"],
                                          "source": "local", "source_province": "410000"}}),
    "GET /api/results/<result_id> · published": lambda c: ("GET", f"/api/results/{c.result('published')}", {}),
    "GET /api/results/<result_id> · own draft": lambda c: ("GET", f"/api/results/{c.result('own draft')}", {}),
    "GET /api/results/<result_id> · submitted local": lambda c: (
        "GET", f"/api/results/{c.result('submitted local')}", {}),
    "PATCH /api/results/<result_id> · own draft": lambda c: (
        "PATCH", f"/api/results/{c.result('own draft')}", {"json": {"trl": 7}}),
    "PATCH /api/results/<result_id> · published": lambda c: (
        "PATCH", f"/api/results/{c.result('published')}", {"json": {"trl": 7}}),
    "POST /api/results/<result_id>/transitions · submit own draft": lambda c: (
        "POST", f"/api/results/{c.result('own draft')}/transitions",
        {"json": {"action": "submit"}}),
    "POST /api/results/<result_id>/transitions · approve submitted national": lambda c: (
        "POST", f"/api/results/{c.result('submitted national')}/transitions", {"json": {"action": "approve"}}),
    "POST /api/results/<result_id>/transitions · withdraw reviewed local": lambda c: (
        "POST", f"/api/results/{c.result('reviewed local')}/transitions",
        {"json": {"action": "withdraw", "comment": "不再推荐"}}),
    "POST /api/results/<result_id>/transitions · withdraw published": lambda c: (
        "POST", f"/api/results/{c.result('published')}/transitions",
        {"json": {"action": "withdraw", "comment": "不再推荐"}}),
    "GET /api/results/<result_id>/history · own draft": lambda c: (
        "GET", f"/api/results/{c.result('own draft')}/history", {}),
    "GET /api/results/<result_id>/history · published": lambda c: (
        "GET", f"/api/results/{c.result('published')}/history", {}),
    "POST /api/results/import · one national row of 河南农业大学": lambda c: (
        "POST", "/api/results/import",
        {"data": {"file": (io.BytesIO(import_file()), "成果.xlsx")}, "content_type": "multipart/form-data"}),
    "GET /api/results/export.xlsx": lambda c: ("GET", "/api/results/export.xlsx?crop=maize", {}),
    "GET /api/results/export.csv": lambda c: ("GET", "/api/results/export.csv?crop=maize", {}),
    "GET /api/results/template.xlsx": lambda c: ("GET", "/api/results/template.xlsx", {}),
    "GET /api/results/template.csv": lambda c: ("GET", "/api/results/template.csv", {}),
    "GET /api/sync/pull": lambda c: ("GET", "/api/sync/pull?cursor=", {}),
    "GET /api/sync/pull · device token": lambda c: ("GET", "/api/sync/pull?cursor=", {"as_device": True}),
    "POST /api/sync/push · device token": lambda c: (
        "POST", "/api/sync/push", {"json": {"mutations": []}, "as_device": True}),
    "POST /api/auth/login · own password": lambda c: ("POST", "/api/auth/login", {"json": c.credentials}),
    "POST /api/auth/logout": lambda c: ("POST", "/api/auth/logout", {}),
    "GET /api/auth/me": lambda c: ("GET", "/api/auth/me", {}),
    "POST /api/auth/tokens · own password": lambda c: (
        "POST", "/api/auth/tokens", {"json": {**c.credentials, "name": "脚本"}}),
    "GET /api/auth/tokens": lambda c: ("GET", "/api/auth/tokens", {}),
    "DELETE /api/auth/tokens/<token_id> · own token": lambda c: (
        "DELETE", f"/api/auth/tokens/{c.token('api', c.credentials['username'])}"
        if c.role != "anonymous" else f"/api/auth/tokens/{uuid.uuid4()}", {}),
    "POST /api/devices · own password": lambda c: (
        "POST", "/api/devices", {"json": {**c.credentials, "name": "平板"}}),
    "GET /api/devices": lambda c: ("GET", "/api/devices", {}),
    "DELETE /api/devices/<token_id> · the agent's device": lambda c: (
        "DELETE", f"/api/devices/{c.token('device', 'm_agent')}", {}),
    "GET /api/users": lambda c: ("GET", "/api/users", {}),
    "POST /api/users · an agent of 410102": lambda c: (
        "POST", "/api/users", {"json": {"username": f"n_{uuid.uuid4().hex[:8]}", "password": PASSWORD,
                                        "roles": [{"role": "agent", "scope": "410102"}]}}),
    "GET /api/users/<user_id> · an agent of 410102": lambda c: ("GET", f"/api/users/{c.user()}", {}),
    "PATCH /api/users/<user_id> · an agent of 410102": lambda c: (
        "PATCH", f"/api/users/{c.user()}", {"json": {"display_name": "新名字"}}),
    "POST /api/users/<user_id>/password · an agent of 410102": lambda c: (
        "POST", f"/api/users/{c.user()}/password", {"json": {"password": "another good password"}}),
    "GET /api/audit": lambda c: ("GET", "/api/audit", {}),
    "GET /api/audit/export.csv": lambda c: ("GET", "/api/audit/export.csv", {}),
    "POST /api/sync/push": lambda c: ("POST", "/api/sync/push", {"json": {"mutations": []}}),
    "GET /api/sync/files/<sha256>": lambda c: ("GET", f"/api/sync/files/{'0' * 64}", {}),
    "PATCH /api/sync/files/<sha256>": lambda c: ("PATCH", f"/api/sync/files/{'0' * 64}", {"data": b"x"}),
    "GET /api/sync/conflicts": lambda c: ("GET", "/api/sync/conflicts", {}),
    # The matrix instance offers no package: open to everyone, it answers 404 (tests/e2e/test_fieldkit_update.py).
    "GET /api/fieldkit/version · none published": lambda c: ("GET", "/api/fieldkit/version", {}),
    "GET /api/fieldkit/package · none published": lambda c: ("GET", "/api/fieldkit/package", {}),
    "GET /api/lists": lambda c: ("GET", "/api/lists", {}),
    "GET /api/lists/<list_id> · national": lambda c: ("GET", "/api/lists/national", {}),
    "POST /api/lists/<list_id>/issues · national": lambda c: (
        "POST", "/api/lists/national/issues", {"json": {"note": "第一期"}}),
    "POST /api/lists/<list_id>/issues · 河南 local": lambda c: (
        "POST", "/api/lists/local-410000/issues", {"json": {"result_ids": [c.result("reviewed local")]}}),
    "GET /api/list-issues/<issue_id> · national draft": lambda c: (
        "GET", f"/api/list-issues/{list_issue(c, 'national draft')}", {}),
    "GET /api/list-issues/<issue_id> · 河南 draft": lambda c: (
        "GET", f"/api/list-issues/{list_issue(c, '河南 draft')}", {}),
    "GET /api/list-issues/<issue_id> · published": lambda c: (
        "GET", f"/api/list-issues/{list_issue(c, 'published')}", {}),
    "PATCH /api/list-issues/<issue_id> · 河南 draft": lambda c: (
        "PATCH", f"/api/list-issues/{list_issue(c, '河南 draft')}", {"json": {"note": "改"}}),
    "PATCH /api/list-issues/<issue_id> · published": lambda c: (
        "PATCH", f"/api/list-issues/{list_issue(c, 'published')}", {"json": {"note": "改"}}),
    "DELETE /api/list-issues/<issue_id> · 河南 draft": lambda c: (
        "DELETE", f"/api/list-issues/{list_issue(c, '河南 draft')}", {}),
    "POST /api/list-issues/<issue_id>/entries · a reviewed 河南 local result to the 河南 draft": lambda c: (
        "POST", f"/api/list-issues/{list_issue(c, '河南 draft')}/entries",
        {"json": {"result_ids": [c.result("reviewed local")]}}),
    "DELETE /api/list-issues/<issue_id>/entries/<result_id> · from the 河南 draft": lambda c: (
        "DELETE", "/api/list-issues/{}/entries/{}".format(*list_issue_entry(c)), {}),
    "POST /api/list-issues/<issue_id>/publish · the 河南 draft": lambda c: (
        "POST", f"/api/list-issues/{list_issue_entry(c)[0]}/publish", {}),
    "GET /api/list-issues/<issue_id>/diff · published": lambda c: (
        "GET", f"/api/list-issues/{list_issue(c, 'published')}/diff", {}),
    "GET /api/list-issues/<issue_id>/export.xlsx · published": lambda c: (
        "GET", f"/api/list-issues/{list_issue(c, 'published')}/export.xlsx", {}),
    "GET /api/list-issues/<issue_id>/export.csv · published": lambda c: (
        "GET", f"/api/list-issues/{list_issue(c, 'published')}/export.csv", {}),
    "GET /api/events": lambda c: ("GET", "/api/events?kind=onsite", {}),
    "POST /api/events · national online": lambda c: (
        "POST", "/api/events", {"json": {"kind": "online", "title": "网络展会", "starts_on": "2026-06-01",
                                         "ends_on": "2026-06-30", "province_code": None}}),
    "POST /api/events · 河南 onsite": lambda c: (
        "POST", "/api/events", {"json": {"kind": "onsite", "title": "现场对接会", "starts_on": "2026-06-01",
                                         "ends_on": "2026-06-02", "place_code": "411000", "province_code": "410000"}}),
    "GET /api/events/<event_id> · 河南 event": lambda c: (
        "GET", f"/api/events/{matchmaking(c, 'event')['event']}", {}),
    "PATCH /api/events/<event_id> · 河南 event": lambda c: (
        "PATCH", f"/api/events/{matchmaking(c, 'event')['event']}", {"json": {"address": "许昌市建安区"}}),
    "POST /api/events/<event_id>/transitions · open 河南 event": lambda c: (
        "POST", f"/api/events/{matchmaking(c, 'event')['event']}/transitions", {"json": {"action": "open"}}),
    "POST /api/events/<event_id>/results · a published result to 河南 event": lambda c: (
        "POST", f"/api/events/{matchmaking(c, 'event')['event']}/results",
        {"json": {"result_id": c.result("published")}}),
    "DELETE /api/events/<event_id>/results/<result_id> · showcased": lambda c: (
        "DELETE", "/api/events/{event}/results/{result}".format(**matchmaking(c, "event")), {}),
    "POST /api/events/<event_id>/sites · NASTP001 to 河南 event": lambda c: (
        "POST", f"/api/events/{matchmaking(c, 'event')['event']}/sites", {"json": {"site_id": "NASTP001"}}),
    "DELETE /api/events/<event_id>/sites/<site_id> · NASTP001 taking part": lambda c: (
        "DELETE", f"/api/events/{matchmaking(c, 'site')['event']}/sites/NASTP001", {}),
    "GET /api/intents": lambda c: ("GET", "/api/intents", {}),
    "POST /api/intents · NASTP001 on a showcased result": lambda c: (
        "POST", "/api/intents", {"json": {"site_id": "NASTP001", "result_id": (m := matchmaking(c, "site"))["result"],
                                          "event_id": m["event"], "on": "2026-04-10"}}),
    "GET /api/intents/<intent_id> · NASTP001's, on 河南农业大学's result": lambda c: (
        "GET", f"/api/intents/{matchmaking(c, 'intent')['intent']}", {}),
    "POST /api/intents/<intent_id>/steps · contact": lambda c: (
        "POST", f"/api/intents/{matchmaking(c, 'intent')['intent']}/steps", {"json": {"step": "contact"}}),
    "GET /api/needs": lambda c: ("GET", "/api/needs?state=open", {}),
    "POST /api/needs · for NASTP001": lambda c: ("POST", "/api/needs", {"json": NEED}),
    "GET /api/needs/<need_id> · open, of NASTP001": lambda c: ("GET", f"/api/needs/{need(c)}", {}),
    "GET /api/needs/<need_id> · closed, of NASTP001": lambda c: ("GET", f"/api/needs/{need(c, 'closed')}", {}),
    "PATCH /api/needs/<need_id> · open, of NASTP001": lambda c: (
        "PATCH", f"/api/needs/{need(c)}", {"json": {"area_mu": 5000}}),
    "POST /api/needs/<need_id>/transitions · close an open need of NASTP001": lambda c: (
        "POST", f"/api/needs/{need(c)}/transitions", {"json": {"action": "close"}}),
    "GET /api/needs/<need_id>/matches · open, of NASTP001": lambda c: (
        "GET", f"/api/needs/{need(c)}/matches", {}),
    "GET /api/results/<result_id>/sites · published": lambda c: (
        "GET", f"/api/results/{c.result('published')}/sites", {}),
    "POST /api/classify/suggest": lambda c: (
        "POST", "/api/classify/suggest", {"json": {"text": "西北耐密高产抗旱玉米新品种"}}),
    "GET /api/classify/rules": lambda c: ("GET", "/api/classify/rules?dimension=crop", {}),
    "POST /api/classify/rules": lambda c: (
        "POST", "/api/classify/rules", {"json": {"dimension": "crop", "code": "maize", "keywords": ["苞谷"],
                                                 "weight": 0.6}}),
    "PATCH /api/classify/rules/<rule_id>": lambda c: (
        "PATCH", f"/api/classify/rules/{classify_rule(c)}", {"json": {"weight": 0.7}}),
    "DELETE /api/classify/rules/<rule_id>": lambda c: ("DELETE", f"/api/classify/rules/{classify_rule(c)}", {}),
    "GET /api/results/<result_id>/classification · published": lambda c: (
        "GET", f"/api/results/{c.result('published')}/classification", {}),
    "GET /api/results/<result_id>/classification · own draft": lambda c: (
        "GET", f"/api/results/{c.result('own draft')}/classification", {}),
    "POST /api/results/<result_id>/classification · submitted national": lambda c: (
        "POST", f"/api/results/{c.result('submitted national')}/classification", {"json": CLASSIFIED}),
    "POST /api/results/<result_id>/classification · submitted local": lambda c: (
        "POST", f"/api/results/{c.result('submitted local')}/classification", {"json": CLASSIFIED}),
    "POST /api/results/<result_id>/classification · published": lambda c: (
        "POST", f"/api/results/{c.result('published')}/classification", {"json": CLASSIFIED}),
    # yield review (catalog.review): a pending county self-test in 410102
    "GET /api/yields/review-queue": lambda c: ("GET", "/api/yields/review-queue?level=county", {}),
    "GET /api/yields/<yield_id> · pending county self-test in 410102": lambda c: (
        "GET", f"/api/yields/{county_yield(c)}", {}),
    "POST /api/yields/<yield_id>/approve · pending county self-test in 410102": lambda c: (
        "POST", f"/api/yields/{county_yield(c)}/approve", {"json": {}}),
    "POST /api/yields/<yield_id>/reject · pending county self-test in 410102, with a comment": lambda c: (
        "POST", f"/api/yields/{county_yield(c)}/reject", {"json": {"comment": "样点不足"}}),
    # coverage (catalog.coverage, targets, gaps, seasons): 410102 is the county officer's and agent's county
    "GET /api/coverage · 410102": lambda c: ("GET", "/api/coverage?scope=410102&season=2026-autumn_grain", {}),
    "GET /api/coverage/progress · 410102": lambda c: (
        "GET", "/api/coverage/progress?scope=410102&season=2026-autumn_grain", {}),
    "GET /api/coverage/gaps · 410102": lambda c: (
        "GET", "/api/coverage/gaps?scope=410102&season=2026-autumn_grain", {}),
    "GET /api/coverage/export.xlsx · 410102": lambda c: (
        "GET", "/api/coverage/export.xlsx?scope=410102&season=2026-autumn_grain", {}),
    "GET /api/plans": lambda c: ("GET", "/api/plans?season=2026-autumn_grain", {}),
    "GET /api/plans/<county>/<season> · the plan of 410102": lambda c: ("GET", plan(c), {}),
    "PUT /api/plans/<county>/<season> · the plan of 410102": lambda c: (
        "PUT", "/api/plans/410102/2026-autumn_grain", {"json": PLAN}),
    "DELETE /api/plans/<county>/<season> · the plan of 410102": lambda c: ("DELETE", plan(c), {}),
    "GET /api/extension-reports": lambda c: ("GET", "/api/extension-reports?season=2026-autumn_grain", {}),
    "POST /api/extension-reports · 410102, with evidence": lambda c: (
        "POST", "/api/extension-reports", {"json": REPORT}),
    "GET /api/extension-reports/<report_id> · a report of 410102": lambda c: (
        "GET", f"/api/extension-reports/{extension_report(c)}", {}),
    "PATCH /api/extension-reports/<report_id> · a report of 410102": lambda c: (
        "PATCH", f"/api/extension-reports/{extension_report(c)}", {"json": {"area_mu": 900}}),
    "DELETE /api/extension-reports/<report_id> · a report of 410102": lambda c: (
        "DELETE", f"/api/extension-reports/{extension_report(c)}", {}),
    "GET /api/targets": lambda c: ("GET", "/api/targets", {}),
    "PATCH /api/targets/<target_id> · notes": lambda c: (
        "PATCH", "/api/targets/yield_gain", {"json": {"notes": f"备注{uuid.uuid4().hex[:4]}"}}),
}


def api_routes(app) -> set[str]:  # type: ignore[no-untyped-def]
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint.startswith("web."):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.add(f"{method} {rule.rule}")
    return out


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def matrix_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One database per engine for the whole matrix (fresh records per request keep the cases apart)."""
    from server import create_app

    drop = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "m.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        admin, template = request.getfixturevalue("postgis_template")
        name = f"yx_mx_{uuid.uuid4().hex[:10]}"
        _admin_execute(admin, f"CREATE DATABASE {name} TEMPLATE {template}")
        url = admin.set(database=name).render_as_string(hide_password=False)
        drop = (admin, name)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "t",
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("inst"))})
    yield app
    app.extensions["yx_engine"].dispose()
    if drop:
        _admin_execute(drop[0], f"DROP DATABASE IF EXISTS {drop[1]} WITH (FORCE)")


@pytest.fixture(scope="module")
def headers(matrix_app) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, str]] = {"anonymous": {}}
    with act_as(Session(matrix_app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        for role, scope in ROLE_SCOPES.items():
            user = create_user(s, f"m_{role}", "correct horse battery", roles=[(role, scope)])
            out[role] = {"Authorization": f"Bearer {issue_token(s, user, 'api', 'matrix')[1]}"}
    return out


@pytest.fixture(scope="module")
def device_headers(matrix_app, headers) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The agent's field-kit device token (only agents enroll devices)."""
    with act_as(Session(matrix_app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        _token, secret = issue_token(s, get_user(s, "m_agent"), "device", "matrix kit")
    return {"agent": {"Authorization": f"Bearer {secret}"}}


def test_matrix__every_api_route_has_a_row_and_every_row_a_route(matrix_app):
    routes = api_routes(matrix_app)
    documented = {route_of(r) for r in MATRIX}
    assert sorted(routes - documented) == [], "routes without a row in docs/access.md"
    assert sorted(documented - routes) == [], "rows in docs/access.md for routes that do not exist"
    assert set(MATRIX) == set(BUILDERS), "every row needs a request in BUILDERS"


@pytest.mark.parametrize("row", sorted(MATRIX))
def test_matrix__row__each_role_gets_the_documented_answer(matrix_app, headers, device_headers, row):
    client = matrix_app.test_client()
    got: dict[str, str] = {}
    with act_as(Session(matrix_app.extensions["yx_engine"]), operator("test")) as s:
        ctx = Ctx(s)
        for role in ROLES:
            ctx.role = role
            method, path, kwargs = BUILDERS[row](ctx)
            use = device_headers if kwargs.pop("as_device", False) else headers
            sent = {**use.get(role, headers[role]), **KIT_HEADERS} if use is device_headers else headers[role]
            resp = client.open(path, method=method, headers=sent, **kwargs)
            got[role] = "✓" if 200 <= resp.status_code < 300 else str(resp.status_code)
            if got[role] != "✓":
                assert resp.is_json and resp.get_json()["error"]["code"], (role, resp.data[:200])
    assert got == MATRIX[row]
