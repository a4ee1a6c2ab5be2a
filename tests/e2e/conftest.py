"""End-to-end: servers on 127.0.0.1 over real HTTP (werkzeug ``make_server`` in a thread) and the fault proxy."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

# The kit helpers and the protocol reference server live beside the field kit's tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fieldkit"))


@pytest.fixture
def serve() -> Iterator[Callable[[Any], int]]:
    """Serves a WSGI app on 127.0.0.1 and a free port in a thread; returns the port."""
    servers: list[tuple[Any, threading.Thread]] = []

    def start(app: Any) -> int:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
        thread.start()
        servers.append((server, thread))
        return int(server.server_port)

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
