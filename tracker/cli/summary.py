"""`rectify summary --year 2023 --out DIR`: the year-end 问题整改情况 sections and the county summary.

Everything as of `--as-of` (status, owner and deadline too, from the journal); internal review wording
(退回 reasons) only with `--include-review-notes`; one line says why charts were left out, if they were.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from tracker.cli.common import console, default_actor, fail
from tracker.db import get_engine
from tracker.errors import DomainError
from tracker.textfmt import cn_date

SHOWN = 20


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    from tracker.errors import ValidationFailed
    from tracker.lights import check_day

    try:
        return check_day(date.fromisoformat(value), "--as-of 日期")
    except ValueError:
        fail(f"--as-of 日期“{value}”无效，应写作 2024-12-20")
    except ValidationFailed as exc:
        fail(exc.message)


def summary(
    year: int = typer.Option(..., "--year", help="报告年度：整改的是该年度报告查摆的问题，如 2023"),
    out: Path = typer.Option(..., "--out", help="输出文件夹（不存在则创建）"),
    township: list[str] = typer.Option(None, "--township", help="只生成该乡镇（可多次指定），默认全部"),
    as_of: str = typer.Option(None, "--as-of", help="统计截止日期，如 2024-12-20，默认今天"),
    formats: str = typer.Option("docx,md,txt", "--format", help="乡镇材料的格式，逗号分隔：docx,md,txt"),
    county: str = typer.Option(None, "--county", help="县（区）名称：生成该县的乡镇材料和县级汇总，默认为默认县"),
    county_files: bool = typer.Option(
        None, "--county-summary/--no-county", help="同时生成县级汇总（.docx/.xlsx/.html）；默认未指定 --township 时生成"
    ),
    review_notes: bool = typer.Option(
        False, "--include-review-notes", help="在材料中写入审核意见（如退回原因、审核未通过），默认不写入正式材料"
    ),
) -> None:
    """生成各乡镇“问题整改情况”材料（每个乡镇每种格式一个文件）和县级汇总。"""
    from tracker.cli.users import unit_of_work
    from tracker.counties import resolve_county
    from tracker.yearend.run import run_year_end

    fmts = [f.strip().lower().lstrip(".") for f in formats.split(",") if f.strip()]
    with unit_of_work() as session:
        county_id = resolve_county(session, county).id
    try:
        result = run_year_end(
            engine=get_engine(),
            year=year,
            as_of=_as_of(as_of),
            out_dir=out,
            townships=township or None,
            formats=fmts,
            county_id=county_id,
            county=(not township) if county_files is None else county_files,
            review_notes=review_notes,
            actor=default_actor(),
        )
    except DomainError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"无法写入输出文件夹 {out}：{exc.strerror or exc}")
    console.print(
        f"已生成 {result['files']} 个文件到 {result['out_dir']}：{result['townships']} 个乡镇（街道），"
        f"{year}年度查摆问题 {result['shortcomings']} 个，"
        f"截至{cn_date(date.fromisoformat(result['as_of']))}已完成 {result['done']} 个，"
        f"完成率 {result['rate']}%"
        + (f"，尚未启动（待分派）{result['unassigned']} 个" if result["unassigned"] else ""),
        highlight=False,
    )
    if result.get("chart_note"):
        console.print(f"注意：{result['chart_note']}", highlight=False, soft_wrap=True)  # one line
    if "recurring" in result:
        console.print(
            f"连续查摆的问题 {result['recurring']} 个；报告称已完成但台账未销号 {result['claimed_not_closed']} 项；"
            f"无对应计划的问题 {result['unlinked']} 个；逾期销号 {result['closed_late']} 项",
            highlight=False,
        )
        _table("连续查摆的问题", ("乡镇", "问题", "此前查摆的问题", "标注"), result["recurrences"])
        _table("报告称已完成但台账未销号", ("乡镇", "报告中的整改情况", "台账中的问题", "台账状态"), result["claims"])


def _table(title: str, header: tuple[str, ...], rows: list[list]) -> None:
    """At most SHOWN rows on screen; the county .xlsx has them all."""
    if not rows:
        return
    table = Table(title=f"{title}（{len(rows)} 项）", show_lines=True)
    for col in header:
        table.add_column(col)
    for row in rows[:SHOWN]:
        table.add_row(*(str(v) for v in row))
    console.print(table)
    if len(rows) > SHOWN:
        console.print(f"……另有 {len(rows) - SHOWN} 项，见县级汇总 .xlsx", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("summary")(summary)
