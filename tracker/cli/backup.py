"""`rectify backup FILE` and `rectify restore FILE`: the embedded default (SQLite + evidence) as one archive."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from tracker.backup import BackupError, backup, restore
from tracker.cli.common import fail
from tracker.textfmt import cn_datetime

# The counts worth naming in the summary line, in this order.
_NAMED = (
    ("report", "报告", "份"),
    ("task", "整改任务", "项"),
    ("progress", "进展", "条"),
    ("evidence", "佐证材料", "份"),
    ("user", "用户", "个"),
)


def _counts(counts: dict[str, int]) -> str:
    return "，".join(f"{label} {counts[t]} {unit}" for t, label, unit in _NAMED if t in counts)


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f} MB"


def backup_cmd(
    file: Path = typer.Argument(..., help="备份文件（新文件，如 rectify-2025-01-31.tar.gz）", dir_okay=False),
) -> None:
    """备份内置数据库（SQLite）和它引用的佐证材料到一个文件；服务运行中也可备份。"""
    try:
        result = backup(file)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(f"已备份到 {result.path}（{_mb(result.size)}，用时 {result.seconds:.1f} 秒）")
    typer.echo(f"数据库快照：{_counts(result.counts)}；结构版本 {result.revision or '无'}")
    stored = f"佐证材料文件 {result.evidence_files} 个（{_mb(result.evidence_bytes)}）"
    if result.evidence_in_database:
        stored += f"，另有 {result.evidence_in_database} 个保存在数据库中"
    typer.echo(stored)
    if result.missing:
        typer.echo(
            f"警告：数据库引用的 {len(result.missing)} 个佐证材料文件在存储目录中找不到，未能备份"
            f"（如 {result.missing[0]}）",
            err=True,
        )


def restore_cmd(
    file: Path = typer.Argument(..., help="rectify backup 生成的备份文件", exists=False, dir_okay=False),
) -> None:
    """把备份恢复到空的数据目录（RECTIFY_DATA_DIR）；目录不为空时拒绝。"""
    try:
        result = restore(file)
    except BackupError as exc:
        fail(str(exc))
    taken = cn_datetime(datetime.fromisoformat(result.created_at))
    typer.echo(f"已恢复到 {result.data_dir}（备份于 {taken}，用时 {result.seconds:.1f} 秒）")
    typer.echo(f"数据库：{_counts(result.counts)}；结构版本 {result.revision or '无'}")
    typer.echo(
        f"佐证材料文件 {result.evidence_files} 个"
        + (
            f"，另有 {result.evidence_in_database} 个保存在数据库中（需设置 RECTIFY_EVIDENCE_STORE=database）"
            if result.evidence_in_database
            else ""
        )
    )


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
