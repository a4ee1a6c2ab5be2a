"""``yuanxian config check``: the settings the app would run with, checked before anyone relies on them."""

from __future__ import annotations

import click

from server import config as cfg
from server.cli import main


@main.group("config")
def config_group() -> None:
    """配置 / Configuration."""


def report(production: bool) -> bool:
    """Print one line per wrong or doubtful setting and a summary; True when nothing is wrong."""
    findings = cfg.check(production)
    for f in findings:
        click.echo(f.line(), err=f.fatal)
    errors = sum(f.fatal for f in findings)
    mode = "生产 / production" if production else "开发 / development"
    if errors:
        click.echo(f"配置有 {errors} 处错误 / {errors} setting(s) wrong ({mode})", err=True)
        return False
    click.echo(f"配置无误 / configuration OK ({mode}): {len(cfg.ENV_SETTINGS)} settings checked, "
               f"{len(findings)} warning(s); workers {cfg.workers()}")
    return True


@config_group.command("check", with_appcontext=False)
@click.option("--production", is_flag=True, help="按生产环境检查（或 YUANXIAN_ENV=production）/ check as production")
def config_check(production: bool) -> None:
    """检查环境中的每项设置 / Check every setting in the environment; exit 1 when one is wrong."""
    if not report(production or cfg.is_production()):
        raise SystemExit(1)
