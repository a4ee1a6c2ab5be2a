"""Request ids and structured logs.

Every request gets an id: the incoming ``X-Request-ID`` when it is a sane token, else a new one. It is answered
as ``X-Request-ID``, put in every error body (server/errors.py) and on every log line written while the request
runs. One line per request goes to the ``server.access`` logger: method, path, status, duration, actor.
Our loggers (server, catalog, sync, gis) write to stdout, one JSON object a line (``LOG_FORMAT=json``, the
default) or plain text (``LOG_FORMAT=text``, for development), from ``LOG_LEVEL`` up (default INFO).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from server import metrics

HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
LOGGERS = ("server", "catalog", "sync", "gis")
FORMATS = ("json", "text")
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "actor", "endpoint")
access_log = logging.getLogger("server.access")


def request_id() -> str:
    """This request's id (made on first use)."""
    rid: str | None = g.get("request_id")
    if rid is None:
        incoming = request.headers.get(HEADER, "").strip()
        rid = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_id = rid
    return rid


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = request_id()
        elif not hasattr(record, "request_id"):
            record.request_id = "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        out.update({key: getattr(record, key) for key in ACCESS_FIELDS if hasattr(record, key)})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


_handler = StdoutHandler()


def configure(fmt: str, level: str) -> None:
    """Our loggers to stdout in ``fmt`` from ``level`` up; once per process (a later app sets the format)."""
    fmt, level = fmt.strip().lower(), level.strip().upper()
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT 应为 json 或 text，而不是 {fmt!r} / LOG_FORMAT must be json or text, not {fmt!r}")
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(f"LOG_LEVEL 应为 DEBUG、INFO、WARNING 或 ERROR，而不是 {level!r} / "
                         f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    _handler.setFormatter(JsonFormatter() if fmt == "json" else TEXT)
    from flask.logging import default_handler

    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.removeHandler(default_handler)  # Flask's own, on app.logger ("server"): not twice
        if _handler not in logger.handlers:
            logger.addHandler(_handler)
        logger.setLevel(level)


def _start() -> None:
    g.started = time.perf_counter()
    request_id()


def _finish(resp: Response) -> Response:
    rid = request_id()
    resp.headers[HEADER] = rid
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    endpoint = request.url_rule.rule if request.url_rule else None
    metrics.count_request(request.method, endpoint, resp.status_code, seconds)
    actor = g.get("actor")
    name = actor.name if actor is not None and actor.authenticated else None
    ms = round(seconds * 1000, 1)
    access_log.info("%s %s %s %.1f ms%s", request.method, request.path, resp.status_code, ms,
                    f" {name}" if name else "",
                    extra={"method": request.method, "path": request.path, "status": resp.status_code,
                           "duration_ms": ms, "actor": name, "endpoint": endpoint or metrics.UNMATCHED})
    return resp


def init_app(app: Flask) -> None:
    """Register first, so the id and the clock start before anything else looks at the request."""
    configure(str(app.config["LOG_FORMAT"]), str(app.config["LOG_LEVEL"]))
    app.before_request(_start)
    app.after_request(_finish)
