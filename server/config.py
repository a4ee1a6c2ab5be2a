"""Configuration: defaults, then the environment. The only module that reads ``os.environ``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": "dev-only-not-secret",
    "DATABASE_URL": None,  # None: sqlite file in the instance folder
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    "BABEL_DEFAULT_LOCALE": "zh",
    "API_TITLE": "yuanxian API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "PAGE_SIZE_MAX": 200,
    "IMPORT_MAX_ROWS": 20000,
    "IMPORT_MAX_BYTES": 20 * 1024 * 1024,
    "EXPORT_MAX_ROWS": 100_000,
    # Sync protocol v1 (docs/sync.md)
    "SYNC_MAX_INFLATED": 16 * 1024 * 1024,  # a push body inflates to at most this (gzip bombs answer 413)
    "SYNC_MAX_BATCH": 500,                   # mutations per push
    "SYNC_PULL_LIMIT": 500,                  # changes per pull page by default
    "SYNC_PULL_MAX": 2000,                   # ... and at most
    "SYNC_MIN_SCHEMA": 1,                    # kits below this schema answer 426 update_required
    "SYNC_LOG_DAYS": 90,                     # tombstones kept this long; older cursors refetch
    "SYNC_CHUNK_MAX": 1024 * 1024,           # bytes per file chunk (kits send 64-256 KiB)
    "SYNC_FILE_MAX": 64 * 1024 * 1024,       # bytes per photo or track
    "SYNC_FILES_DIR": None,                  # None: <instance>/files
    # Attachments in S3-compatible object storage (server.storage): used when S3_BUCKET is set
    "S3_BUCKET": None,
    "S3_PREFIX": "",                         # key prefix inside the bucket, "" or ending in "/"
    "S3_ENDPOINT_URL": None,                 # None: AWS S3; MinIO, Ceph, OSS, COS...: their URL
    "S3_REGION": None,                       # None: us-east-1
    "S3_ACCESS_KEY_ID": None,                # None: boto3's chain (AWS_ACCESS_KEY_ID..., a profile, a role)
    "S3_SECRET_ACCESS_KEY": None,
    # Observability (server.logs, server.probes, server.metrics)
    "LOG_FORMAT": "json",                    # json: one object a line; text: for development
    "LOG_LEVEL": "INFO",
    "METRICS_TOKEN": None,                   # None: /metrics from loopback only
    "PROMETHEUS_MULTIPROC_DIR": None,        # set under several workers: /metrics adds up every worker's files
}

MIN_SECRET = 32          # characters of SECRET_KEY in production
MAX_PROXIES = 5          # YUANXIAN_PROXIES: trusted proxy hops
MAX_WORKERS = 64         # YUANXIAN_WORKERS may say at most this
WORKERS_CAP = 12         # the default 2 x cores + 1 stops here
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
S3_SETTINGS = ("S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")  # S3's rules for new buckets
REGION_NAME = re.compile(r"^[a-z0-9-]{2,40}$")

# Settings read from the environment, with what each means (documented in README; a test checks).
ENV_SETTINGS: dict[str, str] = {
    "DATABASE_URL": "SQLAlchemy URL; default sqlite:///<instance>/yuanxian.db",
    "SECRET_KEY": "secret for signing sessions; required in production",
    "YUANXIAN_INSTANCE": "instance folder (database, uploads); default ./instance",
    "LOG_FORMAT": "json (default: one JSON object a log line) or text (for development)",
    "LOG_LEVEL": "DEBUG, INFO (default), WARNING or ERROR: the least a log line must be to be written",
    "METRICS_TOKEN": "set: /metrics needs this bearer token; unset: /metrics answers loopback only, never via a proxy",
    "PROMETHEUS_MULTIPROC_DIR": "an empty folder shared by the workers of one host: /metrics adds up every worker",
    "YUANXIAN_ENV": "production or development (default); production: `config check` is strict",
    "REDIS_URL": "redis:// or rediss:// URL: the sign-in limit is counted there, shared by every app server",
    "YUANXIAN_PROXIES": "how many trusted reverse proxies set X-Forwarded-For/-Proto/-Host (0-5, default 0)",
    "S3_BUCKET": "set: attachments (photos, tracks) in this S3-compatible bucket, shared by every app server; "
                 "unset: on local disk in the instance folder",
    "S3_PREFIX": "key prefix inside the bucket (e.g. yuanxian/); default none",
    "S3_ENDPOINT_URL": "the object storage's URL (MinIO, Ceph, a cloud's S3-compatible service); unset: AWS S3",
    "S3_REGION": "the bucket's region; default us-east-1",
    "S3_ACCESS_KEY_ID": "access key of the object storage; unset: boto3's chain (AWS_ACCESS_KEY_ID, a profile, a role)",
    "S3_SECRET_ACCESS_KEY": "the secret of S3_ACCESS_KEY_ID",
    "YUANXIAN_WORKERS": f"gunicorn workers of `serve --production` (1-{MAX_WORKERS}); default 2 x cores + 1, "
                        f"at most {WORKERS_CAP}",
}


def from_environment() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("DATABASE_URL", "SECRET_KEY"):
        if os.environ.get(key):
            out[key] = os.environ[key]
    for key in ("LOG_FORMAT", "LOG_LEVEL", "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR"):
        if os.environ.get(key):
            out[key] = os.environ[key]
    if os.environ.get("REDIS_URL"):
        out["REDIS_URL"] = out["RATELIMIT_STORAGE_URI"] = os.environ["REDIS_URL"]
    out.update(s3_settings())
    proxies = _int_setting("YUANXIAN_PROXIES", 0, MAX_PROXIES)
    if isinstance(proxies, int):
        out["PROXIES"] = proxies
    return out


def s3_settings() -> dict[str, str]:
    """The S3_* settings that are set (S3_PREFIX made to end in "/")."""
    out = {key: os.environ[key].strip() for key in S3_SETTINGS if os.environ.get(key, "").strip()}
    if out.get("S3_PREFIX") and not out["S3_PREFIX"].endswith("/"):
        out["S3_PREFIX"] += "/"
    return out


def is_production() -> bool:
    return os.environ.get("YUANXIAN_ENV", "").strip().lower() == "production"


def workers() -> int:
    """gunicorn workers: YUANXIAN_WORKERS, else 2 x cores + 1 (at most WORKERS_CAP)."""
    n = _int_setting("YUANXIAN_WORKERS", 1, MAX_WORKERS)
    return n if isinstance(n, int) else min(2 * (os.cpu_count() or 1) + 1, WORKERS_CAP)


def _int_setting(name: str, low: int, high: int) -> int | str | None:
    """The setting as an int in [low, high]; None when unset; the raw text when it is not such an int."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        return raw
    return value if low <= value <= high else raw


