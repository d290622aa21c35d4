"""`rectify tasks list`: the light in every format (JSON `light` never null), whole rows when the output is
not a terminal, --format tsv, and help texts in Chinese across the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import update
from typer.testing import CliRunner

from tests.test_lifecycle import add_tasks, add_user
from tracker import lifecycle
from tracker.cli import app
from tracker.db import session_scope
from tracker.lights import light_of, today
from tracker.models import Task

runner = CliRunner()
LONG = "关于进一步加强和改进乡镇综合行政执法工作、全面提升执法规范化水平并落实行政执法三项制度的问题" * 2
COLUMNS = ["编号", "乡镇", "年度", "类型", "问题/计划", "状态", "预警", "整改时限", "责任单位/责任人"]


def rectify(*args: str, env: dict | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def ledger(engine, cli_env):
    """Five tasks of 西里镇: red, yellow, green, closed, and one 待分派 (past its default deadline: red)."""
    day = today()
    with session_scope(engine) as s:
        ids = add_tasks(s, n=5)
        county = add_user(s, "county", "county_admin")
        xili = add_user(s, "xili", "township", township="西里镇")
        s.execute(update(Task).where(Task.id == ids[0]).values(title=LONG))
        for task_id, days in zip(ids[:4], (-3, 5, 60, 60)):
            lifecycle.assign(
                s,
                actor=county,
                task_ids=[task_id],
                owner_unit="司法所",
                owner_person="王明",
                deadline=day + timedelta(days=days),
                category="限期整改",
            )
        lifecycle.post_progress(s, actor=xili, task_id=ids[3], version=None, note="已完成", percent=100, submit=True)
        lifecycle.verify(s, actor=county, task_id=ids[3], version=None)
    return ids


def test_json_light_is_never_null(engine, ledger):
    listed = json.loads(rectify("tasks", "list", "--format", "json"))
    assert [t["light"] for t in listed] == ["red", "yellow", "green", "none", "red"]
    with session_scope(engine) as s:
        for t in listed:
            expected = light_of(s.get(Task, t["id"]), today())
            assert t["light"] == (expected or "none")
    assert listed[0]["title"] == LONG and listed[0]["deadline"] == (today() - timedelta(days=3)).isoformat()
    assert "evidence_count" not in listed[0]  # not read by the listing: left out rather than shown as 0
    shown = json.loads(rectify("tasks", "show", str(ledger[3]), "--as", "county", "--format", "json"))
    assert shown["status"] == "已销号" and shown["light"] == "none"


def test_table_rows_are_whole_when_not_a_terminal(ledger):
    out = rectify("tasks", "list", env={"COLUMNS": "80"})  # CliRunner's stdout is not a terminal
    lines = out.splitlines()
    row = next(line for line in lines if LONG in line)  # the whole title, on one line
    assert "红灯" in row and "司法所 王明" in row
    assert any("绿灯" in line for line in lines) and any("已销号" in line and "—" in line for line in lines)
    assert "…" not in out


def test_tsv(ledger):
    lines = rectify("tasks", "list", "--format", "tsv").splitlines()
    assert lines[0].split("\t") == COLUMNS
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 5 and all(len(r) == len(COLUMNS) for r in rows)
    assert rows[0][4] == LONG and rows[0][6] == "红灯" and rows[0][7] == (today() - timedelta(days=3)).isoformat()
    assert [r[6] for r in rows] == ["红灯", "黄灯", "绿灯", "—", "红灯"]
    assert rows[4][5] == "待分派" and rows[4][8] == ""


def test_a_pipe_gets_whole_lines(ledger, cli_env):
    """The real command with its output in a pipe, in a narrow 'terminal'."""
    exe = Path(sys.executable).with_name("rectify")
    out = subprocess.run(
        [str(exe), "tasks", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=os.environ | {"COLUMNS": "60"},
    ).stdout
    assert any(LONG in line for line in out.splitlines())


def test_help_is_in_chinese():
    text = rectify("tasks", "list", "--help", env={"COLUMNS": "200"})
    assert "选项" in text and "输出格式" in text and "[默认：table]" in text and "Options" not in text
    # every command and option of the CLI has a Chinese help text
    missing = []

    def walk(command, path):
        if not re.search(r"[\u4e00-\u9fff]", command.help or ""):
            missing.append(path)
        for p in command.params:
            if p.name != "help" and not re.search(r"[\u4e00-\u9fff]", getattr(p, "help", None) or ""):
                missing.append(f"{path} {'/'.join(p.opts)}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "rectify")
    assert missing == []
