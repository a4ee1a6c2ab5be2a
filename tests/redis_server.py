"""Redis at 127.0.0.1:6379 for the tests that share limits through it: started when none answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def own_db(first: int = 13) -> int:
    """A Redis database number for tests that flush theirs: ``first`` when run serially or on pytest-xdist's
    first worker, one lower on each further worker (gw1 → 12, ...), so one worker's flush clears no other's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker.removeprefix("gw"))
    if n >= first:
        pytest.fail(f"worker {worker}: no Redis database left below {first} (run fewer workers)")
    return first - n


def ensure_redis(url: str = REDIS_URL):  # type: ignore[no-untyped-def]
    """A client of ``url``, after starting ``redis-server`` on 6379 if nothing answers (skip only when it is not
    installed: CI installs it and .ci/run starts it)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        server = shutil.which("redis-server")
        if server is None:
            client.close()
            pytest.skip("redis-server is not installed and no Redis answers at 127.0.0.1:6379")
        subprocess.run([server, "--daemonize", "yes", "--port", "6379", "--save", "", "--appendonly", "no"],
                       check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
                time.sleep(0.2)
    return client
