"""`rectify serve`: the web app and API; on an empty database, sample reports and demo users first."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tracker import users
from tracker.cli.common import console
from tracker.config import ROOT, get_settings
from tracker.db import get_engine, session_scope
from tracker.ingest import ingest_paths
from tracker.models import Report, Role, User

SAMPLES = ROOT / "samples"
DEMO_ADMIN = "admin"


def _is_empty(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return (
            not session.execute(select(func.count()).select_from(Report)).scalar_one()
            and not session.execute(select(func.count()).select_from(User)).scalar_one()
        )


def seed_demo(engine: Engine) -> list[tuple[str, str, str, str]]:
    """Import samples/ and create a county admin plus one user per sample township, each named after it.

    Returns (name, role label, township, password) rows: the passwords exist nowhere else.
    """
    results = ingest_paths(engine=engine, paths=[SAMPLES], actor="演示数据")
    townships = sorted({r.township for r in results if r.ok and r.township})
    accounts = [(DEMO_ADMIN, Role.county_admin.value, None)] + [(t, Role.township.value, t) for t in townships]
    rows = []
    with session_scope(engine) as session:
        for name, role, township in accounts:
            password = users.generate_password()  # satisfies the password policy
            users.create_user(session, name=name, role=role, password=password, township=township)
            rows.append((name, role, township or "—", password))
    return rows


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
    port: int = typer.Option(8000, "--port", help="端口"),
    demo: bool = typer.Option(
        True,
        "--demo/--no-demo",
        help="数据库为空时导入 samples/ 中的示例报告、创建演示账号，并生成以今天为准的演示进展",
    ),
) -> None:
    """启动网页与 API 服务。"""
    import uvicorn

    from tracker.web.app import SECRET_KEY_MISSING, create_app

    if get_settings().secret_key is None and not get_settings().embedded:  # before touching the database
        typer.echo(SECRET_KEY_MISSING, err=True)
        raise typer.Exit(2)
    engine = get_engine()
    if demo and _is_empty(engine):
        rows = seed_demo(engine)
        from tracker.demo import stage_demo  # a year's work on the samples, deadlines around today

        stage_demo(engine)
        table = Table(title="演示账号（密码只显示这一次，请记下）")
        for col in ("用户名", "角色", "乡镇", "密码"):
            table.add_column(col)
        for name, role, township, password in rows:
            table.add_row(name, Role(role).label, township, password)
        console.print(table)
        console.print(
            "演示数据：整改时限以今天为准，有红灯、黄灯、绿灯，有进展和佐证材料、退回、待审核和已销号的任务。"
        )
    console.print(f"整改事项台账：http://{host}:{port}/  （API 说明：http://{host}:{port}/openapi.json）")
    settings = get_settings()
    # log_config=None: uvicorn keeps the logging the CLI set up (tracker/logs.py) instead of its own
    uvicorn.run(
        create_app(engine=engine, start_scheduler=True),
        host=host,
        port=port,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
