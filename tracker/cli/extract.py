"""`rectify extract PATH`: show what the extractor finds in one report."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from tracker.cli.common import print_json
from tracker.extraction import Extraction, ExtractionError, extract_file
from tracker.textfmt import cn_date

GROUPS = (("shortcoming", "存在的不足"), ("cause", "原因"), ("rectification", "整改情况"), ("plan", "下一年度计划"))


class OutputFormat(str, Enum):
    json = "json"
    text = "text"


def register(app: typer.Typer) -> None:
    @app.command("extract")
    def extract(
        path: Path = typer.Argument(..., help="报告文件（.txt 或 .docx）"),
        fmt: OutputFormat = typer.Option(OutputFormat.json, "--format", help="输出格式：json 或 text"),
    ) -> None:
        """从一份法治政府建设年度报告中提取存在的不足、原因、整改情况和下一年度计划。"""
        try:
            extraction = extract_file(path)
        except ExtractionError as exc:
            # Plain stderr, not rich: the message must come out unwrapped and unmarked.
            typer.echo(f"错误：{exc}", err=True)
            raise typer.Exit(1) from None
        if fmt is OutputFormat.json:
            print_json(extraction.to_dict())
        else:
            typer.echo(format_text(extraction))


def format_text(ex: Extraction) -> str:
    """A readable Chinese summary of one extraction."""

    def show(value) -> str:
        return "—" if value in (None, "") else str(value)

    lines = [
        f"文件：{show(ex.source_name)}",
        f"单位：{show(ex.unit)}　所属县（区）：{show(ex.county)}",
        f"报告年度：{show(ex.report_year)}　计划年度：{show(ex.plan_year)}",
        f"签发日期：{cn_date(ex.issued_on) or '—'}　文号：{show(ex.doc_number)}",
    ]
    for kind, label in GROUPS:
        items = [it for it in ex.items if it.kind == kind]
        if not items:
            continue
        lines.append("")
        lines.append(f"{label}（{len(items)} 条）")
        for it in items:
            lines.append(f"  {it.seq}. {it.title}　〔位置 {it.start}–{it.end}〕")
            lines.extend(f"     原因：{cause}" for cause in it.causes)
    if ex.warnings:
        lines.append("")
        lines.extend(f"提示：{w}" for w in ex.warnings)
    return "\n".join(lines)
