"""`rectify users add|token|list|passwd|role|disable|enable`, and acting as a named user (`--as NAME`).

These commands are the local operator's (whoever can run them already holds the database): a password
they set is not forced to change at the next login unless `--must-change` is given, e.g. when the
operator creates an account for someone else. The password policy applies all the same."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

import typer
from rich.table import Table
from sqlmodel import Session

from tracker import counties, users
from tracker.cli.common import console, err_console, fail, print_json
from tracker.db import get_engine, session_scope
from tracker.errors import DomainError
from tracker.models import Role, User
from tracker.textfmt import cn_datetime

users_app = typer.Typer(no_args_is_help=True, help="用户与 API 令牌")


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction; a domain error ends the command with its message and exit code 1."""
    try:
        with session_scope(get_engine()) as session:
            yield session
    except DomainError as exc:
        fail(exc.message)


@contextmanager
def acting_as(name: str) -> Iterator[tuple[Session, User]]:
    """One transaction done as the named (active) user, under the same rules as the web."""
    with unit_of_work() as session:
        yield session, users.get_user(session, name=name)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("密码", hide_input=True, confirmation_prompt=True)


class RoleOpt(str, Enum):
    county_admin = "county_admin"
    county_staff = "county_staff"
    township = "township"
    city = "city"


@users_app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="用户名"),
    role: RoleOpt = typer.Option(
        ...,
        "--role",
        help="county_admin（县级管理员）、county_staff（县级工作人员）、"
        "township（乡镇用户）或 city（市级用户，只读查看各县并管理县级管理员）",
    ),
    county: str = typer.Option(None, "--county", help="县级和乡镇用户所属的县（区），不指定为默认县；市级用户不指定"),
    township: str = typer.Option(None, "--township", help="乡镇用户所属乡镇，如 西里镇"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码（一行）"),
    must_change: bool = typer.Option(False, "--must-change", help="该用户首次登录时须先修改密码（为他人建账号时使用）"),
) -> None:
    """新建用户。"""
    password = _read_password(password_stdin)
    with unit_of_work() as session:
        user = users.create_user(
            session,
            name=name,
            role=role.value,
            password=password,
            township=township,
            county=county,
            must_change=must_change,
        )
        county_name = counties.county_name(session, user.county_id)
    where = "" if county_name is None else f"（{county_name}{township if user.township_id else ''}）"
    typer.echo(
        f"已创建用户 {user.name}：{Role.label_of(user.role)}{where}" + ("；首次登录须先修改密码" if must_change else "")
    )


@users_app.command("token")
def token_cmd(name: str = typer.Argument(..., help="用户名")) -> None:
    """生成新的 API 令牌（旧令牌随即失效），只显示这一次。"""
    with unit_of_work() as session:
        token = users.issue_token(session, name=name)
    typer.echo(token)
    err_console.print(
        f"这是用户 {name} 的新 API 令牌，只显示这一次；请求时发送 Authorization: Bearer 令牌", highlight=False
    )


@users_app.command("passwd")
def passwd_cmd(
    name: str = typer.Argument(..., help="用户名"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取新密码（一行）"),
    must_change: bool = typer.Option(False, "--must-change", help="该用户下次登录时须先修改密码"),
) -> None:
    """重设密码（同时解除锁定）；密码须符合密码策略，且不能与最近几次的密码相同。"""
    password = _read_password(password_stdin)
    with unit_of_work() as session:
        users.set_password(session, name=name, password=password, must_change=must_change)
    typer.echo(f"用户 {name} 的密码已重设" + ("；下次登录须先修改密码" if must_change else ""))


@users_app.command("role")
def role_cmd(
    name: str = typer.Argument(..., help="用户名"),
    role: RoleOpt = typer.Option(..., "--role", help="county_admin、county_staff 或 township"),
    township: str = typer.Option(None, "--township", help="改为乡镇用户时所属的乡镇"),
) -> None:
    """更改用户的角色（最后一名启用中的县级管理员不能改为其他角色）。"""
    with unit_of_work() as session:
        users.set_role(session, name=name, role=role.value, township=township)
    typer.echo(f"用户 {name} 的角色已改为{Role.label_of(role.value)}" + (f"（{township}）" if township else ""))


@users_app.command("disable")
def disable_cmd(name: str = typer.Argument(..., help="用户名")) -> None:
    """停用用户（其 API 令牌同时作废）。"""
    with unit_of_work() as session:
        users.set_active(session, name=name, active=False)
    typer.echo(f"用户 {name} 已停用")


@users_app.command("enable")
def enable_cmd(name: str = typer.Argument(..., help="用户名")) -> None:
    """重新启用用户。"""
    with unit_of_work() as session:
        users.set_active(session, name=name, active=True)
    typer.echo(f"用户 {name} 已启用")


class Fmt(str, Enum):
    table = "table"
    json = "json"


@users_app.command("list")
def list_cmd(fmt: Fmt = typer.Option(Fmt.table, "--format", help="输出格式：table（表格）或 json")) -> None:
    """列出用户。"""
    with unit_of_work() as session:
        rows = users.list_users(session)
    if fmt is Fmt.json:
        print_json(
            [u.model_dump(include={"name", "role", "county", "township", "active", "locked_until"}) for u in rows]
        )
        return
    table = Table(title=f"用户（{len(rows)} 个）")
    for col in ("用户名", "角色", "县（区）", "乡镇", "状态", "锁定至"):
        table.add_column(col)
    for u in rows:
        table.add_row(
            u.name,
            Role.label_of(u.role),
            u.county or "",
            u.township or "",
            "启用" if u.active else "停用",
            cn_datetime(u.locked_until),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
