"""``yuanxian fieldkit build|show``: the field kit package the platform offers (``GET /api/fieldkit/package``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from catalog.errors import NotFound
from server.cli import main
from server.fieldkit_package import BuildFailed, build, current, folder

SOURCE = Path(__file__).resolve().parent.parent  # the source tree this server runs from (a checkout)


@main.group("fieldkit")
def fieldkit_group() -> None:
    """外业工具安装包 / The field kit package offered for download."""


@fieldkit_group.command("build")
@click.option("--source", type=click.Path(file_okay=False, path_type=Path), default=SOURCE, show_default=True,
              help="项目源代码目录 / the project's source tree")
@with_appcontext
def fieldkit_build(source: Path) -> None:
    """从源代码生成安装包并提供下载（不联网）/ Build the package from the source tree and offer it (no network)."""
    try:
        package = build(current_app.instance_path, source)
    except BuildFailed as exc:
        click.echo(f"{exc.zh}\n{exc.en}", err=True)
        raise SystemExit(1) from None
    click.echo(f"已提供 / offered: {package.filename} {package.version} sha256 {package.sha256} ({package.size} B)")


@fieldkit_group.command("show")
@with_appcontext
def fieldkit_show() -> None:
    """当前提供的安装包 / The package offered now."""
    try:
        package = current(current_app.instance_path)
    except NotFound as exc:
        click.echo(f"{exc.zh}\n{exc.en}\n({folder(current_app.instance_path)})", err=True)
        raise SystemExit(1) from None
    click.echo(f"{package.filename} {package.version} sha256 {package.sha256} ({package.size} B)")
