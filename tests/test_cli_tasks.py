"""The task life from the shell, in-process: users, assign, progress with evidence, verify, show, Excel."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from tests.test_lifecycle import PDF, add_tasks
from tracker import users
from tracker.cli import app
from tracker.db import session_scope
from tracker.models import Task

runner = CliRunner()


def rectify(*args: str, input: str | None = None, code: int = 0):
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def shell(engine, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps long Chinese messages at 80 columns otherwise
    with session_scope(engine) as s:
        xili = add_tasks(s, township="西里镇", n=3)
        dong = add_tasks(s, township="东湖镇", n=1)
    rectify("users", "add", "county", "--role", "county_staff", "--password-stdin", input="county-pass-1\n")
    rectify(
        "users", "add", "xili", "--role", "township", "--township", "西里镇", "--password-stdin", input="xili-pass1\n"
    )
    return xili, dong


def test_users_commands(engine, shell):
    r = rectify(
        "users",
        "add",
        "x",
        "--role",
        "township",
        "--township",
        "无名镇",
        "--password-stdin",
        input="12345678\n",
        code=1,
    )
    assert "乡镇“无名镇”不存在" in r.stderr
    r = rectify("users", "add", "y", "--role", "county_staff", "--password-stdin", input="short\n", code=1)
    assert "密码不符合要求：长度至少 10 位（现为 5 位）" in r.stderr
    rectify("users", "add", "z", "--role", "mayor", "--password-stdin", input="12345678\n", code=2)
    token = rectify("users", "token", "xili").stdout.strip()
    with Session(engine) as s:
        assert users.user_for_token(s, token=token).name == "xili"
        assert users.authenticate(s, name="county", password="county-pass-1").role == "county_staff"
    listed = json.loads(rectify("users", "list", "--format", "json").stdout)
    assert [(u["name"], u["role"], u["township"]) for u in listed] == [
        ("county", "county_staff", None),
        ("xili", "township", "西里镇"),
    ]
    rectify("users", "disable", "xili")
    r = rectify("tasks", "show", str(shell[0][0]), "--as", "xili", code=1)
    assert "用户 xili 已停用" in r.stderr


def test_task_life_from_the_shell(engine, shell, tmp_path):
    (a, b, c), (theirs,) = shell
    pdf = tmp_path / "纪要.pdf"
    pdf.write_bytes(PDF)
    fake = tmp_path / "伪装.pdf"
    fake.write_bytes(b"MZ" + b"\0" * 100)

    r = rectify(
        "tasks",
        "assign",
        str(a),
        str(b),
        "--as",
        "county",
        "--unit",
        "司法所",
        "--person",
        "张三",
        "--deadline",
        "2024-06-30",
        "--category",
        "限期整改",
    )
    assert f"任务 {a} 已分派：司法所 张三，2024年6月30日前，限期整改" in r.stdout
    rectify(
        "tasks",
        "assign",
        str(c),
        "--as",
        "county",
        "--unit",
        "司法所",
        "--person",
        "李四",
        "--deadline",
        "2024-12-31",
        "--category",
        "长期坚持",
    )
    rectify(
        "tasks",
        "assign",
        str(a),
        "--as",
        "county",
        "--unit",
        "u",
        "--person",
        "p",
        "--deadline",
        "2024-13-01",
        "--category",
        "限期整改",
        code=2,
    )
    r = rectify(
        "tasks",
        "assign",
        str(a),
        "--as",
        "xili",
        "--unit",
        "u",
        "--person",
        "p",
        "--deadline",
        "2024-06-01",
        "--category",
        "限期整改",
        code=1,
    )
    assert "无权执行此操作" in r.stderr

    r = rectify(
        "tasks", "progress", str(a), "--as", "xili", "--note", "已召开专题会议", "--evidence", str(fake), code=1
    )
    assert "伪装.pdf 类型不支持" in r.stderr
    r = rectify(
        "tasks",
        "progress",
        str(a),
        "--as",
        "xili",
        "--note",
        "已召开专题会议",
        "--percent",
        "60",
        "--evidence",
        str(pdf),
        "--submit",
    )
    assert "佐证材料 1 个" in r.stdout and "待审核" in r.stdout
    r = rectify("tasks", "progress", str(theirs), "--as", "xili", "--note", "越权", code=1)
    assert f"任务 {theirs} 不存在" in r.stderr
    r = rectify("tasks", "progress", str(a), "--as", "xili", "--note", "再报", "--version", "2", code=1)
    assert "该任务已被他人修改（当前版本 3）" in r.stderr

    rectify("tasks", "verify", str(a), "--as", "county", "--reject", "缺少会议照片")
    r = rectify("tasks", "submit", str(a), "--as", "xili", code=0)
    r = rectify("tasks", "verify", str(a), "--as", "county")
    assert f"任务 {a} 已销号" in r.stdout
    r = rectify("tasks", "verify", str(a), "--as", "county", code=1)
    assert "任务当前状态为“已销号”，不能审核销号" in r.stderr
    rectify("tasks", "stage-done", str(c), "--as", "county", "--year", "2024")
    with Session(engine) as s:
        assert (s.get(Task, a).status, s.get(Task, b).status, s.get(Task, c).stage_done_year) == (
            "已销号",
            "整改中",
            2024,
        )

    shown = rectify("tasks", "show", str(a), "--as", "xili").stdout
    assert "状态：已销号" in shown and "xili：已召开专题会议（60%）" in shown and "纪要.pdf" in shown
    assert "county 退回：状态 待审核 → 整改中（原因：缺少会议照片）" in shown
    data = json.loads(rectify("tasks", "show", str(a), "--as", "county", "--format", "json").stdout)
    assert [e["action"] for e in data["journal"]] == ["分派", "提交审核", "退回", "提交审核", "销号"]
    assert data["evidence"][0]["filename"] == "纪要.pdf" and data["version"] == 6


def test_ledger_export_and_import_from_the_shell(engine, shell, tmp_path):
    (a, b, c), _ = shell
    out = tmp_path / "台账.xlsx"
    r = rectify("ledger", "export", str(out), "--as", "xili")
    assert "已导出 3 项" in r.stdout  # a township user exports only its own
    rectify("ledger", "export", str(tmp_path / "x.csv"), "--as", "county", code=2)
    rectify("ledger", "export", str(out), "--as", "county", "--township", "西里镇")
    wb = load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    for row in (2, 3):
        ws.cell(row, col["整改类别"], "立行立改")
        ws.cell(row, col["责任单位"], "综治办")
        ws.cell(row, col["责任人"], "王五")
        ws.cell(row, col["整改时限"], "2024年9月30日")
    ws.cell(3, col["整改时限"], "九月底")
    wb.save(out)
    r = rectify("ledger", "import", str(out), "--as", "xili", code=1)
    assert "无权执行此操作" in r.stderr
    r = rectify("ledger", "import", str(out), "--as", "county", code=1)
    assert "已更新 1 项" in r.stdout
    assert "第 3 行：整改时限“九月底”不是有效日期" in r.stderr and "其余行已导入" in r.stderr
