"""``yuanxian``: the server's command line (database, reference data, imports, demo data, serve)."""

from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import Session

from catalog.access import Actor, operator
from catalog.audit import act_as
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


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """启动网页与接口服务 / Serve the pages and the API."""
    from werkzeug.serving import run_simple

    click.echo(f"yuanxian 已启动 / serving on http://{host}:{port}/")
    # run_simple, not app.run: Flask ignores app.run() inside its own CLI.
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)  # type: ignore[attr-defined]


# Each module registers its commands on ``main``; imported last because they import ``main`` from here.
from server import (  # noqa: E402
    cli_field,  # noqa: F401
    cli_results,  # noqa: F401
    cli_seed,  # noqa: F401
    cli_sites,  # noqa: F401
    cli_sync,  # noqa: F401
    cli_users,  # noqa: F401
)
