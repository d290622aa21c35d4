"""`rectify tasks ...`: the ledger from the shell."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from tracker import lifecycle
from tracker.cli.common import console, print_json
from tracker.cli.users import acting_as
from tracker.db import get_engine, session_scope
from tracker.evidence import MAX_BYTES
from tracker.ledger import list_tasks
from tracker.lights import light_of, today
from tracker.models import Category, Kind, Report, Township
from tracker.textfmt import cn_date, cn_datetime
from tracker.vocabulary import Light

tasks_app = typer.Typer(no_args_is_help=True, help="整改任务")


class Fmt(str, Enum):
    table = "table"
    json = "json"


class ListFmt(str, Enum):
    table = "table"
    tsv = "tsv"
    json = "json"


class KindOpt(str, Enum):
    shortcoming = "shortcoming"
    plan = "plan"


NO_LIGHT = "none"  # closed (已销号) and withdrawn (已撤销) tasks have no light
NOT_LISTED = {"latest_note", "evidence_count"}  # TaskRow fields `list_tasks` does not read: left out, not faked
LIST_COLUMNS = ("编号", "乡镇", "年度", "类型", "问题/计划", "状态", "预警", "整改时限", "责任单位/责任人")


def _light_label(light: str | None) -> str:
    return Light(light).label if light else "—"


def _print_table(table: Table) -> None:
    """On a terminal, as wide as the terminal (long cells wrap); else (a pipe, a file) every row on one
    line however long, so nothing is cut or wrapped for the program reading it."""
    if console.is_terminal:
        console.print(table)
        return
    wide = Console(width=100_000, no_color=True, highlight=False)
    width = Measurement.get(wide, wide.options, table).maximum
    Console(width=width, no_color=True, highlight=False, soft_wrap=False).print(table)


def _tsv_cell(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


@tasks_app.command("list")
def list_cmd(
    township: str = typer.Option(None, "--township", help="乡镇名称，如 西里镇"),
    year: int = typer.Option(None, "--year", help="报告年度"),
    kind: KindOpt = typer.Option(None, "--kind", help="shortcoming（问题）或 plan（计划）"),
    status: str = typer.Option(None, "--status", help="待分派/整改中/待审核/已销号/已撤销"),
    fmt: ListFmt = typer.Option(ListFmt.table, "--format", help="输出格式：table（表格）、tsv 或 json"),
) -> None:
    """列出整改台账（含今天的预警灯）。

    输出到文件或管道时，表格的每一行完整输出、不截断。tsv：制表符分隔，首行为列名，整改时限如 2024-06-30。
    json：light 为 red、yellow 或 green，已销号、已撤销的任务为 none。"""
    with session_scope(get_engine()) as session:
        rows = list_tasks(session, township=township, year=year, kind=kind.value if kind else None, status=status)
    if fmt is ListFmt.json:
        print_json(
            [
                r.model_dump(mode="json", exclude=NOT_LISTED)
                | {"owner": r.owner, "light": r.light.value if r.light else NO_LIGHT}
                for r in rows
            ]
        )
        return
    if fmt is ListFmt.tsv:
        lines = ["\t".join(LIST_COLUMNS)]
        lines += [
            "\t".join(
                _tsv_cell(v)
                for v in (
                    r.id,
                    r.township,
                    r.report_year,
                    Kind(r.kind).label,
                    r.title,
                    r.status,
                    _light_label(r.light),
                    r.deadline.isoformat(),
                    r.owner,
                )
            )
            for r in rows
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(title=f"整改台账（{len(rows)} 项）")
    for col in LIST_COLUMNS:
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r.id),
            r.township,
            str(r.report_year),
            Kind(r.kind).label,
            r.title,
            r.status,
            _light_label(r.light),
            cn_date(r.deadline),
            r.owner,
        )
    _print_table(table)


AS_OPT = typer.Option(..., "--as", help="以哪个用户的身份操作（用户名）")
VERSION_OPT = typer.Option(None, "--version", help="修改所基于的版本；省略则为当前版本")

CategoryOpt = Enum("CategoryOpt", {c.value: c.value for c in Category}, type=str)


@tasks_app.command("assign")
def assign_cmd(
    ids: list[int] = typer.Argument(..., help="任务编号，可多个"),
    actor: str = AS_OPT,
    unit: str = typer.Option(..., "--unit", help="责任单位"),
    person: str = typer.Option(..., "--person", help="责任人"),
    deadline: datetime = typer.Option(..., "--deadline", formats=["%Y-%m-%d"], help="整改时限，如 2024-06-30"),
    category: CategoryOpt = typer.Option(..., "--category", help="立行立改、限期整改或长期坚持"),
) -> None:
    """分派任务：责任单位、责任人、整改时限、整改类别（全部成功或全部不变）。"""
    with acting_as(actor) as (session, user):
        tasks = lifecycle.assign(
            session,
            actor=user,
            task_ids=ids,
            owner_unit=unit,
            owner_person=person,
            deadline=deadline.date(),
            category=category.value,
        )
    for t in tasks:
        typer.echo(
            f"任务 {t.id} 已分派：{t.owner_unit} {t.owner_person}，{cn_date(t.deadline)}前，{t.category}"
            f"（状态 {t.status}，版本 {t.version}）"
        )


def _read_evidence(paths: list[Path]) -> list[tuple[str, bytes]]:
    # Reading one byte past the limit is enough for the size check to refuse a huge file.
    out = []
    for p in paths:
        with p.open("rb") as fh:
            out.append((p.name, fh.read(MAX_BYTES + 1)))
    return out


@tasks_app.command("progress")
def progress_cmd(
    task_id: int = typer.Argument(..., help="任务编号"),
    actor: str = AS_OPT,
    note: str = typer.Option(..., "--note", help="进展说明"),
    percent: int = typer.Option(None, "--percent", min=0, max=100, help="完成进度（0–100）"),
    evidence: list[Path] = typer.Option(
        [],
        "--evidence",
        exists=True,
        dir_okay=False,
        readable=True,
        help="佐证材料文件（pdf、jpg、png、docx、xlsx，≤20 MB），可多次指定",
    ),
    submit: bool = typer.Option(False, "--submit", help="同时提交审核"),
    version: int = VERSION_OPT,
) -> None:
    """填报整改进展（可附佐证材料，可同时提交审核）。"""
    files = _read_evidence(evidence)
    with acting_as(actor) as (session, user):
        t = lifecycle.post_progress(
            session,
            actor=user,
            task_id=task_id,
            version=version,
            note=note,
            percent=percent,
            files=files,
            submit=submit,
        )
    extra = f"，佐证材料 {len(files)} 个" if files else ""
    typer.echo(f"任务 {t.id} 已填报进展{extra}（状态 {t.status}，版本 {t.version}）")


@tasks_app.command("submit")
def submit_cmd(
    task_id: int = typer.Argument(..., help="任务编号"), actor: str = AS_OPT, version: int = VERSION_OPT
) -> None:
    """提交审核（整改完成）。"""
    with acting_as(actor) as (session, user):
        t = lifecycle.submit(session, actor=user, task_id=task_id, version=version)
    typer.echo(f"任务 {t.id} 已提交审核（版本 {t.version}）")


@tasks_app.command("verify")
def verify_cmd(
    task_id: int = typer.Argument(..., help="任务编号"),
    actor: str = AS_OPT,
    reject: str = typer.Option(None, "--reject", help="退回并写明原因；省略则审核通过、销号"),
    version: int = VERSION_OPT,
) -> None:
    """审核：销号，或退回整改（--reject 原因）。"""
    with acting_as(actor) as (session, user):
        t = lifecycle.verify(session, actor=user, task_id=task_id, version=version, reject_reason=reject)
    verdict = "已退回整改" if reject is not None else "已销号"
    typer.echo(f"任务 {t.id} {verdict}（版本 {t.version}）")


@tasks_app.command("stage-done")
def stage_done_cmd(
    task_id: int = typer.Argument(..., help="任务编号"),
    actor: str = AS_OPT,
    year: int = typer.Option(..., "--year", help="年度，如 2024"),
    version: int = VERSION_OPT,
) -> None:
    """长期坚持类任务：标记本年度阶段性完成（任务保持开放）。"""
    with acting_as(actor) as (session, user):
        t = lifecycle.mark_stage_done(session, actor=user, task_id=task_id, version=version, year=year)
    typer.echo(f"任务 {t.id} 已标记 {year} 年度阶段性完成（版本 {t.version}）")


@tasks_app.command("show")
def show_cmd(
    task_id: int = typer.Argument(..., help="任务编号"),
    actor: str = AS_OPT,
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="输出格式：table（文字）或 json"),
) -> None:
    """查看任务：详情、进展、佐证材料和日志。"""
    with acting_as(actor) as (session, user):
        t = lifecycle.get_task(session, actor=user, task_id=task_id)
        township = session.get(Township, t.township_id).name
        year = session.get(Report, t.report_id).report_year
        progress = lifecycle.list_progress(session, actor=user, task_id=task_id)
        files = lifecycle.list_evidence(session, actor=user, task_id=task_id)
        entries = lifecycle.journal(session, actor=user, task_id=task_id)
    light = light_of(t, today())
    if fmt is Fmt.json:
        print_json(
            {
                "id": t.id,
                "township": township,
                "report_year": year,
                "kind": t.kind,
                "title": t.title,
                "description": t.description,
                "status": t.status,
                "light": light or NO_LIGHT,
                "deadline": t.deadline.isoformat(),
                "category": t.category,
                "owner_unit": t.owner_unit,
                "owner_person": t.owner_person,
                "progress_percent": t.progress_percent,
                "stage_done_year": t.stage_done_year,
                "version": t.version,
                "progress": [
                    {"at": p.at.isoformat(), "author": p.author, "note": p.note, "percent": p.percent} for p in progress
                ],
                "evidence": [{"id": e.id, "filename": e.filename, "size": e.size, "sha256": e.sha256} for e in files],
                "journal": [
                    e | {"at": e["at"].isoformat(), "changes": [list(c) for c in e["changes"]]} for e in entries
                ],
            }
        )
        return
    out = [
        f"任务 {t.id} · {township} {year}年度 · {Kind.label_of(t.kind)}",
        f"标题：{t.title}",
        f"状态：{t.status}" + (f" · 预警：{Light(light).label}" if light else "") + f" · 版本 {t.version}",
        f"整改时限：{cn_date(t.deadline)} · 整改类别：{t.category or '未定'} · "
        f"责任单位/责任人：{' '.join(x for x in (t.owner_unit, t.owner_person) if x) or '未分派'}",
    ]
    if t.progress_percent is not None:
        out.append(f"完成进度：{t.progress_percent}%")
    if t.stage_done_year:
        out.append(f"阶段性完成：{t.stage_done_year}年度")
    out.append("进展：" if progress else "进展：暂无")
    out += [
        f"  {cn_datetime(p.at)} {p.author}：{p.note}" + (f"（{p.percent}%）" if p.percent is not None else "")
        for p in progress
    ]
    out.append("佐证材料：" if files else "佐证材料：暂无")
    out += [f"  [{e.id}] {e.filename}（{max(1, e.size // 1024)} KB）" for e in files]
    out.append("日志：")
    for e in entries:
        changes = "；".join(
            f"{label} {old or '（空）'} → {new or '（空）'}" if old else f"{label}：{new}"
            for label, old, new in e["changes"]
        )
        out.append(
            f"  {cn_datetime(e['at'])} {e['actor']} {e['action']}"
            + (f"：{changes}" if changes else "")
            + (f"（原因：{e['reason']}）" if e["reason"] else "")
        )
    typer.echo("\n".join(out))


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")
