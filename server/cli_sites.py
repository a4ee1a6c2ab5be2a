"""``yuanxian sites ...``: the site lists (parks, innovation counties, key counties) and their completion."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from catalog.site_import import ImportReport, import_sites
from catalog.sites import SiteList, list_counts
from server.cli import cli_session, main, print_field_errors, run_import


@main.group()
def sites() -> None:
    """园区与县名单 / Site lists."""


@sites.command("lists")
@with_appcontext
def sites_lists() -> None:
    """列出名单及完整度 / Show the lists and how complete they are."""
    with cli_session() as s:
        counts = list_counts(s)
        table = Table("id", "名单 / list", "已知 / known", "应有 / expected", "完整 / complete")
        for sl in s.scalars(select(SiteList).order_by(SiteList.id)):
            n, active = counts.get(sl.id, (0, 0))
            known = f"{n}" if n == active else f"{n} ({active} active)"
            table.add_row(sl.id, sl.name_zh, known, str(sl.expected_count or "–"), "是 yes" if sl.complete else "否 no")
    Console().print(table)


@sites.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_id", required=True, help="名单 id, e.g. IC1, IC2, KC (see `yuanxian sites lists`).")
@click.option("--good-only", is_flag=True, help="只导入无误的行 / Import the good rows, report the bad ones.")
@click.option("--dry-run", is_flag=True, help="只检查不保存 / Check and report, save nothing.")
@with_appcontext
def sites_import(file: Path, list_id: str, good_only: bool, dry_run: bool) -> None:
    """从官方名单文件（CSV/XLSX）补全县名单 / Complete a county list from an official CSV or XLSX file.

    Columns: 省份/province and 县名/name; optional 地市/prefecture (to tell apart same-named counties) and
    批次/batch. A file with bad rows imports nothing unless --good-only.
    """
    console = Console()
    report = run_import(console, dry_run, lambda s: import_sites(s, file, list_id, good_only=good_only))
    _print_report(console, report, dry_run)


def _print_report(console: Console, report: ImportReport, dry_run: bool) -> None:
    table = Table("行 row", "文件中 given", "代码 code", "县 county", "匹配 matched by", "结果 action",
                  title=f"{report.list_id}: {report.rows} 行 / rows")
    for r in report.imported:
        table.add_row(str(r.row), r.given, r.code, r.name, r.how, r.action)
    console.print(table)
    print_field_errors(console, report.errors)
    prefix = "（试运行，未保存）/ (dry run, nothing saved) " if dry_run else ""
    console.print(
        f"{prefix}新增 created {report.count('created')}, 更新 updated {report.count('updated')}, "
        f"未变 unchanged {report.count('unchanged')}, 重复 duplicate rows {report.count('duplicate')}, "
        f"有误 bad rows {len(report.errors)}; 名单现有 list now holds {report.list_count}"
        + ("，已完整 / complete" if report.list_complete else "")
    )
