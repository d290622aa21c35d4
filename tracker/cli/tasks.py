"""`rectify tasks ...`: the ledger from the shell."""
from __future__ import annotations

from enum import Enum

import typer
from rich.table import Table

from tracker.cli.common import console, print_json
from tracker.db import get_engine, session_scope
from tracker.ledger import list_tasks
from tracker.models import KIND_LABELS
from tracker.textfmt import cn_date

tasks_app = typer.Typer(no_args_is_help=True, help="整改任务")


class Fmt(str, Enum):
    table = "table"
    json = "json"


class KindOpt(str, Enum):
    shortcoming = "shortcoming"
    plan = "plan"


@tasks_app.command("list")
def list_cmd(
    township: str = typer.Option(None, "--township", help="乡镇名称，如 西里镇"),
    year: int = typer.Option(None, "--year", help="报告年度"),
    kind: KindOpt = typer.Option(None, "--kind", help="shortcoming（问题）或 plan（计划）"),
    status: str = typer.Option(None, "--status", help="待分派/整改中/待审核/已销号/已撤销"),
    fmt: Fmt = typer.Option(Fmt.table, "--format"),
) -> None:
    """列出整改台账。"""
    with session_scope(get_engine()) as session:
        rows = list_tasks(session, township=township, year=year, kind=kind.value if kind else None, status=status)
    if fmt is Fmt.json:
        print_json([r.to_json() for r in rows])
        return
    table = Table(title=f"整改台账（{len(rows)} 项）")
    for col in ("编号", "乡镇", "年度", "类型", "问题/计划", "状态", "整改时限", "责任单位/责任人"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r.id), r.township, str(r.report_year), KIND_LABELS[r.kind], r.title, r.status,
                      cn_date(r.deadline), r.owner)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")
