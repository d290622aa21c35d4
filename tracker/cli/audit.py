"""`rectify audit prune`: the operator's removal of audit records past their retention."""

from __future__ import annotations

import typer

from tracker import audit_retention
from tracker.cli.common import console, default_actor
from tracker.cli.users import unit_of_work
from tracker.config import TZ
from tracker.textfmt import cn_date

audit_app = typer.Typer(no_args_is_help=True, help="审计记录：清理过期记录（网页和接口中只能查询、导出）")


@audit_app.command("prune")
def prune_cmd(
    keep_days: int = typer.Option(
        ..., "--keep-days", help=f"保留最近多少天的记录，至少 {audit_retention.MIN_KEEP_DAYS} 天"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="只统计将被清理的记录数，不删除"),
) -> None:
    """删除早于保留期的审计记录（分批删除），并把这次清理记入审计记录。"""
    with unit_of_work() as session:
        done = audit_retention.prune(session, keep_days=keep_days, actor=default_actor(), dry_run=dry_run)
    day = cn_date(done["cutoff"].astimezone(TZ).date())
    verb = "将清理" if dry_run else "已清理"
    console.print(f"{verb} {day}之前的审计记录 {done['rows']} 条", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