@dataclass(frozen=True)
class Finding:
    """One wrong (``fatal``) or doubtful setting, said in both languages."""

    setting: str
    zh: str
    en: str
    fatal: bool = True

    def line(self) -> str:
        mark = "错误 / error" if self.fatal else "注意 / warning"
        return f"[{mark}] {self.setting}: {self.zh} / {self.en}"


def check(production: bool | None = None) -> list[Finding]:
    """Every wrong or doubtful setting of the environment the app would run with; production is strict."""
    if production is None:
        production = is_production()
    env = os.environ
    out: list[Finding] = []

    def bad(setting: str, zh: str, en: str, fatal: bool = True) -> None:
        out.append(Finding(setting, zh, en, fatal))

    mode = env.get("YUANXIAN_ENV", "").strip().lower()
    if mode not in ("", "production", "development"):
        bad("YUANXIAN_ENV", f"应为 production 或 development，而不是 {mode!r}",
            f"must be production or development, not {mode!r}")

    url = env.get("DATABASE_URL", "").strip()
    if url:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            driver = make_url(url).drivername
        except (ArgumentError, ValueError):
            driver = None
            bad("DATABASE_URL", "不是可解析的数据库地址（例：postgresql+psycopg://用户:密码@主机/库）",
                "is not a parseable database URL (e.g. postgresql+psycopg://user:pass@host/db)")
        if driver is not None and driver not in DATABASE_DRIVERS:
            bad("DATABASE_URL", f"不支持的驱动 {driver}：请用 sqlite 或 postgresql+psycopg",
                f"unsupported driver {driver}: use sqlite or postgresql+psycopg")
        if production and driver in ("sqlite", "sqlite+pysqlite"):
            bad("DATABASE_URL", "生产环境应使用 PostgreSQL/PostGIS；SQLite 只适合单机",
                "production expects PostgreSQL/PostGIS; SQLite suits one machine only", fatal=False)
    elif production:
        bad("DATABASE_URL", "未设置：将使用实例目录中的 SQLite 文件；生产环境应使用 PostgreSQL/PostGIS",
            "not set: a SQLite file in the instance folder is used; production expects PostgreSQL/PostGIS",
            fatal=False)

    secret = env.get("SECRET_KEY", "")
    if production and not secret:
        bad("SECRET_KEY", "生产环境必须设置（例：python3 -c 'import secrets; print(secrets.token_hex(32))'）",
            "required in production (e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')")
    elif production and secret == DEFAULTS["SECRET_KEY"]:
        bad("SECRET_KEY", "不能使用开发默认值", "must not be the development default")
    elif production and len(secret) < MIN_SECRET:
        bad("SECRET_KEY", f"太短：至少 {MIN_SECRET} 个字符，现为 {len(secret)}",
            f"too short: at least {MIN_SECRET} characters, not {len(secret)}")

    instance = Path(instance_path())
    if instance.exists() and not instance.is_dir():
        bad("YUANXIAN_INSTANCE", f"{instance} 不是目录", f"{instance} is not a folder")
    elif instance.is_dir() and not os.access(instance, os.W_OK):
        bad("YUANXIAN_INSTANCE", f"{instance} 不可写", f"{instance} is not writable")

    redis = env.get("REDIS_URL", "").strip()
    if redis:
        parts = urlsplit(redis)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            bad("REDIS_URL", "应为 redis://主机:端口/库 或 rediss://...", "must be redis://host:port/db or rediss://...")
    elif production and workers() > 1:
        bad("REDIS_URL", "未设置：登录失败次数按每个进程分别计数，多个进程或服务器时限制变松",
            "not set: failed sign-ins are counted per process, so several workers or servers loosen the limit",
            fatal=False)

    out.extend(check_s3())

    for name, low, high in (("YUANXIAN_PROXIES", 0, MAX_PROXIES), ("YUANXIAN_WORKERS", 1, MAX_WORKERS)):
        if isinstance(_int_setting(name, low, high), str):
            bad(name, f"应为 {low} 到 {high} 之间的整数，而不是 {env[name].strip()!r}",
                f"must be a whole number from {low} to {high}, not {env[name].strip()!r}")

    fmt = env.get("LOG_FORMAT", "").strip().lower()
    if fmt and fmt not in ("json", "text"):
        bad("LOG_FORMAT", f"应为 json 或 text，而不是 {fmt!r}", f"must be json or text, not {fmt!r}")
    level = env.get("LOG_LEVEL", "").strip().upper()
    if level and level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        bad("LOG_LEVEL", f"应为 DEBUG、INFO、WARNING 或 ERROR，而不是 {level!r}",
            f"must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    multiproc = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if multiproc and not (os.path.isdir(multiproc) and os.access(multiproc, os.W_OK)):
        bad("PROMETHEUS_MULTIPROC_DIR", f"{multiproc} 不是可写的目录", f"{multiproc} is not a writable folder")
    elif not multiproc and production and workers() > 1:
        bad("PROMETHEUS_MULTIPROC_DIR", "未设置：多个工作进程时 /metrics 只显示答复它的那个进程",
            "not set: with several workers /metrics shows only the worker that answers it", fatal=False)
    return out


def check_s3() -> list[Finding]:
    """The S3_* settings: well formed, complete, and (when they are) the bucket answers and takes an object."""
    s3 = s3_settings()
    out: list[Finding] = []

    def bad(setting: str, zh: str, en: str) -> None:
        out.append(Finding(setting, zh, en))

    bucket = s3.get("S3_BUCKET")
    if not bucket:
        for name in sorted(set(s3) - {"S3_BUCKET"}):
            bad(name, "已设置但 S3_BUCKET 未设置：附件仍存于本地磁盘",
                "set, but S3_BUCKET is not: attachments stay on local disk")
        return out
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        bad("S3_BUCKET", f"{bucket!r} 不是有效的存储桶名（3–63 个小写字母、数字、点或连字符）",
            f"{bucket!r} is not a valid bucket name (3-63 lowercase letters, digits, dots or hyphens)")
    prefix = s3.get("S3_PREFIX", "")
    if prefix.startswith("/") or ".." in prefix or len(prefix) > 200 or any(ord(c) < 32 for c in prefix):
        bad("S3_PREFIX", f"{prefix!r} 不能以 / 开头、不能含 .. 或控制字符，至多 200 个字符",
            f"{prefix!r} must not start with /, hold .. or control characters, and has at most 200 characters")
    endpoint = s3.get("S3_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            bad("S3_ENDPOINT_URL", f"{endpoint!r} 应为 http(s)://主机[:端口]", f"{endpoint!r} must be http(s)://host[:port]")
    region = s3.get("S3_REGION")
    if region and not REGION_NAME.match(region):
        bad("S3_REGION", f"{region!r} 不是区域名（例：cn-north-1）",
            f"{region!r} is not a region name (e.g. cn-north-1)")
    if bool(s3.get("S3_ACCESS_KEY_ID")) != bool(s3.get("S3_SECRET_ACCESS_KEY")):
        missing = "S3_SECRET_ACCESS_KEY" if s3.get("S3_ACCESS_KEY_ID") else "S3_ACCESS_KEY_ID"
        bad(missing, "与另一项凭据须同时设置", "must be set together with the other half of the credentials")
    if not out:  # well formed: ask the bucket itself
        from server.storage import probe

        for setting, zh, en in probe(s3):
            bad(setting, zh, en)
    return out


def instance_path() -> str:
    return os.environ.get("YUANXIAN_INSTANCE") or str(Path.cwd() / "instance")


def sqlite_url(instance: str) -> str:
    return f"sqlite:///{Path(instance) / 'yuanxian.db'}"
