"""Health, readiness and metrics, outside ``/api``.

- ``GET /healthz``: the process answers; touches nothing else.
- ``GET /readyz``: the database answers a query, its schema is at the Alembic head (or ahead of this code: a later
  release's additive migration, run before its code is rolled out), Redis answers when one is configured, and
  so does the object storage's bucket (``S3_BUCKET``); 200, or 503 in the error shape naming each failed check
  (zh and en).
- ``GET /metrics``: Prometheus text. With ``METRICS_TOKEN`` set, only with ``Authorization: Bearer <token>``;
  without, only to a request from loopback that no proxy forwarded. Others get 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import text

from catalog.migrate import ahead_of_code, schema_revisions
from server import metrics
from server.auth import NO_ACTOR
from server.db import engine
from server.errors import error_body

log = logging.getLogger(__name__)
bp = Blueprint("probes", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


def _failed(zh: str, en: str, **details: Any) -> dict[str, Any]:
    return {"ok": False, "message": {"zh": zh, "en": en}, **details}


def _database() -> dict[str, dict[str, Any]]:
    try:
        with engine().connect() as conn:
            conn.execute(text("select 1"))
            current, heads = schema_revisions(conn)
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        return {"database": _failed("数据库无法连接或查询失败", "The database does not answer a query")}
    ahead = current != heads and ahead_of_code(current)  # a rolling upgrade: the next release migrated first
    schema = {"ok": current == heads or ahead, "revision": sorted(current), "head": sorted(heads)}
    if ahead:
        schema["ahead"] = True
    if not current:
        schema.update(_failed("数据库尚未迁移：请运行 yuanxian db upgrade",
                              "The database is not migrated: run yuanxian db upgrade"))
    elif current != heads and not ahead:
        schema.update(_failed("数据库结构不是最新版本：请运行 yuanxian db upgrade",
                              "The database schema is behind the code: run yuanxian db upgrade"))
    return {"database": {"ok": True}, "schema": schema}


def redis_url() -> str | None:
    """REDIS_URL, or the limiter's storage when that is Redis (server.config puts REDIS_URL there)."""
    config = current_app.config
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    return config.get("REDIS_URL") or (storage if storage.startswith(("redis://", "rediss://")) else None)


def _redis(url: str) -> dict[str, Any]:
    try:
        import redis
    except ImportError:
        return _failed("未安装 redis 客户端（pip install redis）",
                       "The redis client is not installed (pip install redis)")
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError):
        log.warning("readiness: Redis does not answer", exc_info=True)
        return _failed("Redis 无法连接", "Redis does not answer")
    return {"ok": True}


def _storage() -> dict[str, Any]:
    from server.storage import bucket_answers

    if not bucket_answers(current_app._get_current_object()):  # type: ignore[attr-defined]
        bucket = current_app.config["S3_BUCKET"]
        return _failed(f"对象存储的存储桶 {bucket} 无法访问", f"The object storage's bucket {bucket} does not answer")
    return {"ok": True}


@bp.get("/readyz")
def readyz() -> Response:
    checks = _database()
    url = redis_url()
    if url:
        checks["redis"] = _redis(url)
    if current_app.config.get("S3_BUCKET"):
        checks["storage"] = _storage()
    failed = [name for name, check in checks.items() if not check["ok"]]
    if not failed:
        return jsonify({"status": "ready", "checks": checks})
    zh = "；".join(checks[name]["message"]["zh"] for name in failed)
    en = "; ".join(checks[name]["message"]["en"] for name in failed)
    resp = jsonify(error_body(503, "not_ready", f"服务未就绪：{zh}", f"Not ready: {en}", details={"checks": checks}))
    resp.status_code = 503
    return resp


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def metrics_allowed() -> bool:
    """With METRICS_TOKEN set, the token and nothing else; without, loopback that no proxy forwarded."""
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if token:
        given = request.headers.get("Authorization", "")
        return given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode())
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    return not forwarded and _loopback(request.remote_addr)


METRICS_FORBIDDEN = ("指标只对本机直接请求或持有指标令牌（METRICS_TOKEN）的请求开放",
                     "Metrics are served to loopback requests, or with the metrics token (METRICS_TOKEN)")


@bp.get("/metrics")
def metrics_view() -> Response:
    if not metrics_allowed():
        resp = jsonify(error_body(403, "metrics_forbidden", *METRICS_FORBIDDEN))
        resp.status_code = 403
        return resp
    body = metrics.exposition(current_app.config.get("PROMETHEUS_MULTIPROC_DIR"))
    return Response(body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8",
                                   "Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    NO_ACTOR.update({"probes.healthz", "probes.readyz", "probes.metrics_view"})
