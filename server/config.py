"""Configuration: defaults, then the environment. The only module that reads ``os.environ``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
}

# Settings read from the environment, with what each means (documented in README; a test checks).
ENV_SETTINGS: dict[str, str] = {
    "DATABASE_URL": "SQLAlchemy URL; default sqlite:///<instance>/yuanxian.db",
    "SECRET_KEY": "secret for signing sessions; required in production",
    "YUANXIAN_INSTANCE": "instance folder (database, uploads); default ./instance",
}


def from_environment() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("DATABASE_URL", "SECRET_KEY"):
        if os.environ.get(key):
            out[key] = os.environ[key]
    return out


def instance_path() -> str:
    return os.environ.get("YUANXIAN_INSTANCE") or str(Path.cwd() / "instance")


def sqlite_url(instance: str) -> str:
    return f"sqlite:///{Path(instance) / 'yuanxian.db'}"
