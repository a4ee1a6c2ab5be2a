"""``yuanxian``: the server's command line (database, reference data, imports, demo data, serve)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TypeVar

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from catalog.access import Actor, operator
from catalog.audit import act_as
from catalog.errors import FieldError, ValidationFailed
from server import create_app


def _create_app():  # type: ignore[no-untyped-def]
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """yuanxian 科技计划成果进园入县 平台命令行 / platform command line."""


def cli_actor() -> Actor:
    """Who runs this command, as recorded in the audit log."""
    return operator(f"cli:{getpass.getuser()}")


def cli_session() -> Session:
    """A session for one command, writing as the operator; the command commits at its edge."""
    return act_as(Session(current_app.extensions["yx_engine"]), cli_actor())


R = TypeVar("R")


def print_field_errors(console: Console, errors: list[FieldError], title: str = "有误的行 / bad rows") -> None:
    """Every refused row and field, as lines: the zh and en reasons are long and must never be cut off."""
    if errors:
        console.print(f"[bold red]{title}: {len(errors)}[/bold red]")
    for e in errors:
        where = f"第 {e.row} 行 / row {e.row}" if e.row else "文件 / file"
        value = f" · {escape(str(e.value))}" if e.value is not None else ""
        console.print(f"{where} · {e.field} · {e.code}{value}", highlight=False)
        console.print(f"    {escape(e.zh)}\n    {escape(e.en)}", highlight=False)


def run_import(console: Console, dry_run: bool, do: Callable[[Session], R]) -> R:
    """Run one import in a command session: commit it (roll back a dry run), or print every refused row and
    exit 1 when the importer refused the file — nothing is then written."""
    with cli_session() as s:
        try:
            report = do(s)
        except ValidationFailed as exc:
            s.rollback()
            print_field_errors(console, exc.errors)
            console.print(f"[red]{escape(exc.zh)}[/red] / {escape(exc.en)}")
            raise SystemExit(1) from None
        if dry_run:
            s.rollback()
        else:
            s.commit()
    return report


@main.group()
def db() -> None:
    """数据库 / Database."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """迁移到最新结构并载入参考数据 / Migrate to the newest schema and load reference data."""
    from catalog.migrate import upgrade
    from catalog.reference import load_reference

    upgrade(current_app.config["DATABASE_URL"])
    with cli_session() as s, s.begin():
        counts = load_reference(s)
    click.echo("数据库已就绪 / database ready: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@main.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--production", is_flag=True,
              help="gunicorn 多进程，先检查配置 / gunicorn workers, after `config check --production`")
def serve(host: str, port: int, production: bool) -> None:
    """启动网页与接口服务 / Serve the pages and the API."""
    if production:
        from server import config as cfg
        from server import production as prod
        from server.cli_config import report

        if not report(production=True):
            click.echo("配置有误，不启动 / configuration wrong: not starting", err=True)
            raise SystemExit(1)
        click.echo(f"yuanxian 生产服务 / serving on http://{host}:{port}/ with {cfg.workers()} gunicorn workers")
        prod.run(host, port, cfg.workers())
        return
    from werkzeug.serving import run_simple

    app = _create_app()
    click.echo(f"yuanxian 已启动 / serving on http://{host}:{port}/")
    # run_simple, not app.run: Flask ignores app.run() inside its own CLI.
    run_simple(host, port, app, threaded=True, use_reloader=False)


# Each module registers its commands on ``main``; imported last because they import ``main`` from here.
from server import (  # noqa: E402
    cli_backup,  # noqa: F401
    cli_classify,  # noqa: F401
    cli_config,  # noqa: F401
    cli_field,  # noqa: F401
    cli_fieldkit,  # noqa: F401
    cli_report,  # noqa: F401
    cli_results,  # noqa: F401
    cli_seed,  # noqa: F401
    cli_sites,  # noqa: F401
    cli_sync,  # noqa: F401
    cli_users,  # noqa: F401
)
