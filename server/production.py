"""Production serving: gunicorn workers, each with its own app from the factory (nothing forked half-open)."""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

# Seconds: a worker that stops reporting to the master this long is restarted; on SIGTERM, requests in flight
# get GRACEFUL_TIMEOUT to finish.
TIMEOUT = 120
GRACEFUL_TIMEOUT = 30
THREADS = 4  # per worker (gthread): slow clients and keep-alive do not hold a whole worker


class Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:  # gunicorn 25+: no ~/.gunicorn control socket
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        from server import create_app

        app = create_app()
        settle_heap()
        return app


def settle_heap() -> None:
    """Move what the process holds once started (modules, mappers, the app) out of the collector's reach.

    A full collection walks every tracked object; with ~140,000 of them after start-up it costs ~45 ms, and a
    dashboard request allocates enough to trigger one every second call (the national view's p95). Frozen, a full
    collection walks only what came after: ~1 ms. Called in each worker after its app is built, as gc.freeze's
    documentation advises (nothing frozen is ever freed, so not per request or per test app)."""
    gc.collect()
    gc.freeze()


def options(bind: str, workers: int) -> dict[str, Any]:
    """gunicorn's settings for serving on ``bind`` (``host:port``, or ``fd://N`` for an inherited socket)."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "keepalive": 5,
        "accesslog": None,  # the app logs each request itself, as JSON with its request id (server/logs.py)
        "errorlog": "-",
        "proc_name": "yuanxian",
    }


def run(host: str, port: int, workers: int) -> None:
    """Serve until SIGTERM or SIGINT (graceful stop); gunicorn's own log goes to stdout, beside the app's
    one JSON line per request."""
    Gunicorn(options(f"{host}:{port}", workers)).run()
