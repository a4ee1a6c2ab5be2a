"""``yuanxian field ...``: a county's existing plot and yield ledger (台账) imported from XLSX/CSV."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from rich.console import Console

from catalog.field_import import LedgerReport, import_ledger
from server.cli import cli_actor, main, print_field_errors, run_import

STATUS_NAMES = {"created": "新增", "updated": "更新", "unchanged": "未变", "skipped": "有误未导入"}


@main.group()
def field() -> None:
    """田间记录：示范地块与测产 / Field records: demo plots and yields."""


@field.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--county", default=None,
              help="县级区划代码，用于没有“县代码”列的台账 / county code for rows without one")
@click.option("--good-only", is_flag=True, help="只导入正确的行 / Import the good rows, report the bad ones.")
@click.option("--dry-run", is_flag=True, help="只检查不保存 / Check and report, save nothing.")
@with_appcontext
def field_import(file: Path, county: str | None, good_only: bool, dry_run: bool) -> None:
    """导入县里已有的地块与测产台账（XLSX/CSV）；有错误时不导入任何数据 / Import a county's plot and yield ledger.

    One sheet 台账 (else the first): one row per yield measurement, the plot's columns beside it; rows with the
    same county, season and plot name are one plot. Columns: 县代码、地块名称、季别、作物、品种、边界、坐标系、
    面积（亩）、对照田 … 测产方法、测产日期、收获面积（亩）、鲜重（kg）、含水率（%）、杂质率（%） …
    (see catalog.field_import).
    """
    console = Console()
    report = run_import(console, dry_run, lambda s: import_ledger(
        s, file.read_bytes(), file.name, actor=cli_actor(), county=county, good_only=good_only, dry_run=dry_run,
        max_rows=current_app.config["IMPORT_MAX_ROWS"], max_bytes=current_app.config["IMPORT_MAX_BYTES"]))
    _print_report(console, report)


def _print_report(console: Console, report: LedgerReport) -> None:
    print_field_errors(console, report.errors, "未导入的行 / rows not imported")
    for w in report.warnings:
        console.print(f"[yellow]第 {w.row} 行 row {w.row}: {w.zh}[/yellow] / {w.en}")
    prefix = "（试运行，未保存）/ dry run, nothing saved: " if report.dry_run else ""
    for kind, label in (("plot", "地块"), ("yield", "测产")):
        counts = "，".join(f"{STATUS_NAMES[s]} {report.count(kind, s)}" for s in STATUS_NAMES)
        click.echo(f"{prefix}{label} / {kind}s：{counts}")
    click.echo(" ".join(f"{k}_{s}={report.count(k, s)}" for k in ("plot", "yield") for s in STATUS_NAMES)
               + f" errors={len(report.errors)}")
