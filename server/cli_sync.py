"""``yuanxian sync ...``: the sync epoch (part of every restore) and the change log."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from catalog.changelog import backfill
from catalog.sync_server import new_epoch, trim_log
from server.cli import cli_session, main


@main.group()
def sync() -> None:
    """外业同步 / Field-kit sync."""


@sync.command("new-epoch")
@with_appcontext
def sync_new_epoch() -> None:
    """恢复备份后执行：所有外业工具重新下载并补传 / After restoring a backup: every kit refetches and re-pushes."""
    with cli_session() as s, s.begin():
        epoch = new_epoch(s)
        logged = backfill(s)
    click.echo(f"新纪元 / new epoch: {epoch} (change log rows added: {logged})")


@sync.command("backfill")
@with_appcontext
def sync_backfill() -> None:
    """把批量导入的记录补记入变更日志 / Log records written by bulk loaders (idempotent)."""
    with cli_session() as s, s.begin():
        click.echo(f"变更日志补记 / change log rows added: {backfill(s)}")


@sync.command("trim")
@with_appcontext
def sync_trim() -> None:
    """删除超过保留期的删除记录 / Drop tombstones older than SYNC_LOG_DAYS."""
    with cli_session() as s, s.begin():
        count = trim_log(s, int(current_app.config["SYNC_LOG_DAYS"]))
    click.echo(f"已删除 / dropped: {count}")
