"""Prometheus metrics: HTTP requests, sync pushes and file uploads (served at ``/metrics`` by server.probes).

Under several gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder, emptied before each start):
prometheus_client then keeps every worker's values in files there, and ``/metrics`` adds them up.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from sync.wire import STATUSES, Answer

LABELS = ("method", "endpoint", "status")
REQUESTS = Counter("yuanxian_http_requests", "HTTP requests answered", LABELS)
LATENCY = Histogram("yuanxian_http_request_duration_seconds", "Time to answer an HTTP request", LABELS,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
PUSH_BATCHES = Counter("yuanxian_sync_push_batches", "Sync push batches answered")
MUTATIONS = Counter("yuanxian_sync_mutations", "Pushed mutations, by the server's answer", ["answer"])
CONFLICTS = Counter("yuanxian_sync_conflicts", "Conflict records made by pushes (one per field)")
REJECTED = Counter("yuanxian_sync_rejected_mutations", "Rejected mutations, by reason", ["code"])
UPLOAD_BYTES = Counter("yuanxian_sync_upload_bytes", "Bytes of photo and track files stored from sync chunks")

for _answer in STATUSES:  # every answer shows, at 0 until it happens
    MUTATIONS.labels(_answer)

UNMATCHED = "<unmatched>"  # the endpoint label of a path no route matches (404): one series, not one per path


def count_request(method: str, endpoint: str | None, status: int, seconds: float) -> None:
    labels = (method, endpoint or UNMATCHED, str(status))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(seconds)


def count_push(answers: Sequence[Answer]) -> None:
    PUSH_BATCHES.inc()
    for a in answers:
        MUTATIONS.labels(a.status).inc()
        if a.status == "conflict":
            CONFLICTS.inc(len(a.conflict_ids or ()))
        elif a.status == "rejected":
            REJECTED.labels(a.code or "unknown").inc()


def count_upload(nbytes: int) -> None:
    if nbytes > 0:
        UPLOAD_BYTES.inc(nbytes)


def exposition(multiproc_dir: str | None) -> bytes:
    """The metrics in Prometheus' text format: this process's, or every worker's when ``multiproc_dir`` is set."""
    if multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
