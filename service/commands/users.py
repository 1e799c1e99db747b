"""``techmatch user ...`` and ``techmatch apikey ...``: accounts and API keys from the command
line. Passwords are read with a hidden prompt (twice) or from standard input, never echoed,
never logged; a new API key is printed once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.accounts import (
    AccountError,
    create_api_key,
    create_user,
    revoke_api_key,
    set_password,
)
from matching.config import Settings
from matching.store.database import Database
from matching.store.models import ApiKey, Organization, User
from matching.vocab import Role

__all__ = ["apikey_app", "user_app"]

user_app = typer.Typer(help="账号：新建、列出、停用、启用、改密码。", no_args_is_help=True)
apikey_app = typer.Typer(help="API 密钥（供机器客户端使用）。", no_args_is_help=True)

ACTOR = "cli"
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="从标准输入读取密码（一行），不提示")
]


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured store; an account error ends the command with code 1."""
    database = Database(Settings().resolved_database_url)
    database.upgrade()
    try:
        with database.session(ACTOR) as session:
            yield session
    except AccountError as error:
        typer.echo(f"失败：{error}", err=True)
        raise typer.Exit(1) from error
    finally:
        database.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    return password


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"找不到用户「{username}」")
    return user


def _time(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if hasattr(moment, "strftime") else "-"


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="用户名（3-64 个字母、数字或 _ . @ -）")],
    role: Annotated[str, typer.Option(help="角色：" + "、".join(Role))],
    organization: Annotated[
        str | None, typer.Option(help="所属单位的名称或 ID（企业、高校院所用户必填）")
    ] = None,
    expert: Annotated[str | None, typer.Option(help="专家编号或 ID（评审专家必填）")] = None,
    display_name: Annotated[str, typer.Option(help="显示名（默认为用户名）")] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account."""
    password = _read_password(password_stdin)
    with _session() as session:
        user = create_user(session, username, password, role, display_name, organization, expert)
        label = Role.labels()[user.role]
    typer.echo(f"已创建账号「{username}」（{label}）")


@user_app.command("list")
def user_list() -> None:
    """List the accounts."""
    with _session() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        names = {
            row.id: row.name for row in session.execute(select(Organization.id, Organization.name))
        }
        for user in users:
            state = "启用" if user.active else "已停用"
            organization = names.get(user.organization_id or 0, "-")
            typer.echo(
                f"{user.username}\t{Role.labels()[user.role]}\t{user.display_name}\t"
                f"{organization}\t{state}\t最近登录 {_time(user.last_login_at)}"
            )
        if not users:
            typer.echo("（还没有账号）")


def _set_active(username: str, active: bool) -> None:
    with _session() as session:
        _user(session, username).active = active
    typer.echo(f"已{'启用' if active else '停用'}账号「{username}」")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """Disable an account: it can no longer log in, and its API keys stop working."""
    _set_active(username, False)


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="用户名")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password for an account."""
    with _session() as session:
        _user(session, username)
        set_password(session, username, _read_password(password_stdin))
    typer.echo(f"已修改「{username}」的密码")


@apikey_app.command("create")
def apikey_create(
    username: Annotated[str, typer.Argument(help="密钥代表的用户")],
    name: Annotated[str, typer.Option(help="密钥用途，如 夜间同步")],
) -> None:
    """Create an API key acting as USERNAME; the key is printed once."""
    with _session() as session:
        new = create_api_key(session, username, name)
    typer.echo(f"已创建密钥「{new.name}」（前缀 {new.prefix}），请立即保存，之后无法再次查看：")
    typer.echo(new.key)


@apikey_app.command("list")
def apikey_list() -> None:
    """List the API keys (prefix, name, user, state; never the keys)."""
    with _session() as session:
        query = select(ApiKey, User.username).join(User, ApiKey.user_id == User.id)
        rows = session.execute(query.order_by(ApiKey.created_at)).all()
        for key, username in rows:
            state = f"已吊销 {_time(key.revoked_at)}" if key.revoked_at else "有效"
            typer.echo(
                f"{key.prefix}\t{key.name}\t{username}\t创建 {_time(key.created_at)}\t"
                f"最近使用 {_time(key.last_used_at)}\t{state}"
            )
        if not rows:
            typer.echo("（还没有密钥）")


@apikey_app.command("revoke")
def apikey_revoke(prefix: Annotated[str, typer.Argument(help="密钥前缀（8 位）")]) -> None:
    """Revoke an API key: it stops working at once."""
    with _session() as session:
        revoke_api_key(session, prefix)
    typer.echo(f"已吊销前缀为 {prefix} 的密钥")
