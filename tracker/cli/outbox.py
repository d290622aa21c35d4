"""`rectify outbox list|retry`: what was sent, what waits, what failed and why."""

from __future__ import annotations

from enum import Enum

import typer
from rich.table import Table

from tracker.cli.common import console, print_json
from tracker.cli.users import unit_of_work
from tracker.textfmt import cn_datetime

outbox_app = typer.Typer(no_args_is_help=True, help="提醒发送队列与记录")


class StatusOpt(str, Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Fmt(str, Enum):
    table = "table"
    json = "json"


@outbox_app.command("list")
def list_cmd(
    status: StatusOpt = typer.Option(None, "--status", help="pending（待发送）/ sent（已发送）/ failed（失败）"),
    limit: int = typer.Option(50, "--limit", min=1, help="最多显示条数（最新的在前）"),
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="输出格式：table（表格）或 json"),
) -> None:
    """列出提醒消息。"""
    from notifications.models import ChannelKind, MessageKind, OutboxStatus
    from notifications.outbox import list_outbox, outbox_counts

    with unit_of_work() as session:
        rows = list_outbox(session, status=status.value if status else None, limit=limit)
        counts = outbox_counts(session)
    if fmt is Fmt.json:
        print_json([r.model_dump() for r in rows])
        return
    table = Table(title="提醒消息（" + "，".join(f"{OutboxStatus(k).label} {v}" for k, v in counts.items()) + "）")
    for col in ("编号", "类型", "乡镇", "整改事项", "渠道", "状态", "尝试", "时间", "错误"):
        table.add_column(col)
    for r in rows:
        when = (
            cn_datetime(r.sent_at)
            if r.sent_at
            else (f"下次 {cn_datetime(r.next_attempt_at)}" if r.status == "pending" else cn_datetime(r.created_at))
        )
        table.add_row(
            str(r.id),
            MessageKind.label_of(r.kind),
            r.township,
            r.task_title or "—",
            f"{ChannelKind.label_of(r.channel_kind)} {r.target}",
            OutboxStatus(r.status).label,
            str(r.attempts),
            when,
            r.last_error or "",
        )
    console.print(table)


@outbox_app.command("retry")
def retry(outbox_id: int = typer.Argument(..., help="消息编号")) -> None:
    """把失败的消息重新加入发送队列（尝试次数清零）。"""
    from notifications.outbox import retry as requeue

    with unit_of_work() as session:
        requeue(session, outbox_id=outbox_id)
    console.print(f"消息 {outbox_id} 已重新加入发送队列（运行 rectify notify 发送）")


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
