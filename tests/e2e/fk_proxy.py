"""A fault-injecting TCP proxy for HTTP/1.1, one request per connection, in threads.

Faults (chosen per connection by a seeded ``random.Random`` with the given weights):

- ``drop_before``: close the client's connection without forwarding the request;
- ``drop_after``: forward the request, read the server's whole answer (the server has committed), then close
  the client's connection without sending any of it;
- ``drop_mid``: forward, then send only part of the answer and close;
- ``delay``: wait ``delay_s`` before forwarding;
- ``captive``: answer ``200 OK`` with an HTML login page, as a captive portal does.

Given several upstream ports it is also a round-robin load balancer: each connection goes to the next one in
turn (``upstreams`` counts the requests each one got).
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence

FAULTS = ("drop_before", "drop_after", "drop_mid", "delay", "captive")
PORTAL = (b"<html><head><title>\xe7\x99\xbb\xe5\xbd\x95 WiFi</title></head><body>\xe8\xaf\xb7\xe7\x99\xbb\xe5\xbd\x95"
          b"</body></html>")


def _read_request(conn: socket.socket) -> bytes | None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    lines = head.split(b"\r\n")
    kept = [lines[0]]
    for line in lines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"content-length":
            length = int(line.split(b":", 1)[1])
        if name not in (b"connection", b"keep-alive"):
            kept.append(line)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    kept.append(b"Connection: close")
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def _closing(answer: bytes) -> bytes:
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if ln.split(b":", 1)[0].strip().lower() != b"connection"]
    return b"\r\n".join([*lines, b"Connection: close"]) + sep + body


class FaultProxy:
    def __init__(self, target_port: int | Sequence[int], *, seed: int = 0, rate: float = 0.0,
                 delay_s: float = 0.05, faults: tuple[str, ...] = FAULTS) -> None:
        self.targets = [target_port] if isinstance(target_port, int) else list(target_port)
        self.rate, self.delay_s, self.faults = rate, delay_s, faults
        self.upstreams: Counter[int] = Counter()
        self._turn = 0
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = False
        self.thread = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        self.thread.join(timeout=5)

    def _pick(self) -> str | None:
        with self.lock:
            fault = self.rng.choice(self.faults) if self.rng.random() < self.rate else None
            self.seen[fault or "none"] += 1
            return fault

    def _next_upstream(self) -> int:
        with self.lock:
            port = self.targets[self._turn % len(self.targets)]
            self._turn += 1
            self.upstreams[port] += 1
            return port

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = _read_request(conn)
                if request is None:
                    return
                fault = self._pick()
                if fault == "drop_before":
                    return
                if fault == "captive":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(PORTAL) + PORTAL)
                    return
                if fault == "delay":
                    time.sleep(self.delay_s)
                with socket.create_connection(("127.0.0.1", self._next_upstream()), timeout=30) as up:
                    up.sendall(request)
                    parts = []
                    while chunk := up.recv(65536):
                        parts.append(chunk)
                answer = _closing(b"".join(parts))
                if fault == "drop_after":
                    return
                if fault == "drop_mid":
                    conn.sendall(answer[: max(1, len(answer) // 2)])
                    return
                conn.sendall(answer)
            except OSError:
                return
