"""How the field kit reaches the server: one ``request`` call, gzip both ways, retries, protocol headers.

    SyncError
    ├── Unreachable      no real answer after every retry (dropped, timed out, a captive portal's page)
    └── ServerRefused    the server answered with an error status (``status``, ``code``, ``message``)

Every sync request is idempotent (pull by cursor, push by mutation id, chunks by offset), so a transport may
repeat any request after any failure; it does so with exponential backoff and full jitter. An answer to a sync
path without ``X-Yuanxian-Sync: 1`` did not come from our server (a captive portal answers ``200`` with its
login page) and counts as a dropped connection.

``HttpTransport`` speaks HTTP with ``requests``; ``InProcessTransport`` drives a WSGI test client (Flask's
``app.test_client()``, taken duck-typed so that ``sync`` imports no web framework) for tests.
"""

from __future__ import annotations

import gzip
import json as jsonlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from sync.wire import SCHEMA

PROTOCOL = "1"
SYNC_HEADER = "X-Yuanxian-Sync"
GZIP_MIN = 256  # smaller bodies gain nothing from gzip


class SyncError(Exception):
    """Base of every sync failure."""


class Unreachable(SyncError):
    """No answer from our server after all retries."""

    def __init__(self, detail: str, attempts: int) -> None:
        super().__init__(f"server unreachable after {attempts} attempts: {detail}")
        self.detail, self.attempts = detail, attempts


class ServerRefused(SyncError):
    """Our server answered with an error status and its error body."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message_en}")
        self.status, self.code, self.message_zh, self.message_en, self.body = status, code, message_zh, message_en, body


class Dropped(Exception):
    """One attempt got no usable answer; the transport retries."""


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return jsonlib.loads(self.body.decode("utf-8")) if self.body else None

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower(), default)


class Transport(Protocol):
    """What the sync client needs of a transport."""

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None,
                data: bytes | None = None, headers: Mapping[str, str] | None = None,
                sync: bool = True) -> Reply:
        """One answer of our server, or ``Unreachable``/``ServerRefused``. ``sync``: the path is a sync path."""
        ...


@dataclass
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base·2ⁿ)) seconds."""

    base: float = 0.5
    cap: float = 30.0
    attempts: int = 6
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def wait(self, attempt: int) -> None:
        self.sleep(self.rng.uniform(0.0, min(self.cap, self.base * 2**attempt)))


def refused(status: int, body: bytes) -> ServerRefused:
    """The error of an error answer in the one JSON error shape (``{"code", "message": {"zh", "en"}}``)."""
    try:
        doc = jsonlib.loads(body.decode("utf-8")) if body else {}
    except (ValueError, UnicodeDecodeError):
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    if isinstance(doc.get("error"), dict):
        doc = doc["error"]  # the server's one error shape: {"error": {"code", "message": {"zh", "en"}, ...}}
    message: dict[str, Any] = doc["message"] if isinstance(doc.get("message"), dict) else {}
    zh = str(message.get("zh") or doc.get("message") or f"服务器拒绝了请求（{status}）")
    en = str(message.get("en") or doc.get("message") or f"the server refused the request ({status})")
    return ServerRefused(status, str(doc.get("code") or f"http_{status}"), zh, en, doc)


