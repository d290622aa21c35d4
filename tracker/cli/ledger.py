"""`rectify ledger export|import`: the ledger as the county's Excel sheet (台账)."""

from __future__ import annotations

from pathlib import Path

import typer

from tracker.cli.common import console, err_console
from tracker.cli.users import acting_as

ledger_app = typer.Typer(no_args_is_help=True, help="Excel 台账导出与导入")


@ledger_app.command("export")
def export_cmd(
    out: Path = typer.Argument(..., dir_okay=False, help="输出文件，如 台账.xlsx"),
    actor: str = typer.Option(..., "--as", help="以哪个用户的身份操作（用户名）"),
    township: str = typer.Option(None, "--township", help="乡镇名称"),
    county: str = typer.Option(None, "--county", help="县（区）名称"),
    year: int = typer.Option(None, "--year", help="报告年度"),
    kind: str = typer.Option(None, "--kind", help="shortcoming（问题）或 plan（计划）"),
    status: str = typer.Option(None, "--status", help="待分派/整改中/待审核/已销号/已撤销"),
    light: str = typer.Option(None, "--light", help="red、yellow 或 green"),
    owner: str = typer.Option(None, "--owner", help="责任单位或责任人包含的文字"),
    q: str = typer.Option(None, "--q", help="标题或内容包含的文字"),
    theme: str = typer.Option(None, "--theme", help="主题，如 法律顾问"),
) -> None:
    """导出整改台账（.xlsx），可按条件筛选；导出的表可编辑后再导入以批量分派。"""
    if out.suffix.lower() != ".xlsx":
        err_console.print(f"[red]错误：[/red]输出文件 {out.name} 应以 .xlsx 结尾", highlight=False)
        raise typer.Exit(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")  # a failed export leaves no half-written sheet behind
    try:
        with acting_as(actor) as (session, user):
            from tracker import excel  # openpyxl costs 0.15 s of every CLI start otherwise

            n = excel.export_ledger(
                session,
                actor=user,
                path_or_buffer=tmp,
                township=township,
                county=county,
                year=year,
                kind=kind,
                status=status,
                light=light,
                owner=owner,
                q=q,
                theme=theme,
            )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    typer.echo(f"已导出 {n} 项到 {out}")


@ledger_app.command("import")
def import_cmd(
    source: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="编辑过的台账 .xlsx"),
    actor: str = typer.Option(..., "--as", help="以哪个用户的身份操作（用户名）"),
) -> None:
    """导入编辑过的台账：按行批量分派（责任单位、责任人、整改时限、类型）；有误的行列出原因、不导入。"""
    with acting_as(actor) as (session, user):
        from tracker import excel

        report = excel.import_assignments(session, actor=user, source=source)
    console.print(report.summary(), highlight=False)
    for err in report.errors:
        err_console.print(f"  {err}", highlight=False)
    if report.errors:
        err_console.print("以上行未导入，其余行已导入。", highlight=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
