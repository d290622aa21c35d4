"""`rectify check | notify | digest | deploy | scheduler run|status`: the reminder flows from the shell.

Flows run in-process through their bodies (no Prefect server, no start-up wait) unless
PREFECT_API_URL is set, then as real flow runs on that server (workflows.flows.run).
"""

from __future__ import annotations

import signal
import threading
from datetime import date, datetime
from enum import Enum

import typer
from rich.table import Table

from tracker.cli.common import console, fail, print_json
from tracker.db import get_engine
from tracker.textfmt import cn_date, cn_datetime
from tracker.vocabulary import Light

TOP = 20  # townships shown by `rectify check`


class Fmt(str, Enum):
    table = "table"
    json = "json"


def _as_of(value: str | None) -> date | None:
    if not value:
        return None
    from tracker.errors import ValidationFailed
    from tracker.lights import check_day

    try:
        return check_day(date.fromisoformat(value), "--as-of 日期")
    except ValueError:
        fail(f"--as-of 日期“{value}”格式不正确，应为 2024-06-01")
    except ValidationFailed as exc:
        fail(exc.message)


def _run(name: str, **params):
    from workflows import configure_prefect

    configure_prefect()  # Prefect's quiet, offline settings before Prefect loads
    from workflows.flows import run

    return run(name, engine=get_engine(), **params)


def check(
    as_of: str = typer.Option(None, "--as-of", help="按哪一天检查（如 2024-06-01），默认今天"),
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="输出格式：table（表格）或 json"),
) -> None:
    """检查整改进度：统计红黄绿灯，把到期、逾期、无进展、督办、退回提醒加入发送队列。"""
    summary = _run("check_progress", as_of=_as_of(as_of))
    if fmt is Fmt.json:
        print_json(summary)
        return
    totals, queued = summary["totals"], summary["queued"]
    console.print(
        f"检查日期：{cn_date(date.fromisoformat(summary['as_of']))}　在办整改事项："
        + "，".join(f"{Light(k).label} {v} 项" for k, v in totals.items())
    )
    from notifications.models import MessageKind

    console.print(
        f"新加入发送队列的提醒 {sum(queued.values())} 条："
        + "，".join(f"{MessageKind(k).label} {v}" for k, v in queued.items())
        + "（运行 rectify notify 发送）"
    )
    rows = summary["townships"]
    if rows:
        table = Table(title=f"各乡镇红黄绿灯（共 {len(rows)} 个乡镇{f'，显示前 {TOP} 个' if len(rows) > TOP else ''}）")
        for col in ("乡镇", *(lt.label for lt in Light)):
            table.add_column(col)
        for r in rows[:TOP]:
            table.add_row(r["township"], *(str(r[lt.value]) for lt in Light))
        console.print(table)


def notify() -> None:
    """发送队列中到期的提醒（含新的退回通知）；失败的按退避时间稍后重试。"""
    result = _run("send_notifications")
    console.print(
        f"退回通知新增 {result['sent_back']} 条；已发送 {result['sent']} 条，"
        f"待重试 {result['retrying']} 条，放弃（发送失败）{result['failed']} 条"
    )
    if result["failed"] or result["retrying"]:
        console.print("查看失败原因：rectify outbox list --status failed（或 --status pending）")


def digest(as_of: str = typer.Option(None, "--as-of", help="按哪一天汇总（如 2024-06-03），默认今天")) -> None:
    """生成本周汇总（每个乡镇一份，县级一份），加入发送队列。"""
    result = _run("weekly_digest", as_of=_as_of(as_of))
    console.print(f"每周汇总新加入发送队列 {result['digest']} 条（运行 rectify notify 发送）")


def deploy(work_pool: str = typer.Option("rectify", "--work-pool", help="Prefect 工作池名称（process 类型）")) -> None:
    """在 Prefect 服务器（PREFECT_API_URL）上创建各流程的部署及定时计划，由 Prefect worker 运行。"""
    import os

    if not os.environ.get("PREFECT_API_URL"):
        fail(
            "未设置 PREFECT_API_URL：请先启动 Prefect 服务器（prefect server start），"
            "并设置 PREFECT_API_URL=http://主机:4200/api"
        )
    from workflows import configure_prefect

    configure_prefect()
    from workflows.deployment import deploy as create

    for name, schedule in create(work_pool=work_pool):
        console.print(f"已部署 {name}　{schedule}")
    console.print(f"启动 worker：prefect worker start --pool {work_pool}　（并设置 RECTIFY_SCHEDULER=0 关闭内置调度）")
    console.print(
        "worker 须在安装了 rectify 的 Python 环境中启动，并使用与网页进程相同的 RECTIFY_DATABASE_URL 等设置："
        "流程代码不随部署上传，由 worker 从已安装的 rectify 包中导入"
    )


scheduler_app = typer.Typer(no_args_is_help=True, help="内置定时调度（APScheduler）")


@scheduler_app.command("run")
def scheduler_run() -> None:
    """在前台运行内置调度（不启动网页）；多个进程同时运行时只有持有租约的一个执行任务。"""
    from notifications.scheduler import start

    handle = start(get_engine())
    if not handle.settings.scheduler:
        fail("内置调度已关闭（RECTIFY_SCHEDULER=0）")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"调度进程 {handle.holder} 已启动，按 Ctrl+C 退出")
    stop.wait()
    handle.shutdown()


@scheduler_app.command("status")
def scheduler_status() -> None:
    """显示调度租约持有者、各定时任务的下次运行时间和最近运行记录。"""
    from notifications.scheduler import status

    info = status(get_engine())
    lease = info["lease"]
    if lease is None:
        console.print("调度租约：尚无进程持有")
    else:
        state = "有效" if lease.expires_at > datetime.now(lease.expires_at.tzinfo) else "已过期"
        console.print(f"调度租约：{lease.holder}（{state}，到期 {cn_datetime(lease.expires_at)}）")
    table = Table(title="定时任务")
    for col in ("任务", "下次运行", "最近运行", "结果"):
        table.add_column(col)
    for job in info["jobs"]:
        last = job["last_run"]
        table.add_row(
            job["label"],
            cn_datetime(job["next_run"]) or "—",
            cn_datetime(last.started_at) if last else "—",
            (last.status if last.status != "error" else f"出错：{last.error}") if last else "—",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("notify")(notify)
    app.command("digest")(digest)
    app.command("deploy")(deploy)
    app.add_typer(scheduler_app, name="scheduler")
