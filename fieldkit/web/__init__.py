"""``fieldkit serve``: the kit's local web UI on 127.0.0.1, for a phone's or laptop's browser, offline.

It works on the same local store as the command line and needs nothing from the internet: templates, CSS and
scripts ship in the package, maps are SVG from ``gis``. Pages work without JavaScript (typed coordinates and
files for boundaries, plain forms); with it, the boundary can be walked with the device's GPS and the yield form
computes as the agent types.

The UI answers only requests addressed to the loopback host (a web page elsewhere cannot reach it through
DNS rebinding) and every form carries a CSRF token (a page elsewhere cannot post to it).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, request
from flask_wtf.csrf import CSRFProtect

from catalog.db import BEIJING
from fieldkit import settings
from fieldkit.enrol import TransportFactory
from fieldkit.store import Store
from fieldkit.web.syncjob import SyncJob
from sync.transport import HttpTransport, Transport

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass(frozen=True)
class WebSettings:
    """What the agent may tune: GPS fixes worse than ``min_accuracy_m`` are not recorded, a walk keeps at
    most ``max_vertices`` fixes, and a fix closer than ``min_step_m`` to the last one kept is skipped."""

    min_accuracy_m: float = 15.0
    max_vertices: int = 2000
    min_step_m: float = 1.0
    max_upload_mb: int = 30


def _http(base_url: str, token: str | None) -> Transport:
    return HttpTransport(base_url, token=token)


def create_app(home: Path, *, transport: TransportFactory = _http, web: WebSettings | None = None) -> Flask:
    """The UI over the kit in ``home`` (set up with ``fieldkit init``)."""
    if not settings.db_path(home).exists():
        raise FileNotFoundError(settings.db_path(home))
    store = Store(settings.db_path(home))
    secret = store.get_meta("web_secret")
    if not secret:  # kept, so a form opened before a restart still posts
        secret = secrets.token_hex(32)
        store.set_meta(web_secret=secret)
    app = Flask(__name__)
    web = web or WebSettings()
    app.config.update(SECRET_KEY=secret, MAX_CONTENT_LENGTH=web.max_upload_mb * 1024 * 1024,
                      WTF_CSRF_TIME_LIMIT=None, SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    app.extensions["fieldkit"] = Kit(home, store, transport, web, SyncJob(store, transport))
    CSRFProtect(app)

    @app.before_request
    def _loopback_only() -> None:
        if urlsplit("//" + request.host).hostname not in LOOPBACK:
            abort(421)

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    from fieldkit.web import pages

    app.register_blueprint(pages.bp)
    app.jinja_env.globals.update(t=pages.t, lang=pages.lang, beijing=beijing, mu=pages.mu)
    return app


@dataclass
class Kit:
    """What every page reaches: the kit's folder and store, how it reaches the server, settings, sync job."""

    home: Path
    store: Store
    transport: TransportFactory
    web: WebSettings
    job: SyncJob


def beijing(value: Any) -> str:
    """An ISO time or datetime (UTC when naive) as Beijing time, 2026-12-01 18:05."""
    if not value:
        return "—"
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
