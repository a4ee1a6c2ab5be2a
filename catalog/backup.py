"""Backups of the server's database and what a restore must do after it (docs/operations.md, "Backups").

PostgreSQL: :func:`dump` runs ``pg_dump --format=custom``; :func:`restore` runs ``pg_restore --clean --if-exists
--single-transaction --exit-on-error`` (the whole restore or nothing), skipping the dump's ``CREATE EXTENSION``
entries: PostGIS is created once by a superuser and the database's owner, who restores, may not drop it.
SQLite: both go through SQLite's online backup (a write in progress is never torn).

After either restore, :func:`after_restore` starts a new sync epoch (every field kit refetches and re-sends what
the server lost, docs/sync.md), logs what bulk loaders wrote, and renumbers the restored change log so it reads
below every transaction of this cluster (a backup restored into another PostgreSQL cluster carries transaction
ids that cluster has not reached yet, and pulls would hide those rows until it did).

The connection's password never reaches a command line or the environment: it goes in a private ``passfile``
named in the connection string.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from catalog import changelog
from catalog.db import is_postgres
from catalog.errors import CatalogError
from catalog.sync_server import ServerState, new_epoch

# Debian/Ubuntu keep each major version's client tools here, beside the wrappers on PATH.
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# TOC lines of the extension itself ("EXTENSION - postgis", "COMMENT - EXTENSION postgis").
_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")


class BackupFailed(CatalogError):
    code = "backup_failed"
    zh = "备份或恢复失败"
    en = "The backup or restore failed"


@dataclass(frozen=True)
class Restored:
    epoch: str            # the new sync epoch
    logged: int           # change log rows written for records bulk loaders wrote
    renumbered: int       # change log rows renumbered below this cluster's transactions


def find_tool(name: str, bin_dir: str | None = None) -> str:
    """The path of ``pg_dump``/``pg_restore``: in ``bin_dir`` when given, else on PATH, else Debian's newest."""
    if bin_dir:
        found = shutil.which(name, path=bin_dir)
    else:
        found = shutil.which(name) or next(
            (str(p / name) for p in sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")), key=_major, reverse=True)
             if (p / name).is_file()), None)
    if not found:
        raise BackupFailed(zh=f"找不到 {name}（请安装 postgresql-client 或用 --bin-dir 指定）",
                           en=f"{name} not found (install postgresql-client or pass --bin-dir)", tool=name)
    return found


def _major(path: Path) -> int:
    version = path.parent.name
    return int(version) if version.isdigit() else 0


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@contextlib.contextmanager
def conninfo(url: str) -> Iterator[str]:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL, the password in a private passfile."""
    parsed: URL = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise BackupFailed(zh="不是 PostgreSQL 数据库地址", en="Not a PostgreSQL database URL")
    parts = {"host": parsed.host, "port": str(parsed.port) if parsed.port else None, "user": parsed.username,
             "dbname": parsed.database}
    parts.update({k: v if isinstance(v, str) else v[-1] for k, v in parsed.query.items()})
    with tempfile.TemporaryDirectory(prefix="yx-pg-") as tmp:
        if parsed.password:
            passfile = Path(tmp) / "pgpass"
            secret = str(parsed.password).replace("\\", "\\\\").replace(":", "\\:")
            passfile.touch(mode=0o600)
            passfile.write_text(f"*:*:*:*:{secret}\n", encoding="utf-8")
            parts["passfile"] = str(passfile)
        yield " ".join(f"{k}={_quote(v)}" for k, v in parts.items() if v)


def _run(args: list[str], what: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise BackupFailed(zh=f"{what}失败：{detail}", en=f"{what} failed: {detail}", detail=detail)
    return done.stdout


def dump(url: str, target: Path, bin_dir: str | None = None) -> int:
    """Back up the database at ``url`` into ``target``; returns its size in bytes. The file appears whole or
    not at all (written beside it, then renamed)."""
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    try:
        if url.startswith("sqlite"):
            _sqlite_copy(_sqlite_path(url), partial)
        else:
            with conninfo(url) as dsn:
                _run([find_tool("pg_dump", bin_dir), "--format=custom", "--no-password", f"--file={partial}",
                      f"--dbname={dsn}"], "pg_dump ")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def restore(url: str, source: Path, bin_dir: str | None = None) -> None:
    """Replace the database at ``url`` with the backup ``source``: all of it, or (on any error) nothing.
    Call :func:`after_restore` next, in a session on the restored database."""
    source = Path(source)
    if not source.is_file():
        raise BackupFailed(zh=f"备份文件不存在：{source}", en=f"No backup file {source}", file=str(source))
    if url.startswith("sqlite"):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as probe:
                probe.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupFailed(zh=f"不是 SQLite 备份：{exc}", en=f"Not a SQLite backup: {exc}") from None
        _sqlite_copy(source, _sqlite_path(url))
        return
    tool = find_tool("pg_restore", bin_dir)
    toc = _run([tool, "--list", str(source)], "pg_restore --list ")
    with tempfile.TemporaryDirectory(prefix="yx-restore-") as tmp, conninfo(url) as dsn:
        listing = Path(tmp) / "toc.list"
        listing.write_text("".join(line + "\n" for line in toc.splitlines() if not _EXTENSION_ENTRY.match(line)),
                           encoding="utf-8")
        _run([tool, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
              "--no-password", f"--use-list={listing}", f"--dbname={dsn}", str(source)], "pg_restore ")


def after_restore(session: Session) -> Restored:
    """What every restore needs before the server answers again: a new epoch (kits refetch and re-send), the
    change log complete, and its transaction ids below this cluster's. Flushes; the caller commits."""
    renumbered = 0
    if is_postgres(session.get_bind()):
        # Every restored row is committed: order them by their sequence alone, below any transaction to come.
        done = session.execute(update(changelog.ChangeLog).where(changelog.ChangeLog.xid != 0).values(xid=0))
        renumbered = int(getattr(done, "rowcount", 0) or 0)
        session.execute(update(ServerState).values(trimmed_xid=0, trimmed_seq=0))
    epoch = new_epoch(session)
    logged = changelog.backfill(session)
    return Restored(epoch, logged, renumbered)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupFailed(zh="内存数据库无法备份", en="An in-memory database has no backup")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup of ``source`` into ``target`` (pages copied under SQLite's own locking)."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
