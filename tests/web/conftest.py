"""Pages in a real browser: the app served by werkzeug on 127.0.0.1, driven by Debian's Chromium via Playwright.

Every test runs on SQLite and PostGIS (through ``db_url``). The browser may talk to 127.0.0.1 only: any other
request is aborted and recorded, and a test that caused one fails; so does a console error (a CSP violation
shows up as one) or an uncaught script error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from catalog.access import operator
from catalog.accounts import create_user
from catalog.audit import act_as
from catalog.db import make_engine
from catalog.lifecycle import transition
from catalog.result_store import create_result

CHROMIUM = "/usr/bin/chromium"
# How this machine runs Chromium (machines/python-svc.md): no sandbox as root, no GPU, and none of the
# background connections (component updates, sync, QUIC probes) that a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# name → fields, lifecycle actions to run, initial state. Enough variety for every facet and for 3 pages of 2.
DEMO: list[tuple[str, dict[str, Any], list[str]]] = [
    ("耐密高产玉米新品种郑单958", {
        "summary": "该品种耐密植、抗倒伏，适宜黄淮海夏玉米区种植，平均亩产比对照增产8.5%。<b>不是标签</b>",
        "keywords": ["玉米", "耐密"], "special_project": "七大农作物育种", "project_no": "2018YFD0100100",
        "subject_no": "2018YFD0100101", "institutions": ["河南省农业科学院", "中国农业大学"],
        "people": ["张三", "李四"], "tech_fields": ["TF01", "TF03"], "industry_types": ["IT0103"],
        "scenarios": ["SC0201", "SC0301"], "crops": ["maize"], "land_scenarios": ["SC0102"],
        "transfer_modes": ["licence", "cooperation"], "trl": 8, "stage": "mature", "form": "variety",
        "ip": {"variety_rights": ["CNA20180001.1"], "approvals": ["国审玉2018001"]},
        "registration_no": "9412018Y0001", "suitable_regions": ["410102", "230184", "130000"],
        "key_figures": [{"name": "增产", "value": 8.5, "unit": "%", "evidence": "2019—2020年区域试验"}],
        "transfer_terms": "许可费面议", "contact_name": "王老师", "contact_phone": "0371-65710000",
        "contact_email": "contact@example.org"}, ["submit", "approve", "publish"]),
    ("高蛋白大豆新品种中黄301", {
        "summary": "蛋白质含量高，适宜东北春大豆区。", "institutions": ["中国农业科学院作物科学研究所"],
        "tech_fields": ["TF01"], "industry_types": ["IT0104"], "crops": ["soybean"], "trl": 7, "form": "variety",
        "suitable_regions": ["230000", "220000"], "transfer_modes": ["transfer"]}, ["submit", "approve"]),
    ("东北黑土地保护性耕作技术", {
        "summary": "秸秆覆盖免耕播种，保护黑土地。", "institutions": ["中国科学院东北地理与农业生态研究所"],
        "tech_fields": ["TF0201"], "industry_types": ["IT01"], "scenarios": ["SC0101"], "trl": 7,
        "form": "procedure", "land_scenarios": ["SC0101"], "suitable_regions": ["230000"]}, ["submit"]),
    ("盐碱地水稻插秧机", {
        "summary": "适用于滨海盐碱地机插秧。", "institutions": ["农业农村部南京农业机械化研究所"],
        "tech_fields": ["TF06"], "industry_types": ["IT0101"], "crops": ["rice_japonica"], "trl": 6,
        "form": "equipment", "land_scenarios": ["SC0103"], "suitable_regions": ["370000"],
        "source": "local", "source_province": "370000"}, []),
    ("小麦赤霉病绿色防控技术", {
        "summary": "减少化学农药用量。", "institutions": ["西北农林科技大学"], "tech_fields": ["TF05"],
        "industry_types": ["IT0102"], "crops": ["wheat"], "trl": 7, "form": "procedure",
        "suitable_regions": ["610000"]}, ["submit", "approve", "publish", "withdraw"]),
]
COMMENTS = {"withdraw": "已被新版技术规程替代"}

# Anonymous visitors see only the published result. The reader sees all five: as a ministry officer every result
# past draft, and as the holder of the draft's institution (农业农村部南京农业机械化研究所) that draft too.
READER = ("u_reader", "correct horse battery")
READER_ROLES: list[tuple[str, str | None]] = [("ministry_officer", None),
                                              ("result_holder", "农业农村部南京农业机械化研究所")]


@dataclass
class Demo:
    ids: dict[str, str] = field(default_factory=dict)

    def id_of(self, prefix: str) -> str:
        return next(i for name, i in self.ids.items() if name.startswith(prefix))


@pytest.fixture
def demo(db_url: str) -> Demo:
    """The handful of results the pages show, committed to the test database."""
    engine = make_engine(db_url)
    out = Demo()
    with act_as(Session(engine), operator("seed@test")) as s, s.begin():
        for name, fields, actions in DEMO:
            r = create_result(s, {"name": name, **fields}, "seed@test")
            for action in actions:
                transition(s, r, action, "reviewer@test", COMMENTS.get(action),
                           list_batch="2024年第一批" if action == "publish" else None)
            out.ids[name] = r.id
    engine.dispose()
    return out


@pytest.fixture
def reader(app: Flask) -> tuple[str, str]:
    """The account (username, password) that reads every demo result."""
    with act_as(Session(app.extensions["yx_engine"]), operator("test")) as s, s.begin():
        create_user(s, READER[0], READER[1], roles=READER_ROLES)
    return READER


@pytest.fixture
def signed_in(client: Any, reader: tuple[str, str]) -> Any:
    """The test client with the reader signed in to a web session, as a browser would be."""
    r = client.post("/api/auth/login", json={"username": reader[0], "password": reader[1]})
    assert r.status_code == 200, r.get_json()
    return client


@pytest.fixture
def live_server(app: Flask, demo: Demo) -> Iterator[str]:
    """The real app on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # launch() gives every browser a fresh temporary profile (user data dir), removed on close.
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Traffic:
    """What the page did that a test must not let pass: foreign requests and script errors."""

    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture
def open_page(browser: Any, live_server: str, traffic: Traffic, reader: tuple[str, str]
              ) -> Iterator[Callable[..., Any]]:
    """Makes pages in new browser contexts (options as ``browser.new_context``), all guarded the same way;
    signed in as the reader unless ``anonymous=True``."""
    contexts: list[Any] = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            traffic.foreign.append(route.request.url)
            route.abort()

    def make(anonymous: bool = False, **options: Any) -> Any:
        options = {"base_url": live_server, "accept_downloads": True, "locale": "zh-CN",
                   "viewport": {"width": 1280, "height": 900}, **options}
        context = browser.new_context(**options)
        contexts.append(context)
        context.route("**/*", guard)
        if not anonymous:  # the session cookie lands in the context's cookie jar, as after a sign-in form
            r = context.request.post("/api/auth/login", data={"username": reader[0], "password": reader[1]})
            assert r.status == 200, r.text()
        p = context.new_page()
        p.set_default_timeout(30_000)
        p.on("console", lambda m: traffic.errors.append(f"console: {m.text}") if m.type == "error" else None)
        p.on("pageerror", lambda e: traffic.errors.append(f"pageerror: {e}"))
        return p

    yield make
    for context in contexts:
        context.close()
    assert traffic.foreign == [], f"requests to hosts other than 127.0.0.1: {traffic.foreign}"
    assert traffic.errors == [], f"errors in the page: {traffic.errors}"


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    return open_page()
