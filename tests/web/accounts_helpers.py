"""Helpers for the account pages' tests: signing in through the form, and a live server with a browser of their own
(the style of ``tests/web/conftest.py``: 127.0.0.1 only, console errors fail the test)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

PW = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: Any, username: str, password: str = PW, next_url: str = "") -> Any:
    """Signs in through the page's form, as a browser would."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password,
                                       "next": next_url})


def post_form(client: Any, url: str, data: dict[str, str], page: str | None = None) -> Any:
    """Posts ``data`` with the CSRF token of ``page`` (default: ``url`` itself)."""
    token = csrf_of(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


@dataclass
class Guard:
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def accounts_server(app: Flask, accounts: dict[str, dict[str, str]]) -> Iterator[str]:
    """The real app (with one account per role) on 127.0.0.1 and a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="accounts-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def accounts_page(accounts_server: str) -> Iterator[Any]:
    """A fresh browser page on the live server; fails the test on foreign requests or page errors."""
    from playwright.sync_api import sync_playwright

    guard = Guard()

    def route(r: Any) -> None:
        if urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            guard.foreign.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=accounts_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("console", lambda m: guard.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: guard.errors.append(f"pageerror: {e}"))
        yield page
        context.close()
        browser.close()
    assert guard.foreign == [], f"requests to hosts other than 127.0.0.1: {guard.foreign}"
    assert guard.errors == [], f"errors in the page: {guard.errors}"
