"""``yuanxian backup create|restore``: a backup of the database, and a restore that also starts a new sync epoch.

The restore rotates the epoch itself (``catalog.backup.after_restore``): a restored database that kept its old
epoch would let field kits believe it holds what they sent after the backup. ``yuanxian sync new-epoch`` remains
for a restore made by hand with ``pg_restore``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from catalog.backup import BackupFailed, after_restore, dump, restore
from server.cli import cli_session, main

BIN_DIR = click.option("--bin-dir", default=None, metavar="DIR",
                       help="pg_dump/pg_restore 所在目录 / folder of pg_dump and pg_restore (default: PATH, then "
                            "/usr/lib/postgresql/*/bin)")


def _fail(exc: BackupFailed) -> None:
    click.echo(f"{exc.zh}\n{exc.en}", err=True)
    raise SystemExit(1)


@main.group()
def backup() -> None:
    """备份与恢复 / Backups and restore."""


@backup.command("create")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@BIN_DIR
@with_appcontext
def backup_create(target: Path, bin_dir: str | None) -> None:
    """备份数据库（PostgreSQL：pg_dump 自定义格式；SQLite：在线备份）/ Back up the database."""
    try:
        size = dump(current_app.config["DATABASE_URL"], target, bin_dir)
    except BackupFailed as exc:
        _fail(exc)
    click.echo(f"已备份 / backed up: {target} ({size} bytes)")


@backup.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再询问 / do not ask for confirmation")
@BIN_DIR
@with_appcontext
def backup_restore(source: Path, yes: bool, bin_dir: str | None) -> None:
    """用备份替换数据库并开始新的同步纪元（先停止应用服务）/ Replace the database with a backup and start a new sync
    epoch (stop the app servers first)."""
    url = current_app.config["DATABASE_URL"]
    if not yes:
        click.confirm(f"用 {source} 替换当前数据库的全部数据？/ Replace every record of the database with {source}?",
                      abort=True)
    engine = current_app.extensions["yx_engine"]
    engine.dispose()  # this process holds no connection while the restore drops and recreates the tables
    try:
        restore(url, source, bin_dir)
    except BackupFailed as exc:
        _fail(exc)
    engine.dispose()
    with cli_session() as s, s.begin():
        done = after_restore(s)
    click.echo(f"已恢复 / restored: {source}\n新纪元 / new epoch: {done.epoch} (change log rows added: "
               f"{done.logged}, renumbered: {done.renumbered})\n"
               "外业工具下次同步时重新下载并补传 / field kits refetch and re-send at their next sync")
