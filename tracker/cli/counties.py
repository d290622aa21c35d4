"""`rectify counties list|add|rename`: the counties of the installation (one, the default, unless added)."""

from __future__ import annotations

from enum import Enum

import typer
from rich.table import Table

from tracker import counties
from tracker.cli.common import console, print_json
from tracker.cli.users import unit_of_work

counties_app = typer.Typer(no_args_is_help=True, help="县（区）：列出、添加、改名")


class Fmt(str, Enum):
    table = "table"
    json = "json"


@counties_app.command("list")
def list_cmd(fmt: Fmt = typer.Option(Fmt.table, "--format", help="输出格式：table（表格）或 json")) -> None:
    """列出县（区），及各县的乡镇数和用户数；默认县排在第一个。"""
    with unit_of_work() as session:
        rows = counties.list_counties(session)
    if fmt is Fmt.json:
        print_json([r.model_dump() for r in rows])
        return
    table = Table(title=f"县（区）（{len(rows)} 个）")
    for col in ("编号", "名称", "默认", "乡镇数", "用户数"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r.id), r.name, "是" if r.default else "", str(r.townships), str(r.users))
    console.print(table)


@counties_app.command("add")
def add_cmd(name: str = typer.Argument(..., help="县（区）名称，如 青岚县")) -> None:
    """添加一个县（区）。"""
    with unit_of_work() as session:
        county = counties.add_county(session, name=name)
    console.print(f"已添加县（区）“{county.name}”（编号 {county.id}）", markup=False, highlight=False)


@counties_app.command("rename")
def rename_cmd(
    old: str = typer.Argument(..., help="现在的名称，如 本县"), new: str = typer.Argument(..., help="新名称，如 青岚县")
) -> None:
    """给县（区）改名（默认县初始名为“本县”）。"""
    with unit_of_work() as session:
        counties.rename_county(session, old=old, new=new)
    console.print(f"已将县（区）“{old}”改名为“{new}”", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(counties_app, name="counties")
