"""`rectify db upgrade|downgrade|current`: run the Alembic migrations."""

from __future__ import annotations

import typer

from tracker.config import get_settings
from tracker.db import current_heads, downgrade, make_engine, upgrade

db_app = typer.Typer(no_args_is_help=True, help="数据库结构迁移")


@db_app.command("upgrade")
def upgrade_cmd(target: str = typer.Argument("head", help="目标版本，默认最新")) -> None:
    """升级数据库结构到最新版本。"""
    engine = make_engine(get_settings().database_url)
    upgrade(engine, target)
    typer.echo(f"数据库结构已升级：{', '.join(sorted(current_heads(engine))) or '空'}")


@db_app.command("downgrade")
def downgrade_cmd(target: str = typer.Argument(..., help="目标版本，base 表示清空")) -> None:
    """回退数据库结构到指定版本。"""
    engine = make_engine(get_settings().database_url)
    downgrade(engine, target)
    typer.echo(f"数据库结构已回退到：{', '.join(sorted(current_heads(engine))) or 'base'}")


@db_app.command("current")
def current_cmd() -> None:
    """显示数据库当前结构版本。"""
    typer.echo(", ".join(sorted(current_heads(make_engine(get_settings().database_url)))) or "base")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