class BaseTransport:
    """Headers, gzip, the captive-portal check and the retry loop; subclasses implement ``_send``."""

    def __init__(self, *, token: str | None = None, schema: int = SCHEMA, backoff: Backoff | None = None) -> None:
        self.token, self.schema = token, schema
        self.backoff = backoff or Backoff()
        self.requests = 0
        self.bytes_up = 0
        self.bytes_down = 0

    def _send(self, method: str, path: str, params: Mapping[str, str] | None, body: bytes | None,
              headers: dict[str, str]) -> Reply:
        raise NotImplementedError

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None,
                data: bytes | None = None, headers: Mapping[str, str] | None = None,
                sync: bool = True) -> Reply:
        hdrs = {"X-Yuanxian-Protocol": PROTOCOL, "X-Yuanxian-Schema": str(self.schema),
                "Accept-Encoding": "gzip", **(headers or {})}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        body = data
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
            if len(body) >= GZIP_MIN:
                body = gzip.compress(body, mtime=0)
                hdrs["Content-Encoding"] = "gzip"
        last = ""
        for attempt in range(self.backoff.attempts):
            if attempt:
                self.backoff.wait(attempt - 1)
            try:
                self.requests += 1
                self.bytes_up += len(body or b"")
                reply = self._send(method, path, params, body, hdrs)
                self.bytes_down += len(reply.body)
                return self._check(reply, sync)
            except Dropped as exc:
                last = str(exc) or type(exc).__name__
        raise Unreachable(last, self.backoff.attempts)

    @staticmethod
    def _check(reply: Reply, sync: bool) -> Reply:
        if sync and reply.header(SYNC_HEADER) != PROTOCOL:
            # Not our server: a captive portal's 200 page, or a proxy's 502. Never taken as an answer.
            raise Dropped(f"answer {reply.status} without {SYNC_HEADER}")
        if not sync and reply.status < 400 and reply.body and \
                "json" not in (reply.header("Content-Type") or ""):
            raise Dropped(f"answer {reply.status} is not JSON")
        if reply.status in (502, 503, 504):
            raise Dropped(f"answer {reply.status}")
        if reply.status >= 400:
            raise refused(reply.status, reply.body)
        return reply


class HttpTransport(BaseTransport):
    """HTTP with ``requests``: explicit connect/read timeouts; every network failure is a drop to retry."""

    def __init__(self, base_url: str, *, token: str | None = None, schema: int = SCHEMA,
                 timeout: tuple[float, float] = (10.0, 60.0), backoff: Backoff | None = None) -> None:
        super().__init__(token=token, schema=schema, backoff=backoff)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # a field kit talks to its server, not to proxies from the environment

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, path: str, params: Mapping[str, str] | None, body: bytes | None,
              headers: dict[str, str]) -> Reply:
        try:
            r = self.session.request(method, self.base_url + path, params=params, data=body, headers=headers,
                                     timeout=self.timeout, allow_redirects=False)
            content = r.content  # reads the whole body here: a cut answer raises now, not later
        except requests.RequestException as exc:
            raise Dropped(type(exc).__name__) from exc
        framed = "Content-Length" in r.headers or r.headers.get("Transfer-Encoding") == "chunked"
        if method != "HEAD" and r.status_code != 204 and not framed:
            # Our server frames every answer; an answer cut inside its head loses the framing and would read
            # as complete up to the cut.
            raise Dropped("answer without a length")
        return Reply(r.status_code, dict(r.headers), content)


class WsgiClient(Protocol):
    """The part of Flask's/werkzeug's test client that ``InProcessTransport`` uses."""

    def open(self, *args: Any, **kwargs: Any) -> Any: ...


class InProcessTransport(BaseTransport):
    """The same requests through a WSGI test client: the real app in process, without sockets."""

    def __init__(self, client: WsgiClient, *, token: str | None = None, schema: int = SCHEMA,
                 backoff: Backoff | None = None) -> None:
        super().__init__(token=token, schema=schema, backoff=backoff or Backoff(attempts=1))
        self.client = client

    def _send(self, method: str, path: str, params: Mapping[str, str] | None, body: bytes | None,
              headers: dict[str, str]) -> Reply:
        r = self.client.open(path, method=method, query_string=dict(params or {}), data=body, headers=headers)
        content: bytes = r.get_data()
        hdrs = dict(r.headers)
        if hdrs.get("Content-Encoding") == "gzip" and content:
            content = gzip.decompress(content)  # requests does this for HttpTransport
        return Reply(r.status_code, hdrs, content)
