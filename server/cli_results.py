"""``yuanxian results ...``: bulk import from XLSX/CSV, export of a result list, the import template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from catalog.errors import ValidationFailed
from catalog.result_export import (
    csv_export,
    export_ids,
    template_csv,
    write_template_xlsx,
    write_xlsx,
)
from catalog.result_import import ImportReport, import_results
from catalog.search import FACETS, SORTS, SearchQuery
from server.cli import cli_actor, cli_session, main, print_field_errors, run_import

STATUS_NAMES = {"created": "新增", "updated": "更新", "unchanged": "未变", "locked": "已锁定未改",
                "skipped": "有误未导入"}


@main.group()
def results() -> None:
    """科技成果 / Research results."""


@results.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--good-only", is_flag=True, help="只导入正确的行 / Import the good rows, report the bad ones.")
@click.option("--dry-run", is_flag=True, help="只检查不保存 / Check and report, save nothing.")
@with_appcontext
def results_import(file: Path, good_only: bool, dry_run: bool) -> None:
    """从 XLSX/CSV 导入成果；有错误时不导入任何数据 / Import results; a file with errors imports nothing.

    The template: `yuanxian results template OUT.xlsx`. Re-importing a file creates no duplicates.
    """
    console = Console()
    report = run_import(console, dry_run, lambda s: import_results(
        s, file.read_bytes(), file.name, actor=cli_actor(), good_only=good_only, dry_run=dry_run,
        max_rows=current_app.config["IMPORT_MAX_ROWS"], max_bytes=current_app.config["IMPORT_MAX_BYTES"]))
    _print_report(console, report)


def _print_report(console: Console, report: ImportReport) -> None:
    print_field_errors(console, report.errors, "未导入的行 / rows not imported")
    for w in report.warnings:
        console.print(f"[yellow]{w.zh}[/yellow] / {w.en}")
    locked = [o for o in report.outcomes if o.status == "locked"]
    if locked:
        table = Table("行 row", "成果 result", "id", title="已审核或已发布，未修改 / locked, not changed")
        for o in locked:
            table.add_row(str(o.row), o.name, o.result_id or "")
        console.print(table)
    where = f"编码 {report.encoding}" if report.encoding else f"工作表 {report.sheet}"
    prefix = "（试运行，未保存）/ dry run, nothing saved: " if report.dry_run else ""
    counts = "，".join(f"{STATUS_NAMES[s]} {report.count(s)}" for s in STATUS_NAMES)
    # One plain line, easy to read and to grep in scripts.
    click.echo(f"{prefix}{report.file}（{report.format}，{where}）{report.rows} 行：{counts}")
    click.echo(f"created={report.created} updated={report.updated} unchanged={report.unchanged} "
               f"locked={report.locked} skipped={report.skipped} errors={len(report.errors)}")


def _facet_options(fn: Any) -> Any:
    for facet in reversed(FACETS):
        fn = click.option(f"--{facet.replace('_', '-')}", facet, multiple=True,
                          help=f"筛选 {facet}（可重复或用逗号分隔）/ filter by {facet}")(fn)
    return fn


@results.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--q", default="", help="检索词 / full-text query")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@_facet_options
@with_appcontext
def results_export(out: Path, q: str, sort: str, **facets: tuple[str, ...]) -> None:
    """导出成果清单到 OUT.xlsx 或 OUT.csv（与列表相同的筛选）/ Export a result list to XLSX or CSV."""
    ext = out.suffix.lower()
    if ext not in (".xlsx", ".csv"):
        raise click.BadParameter("只能导出 .xlsx 或 .csv / OUT must end in .xlsx or .csv", param_hint="OUT")
    filters = {k: [v for raw in values for v in raw.split(",") if v] for k, values in facets.items() if values}
    query = SearchQuery(q=q, filters=filters, sort=sort, actor=cli_actor())
    console = Console()
    with cli_session() as s:
        try:
            ids = export_ids(s, query, current_app.config["EXPORT_MAX_ROWS"])
        except ValidationFailed as exc:
            console.print(f"[red]{exc.zh}[/red] / {exc.en}")
            raise SystemExit(1) from None
        with out.open("wb") as f:
            if ext == ".xlsx":
                write_xlsx(s, ids, f, cli_actor(), query)
            else:
                for chunk in csv_export(s, ids, cli_actor()):
                    f.write(chunk)
    click.echo(f"已导出 {len(ids)} 条成果 / exported {len(ids)} results → {out}")


@results.command("template")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def results_template(out: Path) -> None:
    """写出导入模板（OUT.xlsx 含填写说明和代码表，或 OUT.csv）/ Write the import template."""
    ext = out.suffix.lower()
    if ext == ".csv":
        out.write_bytes(template_csv())
    elif ext == ".xlsx":
        with cli_session() as s, out.open("wb") as f:
            write_template_xlsx(s, f)
    else:
        raise click.BadParameter("模板须为 .xlsx 或 .csv / OUT must end in .xlsx or .csv", param_hint="OUT")
    click.echo(f"模板已写出 / template written → {out}")
