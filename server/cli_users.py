"""``yuanxian users ...``: accounts at the server's command line (the operator may grant any role anywhere).

Roles are written ``ROLE[:SCOPE]``: ``ministry_officer``, ``province_officer:410000``, ``agent:410184``,
``park_manager:NASTP014``, ``result_holder:河南省农业科学院``, ``reviewer`` (nationwide) or ``reviewer:410000``.
Passwords are best given on standard input (``--password-stdin``) or at the prompt, not in the shell history.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.account_rules import create_account, parse_grant, reset_password, update_account
from catalog.accounts import ROLE_NAMES, ROLES, Token, User, get_user, grants_of, revoke_token, tokens_of
from catalog.errors import CatalogError, NotFound, ValidationFailed
from server.cli import cli_actor, cli_session, main


@main.group()
def users() -> None:
    """账号与设备 / Accounts and devices."""


@contextmanager
def _writing() -> Iterator[Session]:
    """One transaction for the command; a domain error is printed in both languages and exits with 1."""
    try:
        with cli_session() as s, s.begin():
            yield s
    except CatalogError as exc:
        lines = [f"{exc.zh} / {exc.en}"]
        if isinstance(exc, ValidationFailed):
            lines += [f"  {e.field}: {e.zh} / {e.en}" for e in exc.errors]
        raise click.ClickException("\n".join(lines)) from None


def _password(given: str | None, from_stdin: bool) -> str:
    if given and from_stdin:
        raise click.UsageError("--password 与 --password-stdin 只能选一个 / use one of --password, --password-stdin")
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if given:
        return given
    return str(click.prompt("密码 / password", hide_input=True, confirmation_prompt=True))


def _role_option(value: tuple[str, ...]) -> list[tuple[str, str | None]]:
    grants = [parse_grant(v) for v in value]
    unknown = [r for r, _ in grants if r not in ROLES]
    if unknown:
        raise click.BadParameter(f"未知角色 / unknown role: {', '.join(unknown)} (choose from {', '.join(ROLES)})")
    return grants


def _grant_text(role: str, scope: str | None) -> str:
    return f"{role}:{scope}" if scope else role


password_options: list[Callable[[Callable[..., None]], Callable[..., None]]] = [
    click.option("--password", help="密码（会留在命令历史中）/ the password (stays in the shell history)"),
    click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 / read the password from standard input"),
]


def _with_password(f: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(password_options):
        f = option(f)
    return f


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, metavar="ROLE[:SCOPE]",
              help="角色及范围，可重复 / a role and its scope; repeatable")
@click.option("--display-name", default="", help="姓名或单位 / the name shown")
@_with_password
@with_appcontext
def users_create(username: str, roles: tuple[str, ...], display_name: str, password: str | None,
                 password_stdin: bool) -> None:
    """新建账号 / Create an account."""
    grants = _role_option(roles)
    secret = _password(password, password_stdin)
    with _writing() as s:
        user = create_account(s, cli_actor(), username, secret, display_name, grants)
        summary = ", ".join(_grant_text(r, sc) for r, sc in grants_of(user))
    click.echo(f"已创建 / created: {username} ({summary})")


@users.command("list")
@click.option("--role", type=click.Choice(list(ROLES)), help="只列出此角色 / only this role")
@click.option("--all", "show_all", is_flag=True, help="包括已停用的账号 / include disabled accounts")
@with_appcontext
def users_list(role: str | None, show_all: bool) -> None:
    """列出账号 / List the accounts."""
    with cli_session() as s:
        query = select(User).order_by(User.username)
        if not show_all:
            query = query.where(User.active.is_(True))
        rows = [u for u in s.scalars(query) if role is None or any(g.role == role for g in u.roles)]
        click.echo("用户名 / username\t姓名 / name\t状态 / state\t角色 / roles")
        for u in rows:
            state = "启用 active" if u.active else "停用 disabled"
            grants = ", ".join(f"{_grant_text(r, sc)}（{ROLE_NAMES[r][0]}）" for r, sc in grants_of(u))
            click.echo(f"{u.username}\t{u.display_name}\t{state}\t{grants}")
    click.echo(f"共 {len(rows)} 个账号 / {len(rows)} accounts")


def _set_active(username: str, active: bool) -> None:
    with _writing() as s:
        update_account(s, cli_actor(), get_user(s, username), active=active)
    click.echo(f"{'已启用 / enabled' if active else '已停用 / disabled'}: {username}")


@users.command("disable")
@click.argument("username")
@with_appcontext
def users_disable(username: str) -> None:
    """停用账号（其会话与令牌随即失效）/ Disable an account (its sessions and tokens stop working)."""
    _set_active(username, False)


@users.command("enable")
@click.argument("username")
@with_appcontext
def users_enable(username: str) -> None:
    """启用账号 / Enable an account."""
    _set_active(username, True)


@users.command("reset-password")
@click.argument("username")
@_with_password
@with_appcontext
def users_reset_password(username: str, password: str | None, password_stdin: bool) -> None:
    """重置密码（其网页会话随即失效）/ Set a new password (the account's web sessions end)."""
    secret = _password(password, password_stdin)
    with _writing() as s:
        reset_password(s, cli_actor(), get_user(s, username), secret)
    click.echo(f"密码已重置 / password reset: {username}")


@users.command("grant-role")
@click.argument("username")
@click.argument("role", metavar="ROLE[:SCOPE]")
@with_appcontext
def users_grant_role(username: str, role: str) -> None:
    """授予角色 / Grant a role."""
    (grant,) = _role_option((role,))
    with _writing() as s:
        user = get_user(s, username)
        update_account(s, cli_actor(), user, grants=[*grants_of(user), grant])
    click.echo(f"已授予 / granted: {username} {_grant_text(*grant)}")


@users.command("revoke-role")
@click.argument("username")
@click.argument("role", metavar="ROLE[:SCOPE]")
@with_appcontext
def users_revoke_role(username: str, role: str) -> None:
    """收回角色 / Take a role away."""
    (grant,) = _role_option((role,))
    with _writing() as s:
        user = get_user(s, username)
        if grant not in grants_of(user):
            raise NotFound(en=f"{username} does not hold {_grant_text(*grant)}",
                           zh=f"{username} 没有角色 {_grant_text(*grant)}")
        update_account(s, cli_actor(), user, grants=[g for g in grants_of(user) if g != grant])
    click.echo(f"已收回 / revoked: {username} {_grant_text(*grant)}")


@users.command("tokens")
@click.argument("username")
@with_appcontext
def users_tokens(username: str) -> None:
    """列出账号的设备与接口令牌 / List an account's devices and API tokens."""
    with cli_session() as s:
        user = get_user(s, username)
        click.echo("id\t类型 / kind\t名称 / name\t状态 / state")
        for kind in ("device", "api"):
            for t in tokens_of(s, user, kind):
                state = f"已撤销 revoked by {t.revoked_by}" if t.revoked_at else "有效 live"
                click.echo(f"{t.id}\t{t.kind}\t{t.name}\t{state}")


@users.command("revoke-token")
@click.argument("token_id")
@with_appcontext
def users_revoke_token(token_id: str) -> None:
    """撤销设备或接口令牌 / Revoke a device or API token."""
    actor = cli_actor()
    with _writing() as s:
        token = s.get(Token, token_id)
        if token is None:
            raise NotFound(en=f"No device or token {token_id}", zh="设备或令牌不存在")
        revoke_token(token, actor.name)
    click.echo(f"已撤销 / revoked: {token_id}")
