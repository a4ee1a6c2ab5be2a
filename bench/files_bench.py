"""Attachment uploads: the local-disk store against the S3 store (on moto's S3-compatible server, started here).

Each file is sent as the kits send it, in 128 KiB chunks, alternating between two stores (two app servers, each
with its own client), as a round-robin proxy would. Per store: time per chunk (median and p95, and of the last
chunks of the largest file: the S3 store lists an upload's chunks at every chunk), the completing chunk (hash and
composition into the final object), and MiB/s overall. The S3 figures are moto's, in the same process tree on
loopback: a real bucket adds the network's round trips (3 requests a chunk: HEAD, LIST, PUT).

Prints a table and, as its last line, one JSON object:
``{"local": {"chunk_p50_ms", "chunk_p95_ms", "tail_chunk_ms", "finish_ms", "mib_s"}, "s3": {...}, "sizes_mib": [...]}``.
``--quick`` sends two small files in seconds; the full run sends 1, 4 and 16 MiB files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.files import LocalFileStore  # noqa: E402
from catalog.files_s3 import S3FileStore  # noqa: E402
from server.storage import s3_client  # noqa: E402

CHUNK = 128 * 1024
MAX = 64 * 1024 * 1024


def _moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.2)


def _upload(stores: list[Any], data: bytes) -> tuple[list[float], float]:
    sha = hashlib.sha256(data).hexdigest()
    offset, n, times = 0, 0, []
    while True:
        t0 = time.perf_counter()
        state = stores[n % 2].put(sha, offset, data[offset:offset + CHUNK], len(data))
        times.append(time.perf_counter() - t0)
        n += 1
        if state.complete:
            break
        offset = state.offset
    assert stores[n % 2].state(sha).complete
    return times[:-1], times[-1]


def _run(stores: list[Any], sizes: list[int]) -> dict[str, float]:
    chunk_times: list[float] = []
    finishes: list[float] = []
    tail: list[float] = []
    total_bytes, t0 = 0, time.perf_counter()
    for size in sizes:
        data = os.urandom(size)
        times, finish = _upload(stores, data)
        chunk_times += times
        finishes.append(finish)
        total_bytes += size
        if size == max(sizes):
            tail = times[-10:]
    elapsed = time.perf_counter() - t0
    q = statistics.quantiles(chunk_times, n=20) if len(chunk_times) >= 2 else chunk_times * 19
    return {"chunk_p50_ms": round(statistics.median(chunk_times) * 1000, 2), "chunk_p95_ms": round(q[18] * 1000, 2),
            "tail_chunk_ms": round(statistics.median(tail or chunk_times) * 1000, 2),
            "finish_ms": round(max(finishes) * 1000, 1), "mib_s": round(total_bytes / elapsed / 2**20, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small files, seconds")
    args = parser.parse_args()
    sizes = [300 * 1024, 1024 * 1024] if args.quick else [1 << 20, 4 << 20, 16 << 20]
    out: dict[str, Any] = {"sizes_mib": [round(s / 2**20, 2) for s in sizes]}
    with tempfile.TemporaryDirectory() as tmp:
        out["local"] = _run([LocalFileStore(Path(tmp), MAX), LocalFileStore(Path(tmp), MAX)], sizes)
    proc, url = _moto()
    try:
        settings = {"S3_ENDPOINT_URL": url, "S3_BUCKET": f"bench-{uuid.uuid4().hex[:8]}", "S3_REGION": "us-east-1",
                    "S3_ACCESS_KEY_ID": "bench", "S3_SECRET_ACCESS_KEY": "bench"}
        clients = [s3_client(settings) for _ in range(2)]
        clients[0].create_bucket(Bucket=settings["S3_BUCKET"])
        out["s3"] = _run([S3FileStore(c, settings["S3_BUCKET"], "bench/", MAX) for c in clients], sizes)
        for c in clients:
            c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"files of {', '.join(f'{s} MiB' for s in out['sizes_mib'])} in {CHUNK // 1024} KiB chunks, "
          "alternating between two stores")
    print(f"{'store':<8}{'chunk p50 ms':>14}{'chunk p95 ms':>14}{'last chunks ms':>16}{'finish ms':>11}{'MiB/s':>8}")
    for name in ("local", "s3"):
        r = out[name]
        print(f"{name:<8}{r['chunk_p50_ms']:>14}{r['chunk_p95_ms']:>14}{r['tail_chunk_ms']:>16}{r['finish_ms']:>11}"
              f"{r['mib_s']:>8}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
