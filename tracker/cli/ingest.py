"""`rectify ingest PATH...`: import reports (files or folders) into the ledger."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tracker.cli.common import console, default_actor, fail
from tracker.db import get_engine
from tracker.ingest import OUTCOME_LABELS, IngestResult, ingest_paths, iter_report_files

PROGRESS_FROM = 20  # files; fewer finish before a bar would be worth drawing


def ingest(
    paths: list[Path] = typer.Argument(..., help="报告文件（.txt/.docx）或文件夹"),
    replace: bool = typer.Option(False, "--replace", help="同一乡镇同一年度已有不同文件时，以新文件替换"),
    actor: str = typer.Option(
        None, "--as", help="以哪个县级用户的身份导入（须为已有用户，记入日志），默认当前系统用户"
    ),
    county: str = typer.Option(
        None,
        "--county",
        help="这些报告的乡镇所属的县（区）；不指定则为默认县（或 --as 用户所在县）。报告抬头写明的县与之不同时拒绝导入",
    ),
) -> None:
    """导入报告：提取问题与计划，生成整改任务。"""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"路径不存在：{'、'.join(missing)}")
    files = list(iter_report_files(paths))
    if not files:
        fail("未找到可导入的报告文件（支持 .txt、.docx）")
    engine = get_engine()
    if actor is not None:  # the audit log names who imported: an existing, active county user
        from tracker.cli.users import acting_as
        from tracker.users import require_county

        with acting_as(actor) as (session, user):
            require_county(user)
            if county and county_named_id(session, county) != user.county_id:
                fail(f"用户 {actor} 不属于“{county}”，不能向该县导入报告")
            county_id = user.county_id
    else:
        county_id = None
    if county:  # fail early, with the list of counties, on a name that does not exist
        from tracker.cli.users import unit_of_work

        with unit_of_work() as session:
            county_named_id(session, county)
    who = actor or default_actor()
    if len(files) >= PROGRESS_FROM:
        with Progress(
            TextColumn("导入报告"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            job = bar.add_task("ingest", total=len(files))
            results = ingest_paths(
                engine=engine,
                paths=files,
                actor=who,
                replace=replace,
                county=county,
                county_id=county_id,
                on_result=lambda _r: bar.advance(job),
            )
    else:
        results = ingest_paths(
            engine=engine, paths=files, actor=who, replace=replace, county=county, county_id=county_id
        )
    _summary(results)
    if not any(r.ok for r in results):
        raise typer.Exit(1)


def county_named_id(session, name: str) -> int:
    from tracker.counties import county_named

    return county_named(session, name).id


def _summary(results: list[IngestResult]) -> None:
    table = Table(title="导入结果", show_lines=False)
    for col in ("文件", "结果", "乡镇", "年度", "任务数", "说明"):
        table.add_column(col)
    for r in results:
        style = {"failed": "red", "duplicate": "yellow"}.get(r.outcome, "green")
        table.add_row(
            Path(r.path).name,
            f"[{style}]{OUTCOME_LABELS[r.outcome]}[/{style}]",
            r.township or "",
            str(r.report_year or ""),
            str(r.counts.get("tasks", "")),
            r.message,
        )
    console.print(table)
    counts = {k: sum(r.outcome == k for r in results) for k in OUTCOME_LABELS}
    console.print("合计：" + "，".join(f"{OUTCOME_LABELS[k]} {n} 个" for k, n in counts.items() if n))


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
