"""``yuanxian report ...``: reports written from the command line (the same tables as the dashboard's export)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from catalog.coverage_export import coverage_tables, csv_bytes, write_xlsx
from catalog.errors import CatalogError
from server.cli import cli_session, main


@main.group()
def report() -> None:
    """报表 / Reports."""


@report.command("coverage")
@click.option("--scope", default="000000", show_default=True,
              help="区划代码（000000 全国、省、市、县）或站点ID / division code (000000: the country) or site id")
@click.option("--season", required=True, help="季别，如 2026-autumn_grain / season, e.g. 2026-autumn_grain")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="输出文件；CSV 每张表一个文件（文件名_表名.csv）/ output file; CSV writes one file per table")
@with_appcontext
def report_coverage(scope: str, season: str, fmt: str, output: Path | None) -> None:
    """写出范围内本季的覆盖情况、目标进度与缺口（实数；XLSX 每张表一页，CSV 为带 BOM 的 UTF-8）/ Write the coverage
    of a scope and season: figures, progress to the national targets, gaps."""
    _write(scope, season, fmt, output)


def _write(scope: str, season: str, fmt: str, output: Path | None) -> None:
    target = output or Path(f"coverage_{scope}_{season}.{fmt}")
    try:
        with cli_session() as s:
            tables = coverage_tables(s, scope, season)
    except CatalogError as e:
        details = getattr(e, "errors", None) or []
        for fe in details:
            click.echo(f"{fe.field}: {fe.zh} / {fe.en}", err=True)
        raise click.ClickException(f"{e.zh} / {e.en}") from e
    if fmt == "xlsx":
        with target.open("wb") as f:
            write_xlsx(tables, f)
        click.echo(f"已写出 / written: {target}（{len(tables)} 张表 / sheets）")
        return
    written = []
    for t in tables:
        path = target.with_name(f"{target.stem}_{t.key}.csv")
        with path.open("wb") as f:
            for chunk in csv_bytes(t):
                f.write(chunk)
        written.append(path)
    for path in written:
        click.echo(f"已写出 / written: {path}")
