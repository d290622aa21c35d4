"""Edges on SQLite and PostgreSQL (issue 13): the CLI refuses bad input with a Chinese line and a
non-zero exit, never a traceback; lengths are refused alike on both databases; an import naming
100,000 task ids stays under PostgreSQL's 65,535 bind parameters."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from tests.test_lifecycle import add_tasks
from tracker import excel, lifecycle, users
from tracker.cli import app
from tracker.db import session_scope
from tracker.errors import ValidationFailed

runner = CliRunner()
PASSWORD = "Edge-pass-2024"


def rectify(*args: str, input: str | None = None, code: int = 0):
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture
def shell(engine, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    with session_scope(engine) as s:
        xili = add_tasks(s, township="西里镇", n=2)
        dong = add_tasks(s, township="东湖镇", n=1)
    rectify("users", "add", "county", "--role", "county_staff", "--password-stdin", input=f"{PASSWORD}\n")
    rectify(
        "users", "add", "xili", "--role", "township", "--township", "西里镇", "--password-stdin", input=f"{PASSWORD}\n"
    )
    return xili, dong


def test_township_user_asking_for_another_townships_task(shell):
    (own, _), (theirs,) = shell
    r = rectify("tasks", "show", str(theirs), "--as", "xili", code=1)
    assert f"任务 {theirs} 不存在" in r.stderr and "东湖镇" not in r.stdout + r.stderr
    assert "西里镇" in rectify("tasks", "show", str(own), "--as", "xili").stdout


def test_far_as_of_dates_and_unknown_importers(shell, tmp_path):
    for command in (("check",), ("digest",)):
        r = rectify(*command, "--as-of", "9999-12-30", code=1)
        assert "--as-of 日期 9999-12-30 超出范围" in r.stderr
    r = rectify("check", "--as-of", "0001-01-01", code=1)
    assert "超出范围" in r.stderr
    report = tmp_path / "r.txt"
    report.write_text("西里镇2023年法治政府建设情况报告\n", encoding="utf-8")
    r = rectify("ingest", str(report), "--as", "无此人", code=1)
    assert "用户 无此人 不存在" in r.stderr
    r = rectify("ingest", str(report), "--as", "xili", code=1)  # a township user does not import reports
    assert "错误" in r.stderr


def _with_dtd() -> bytes:
    wb = Workbook()
    wb.active.append(["任务编号", "版本", "类型", "责任单位", "责任人", "整改时限"])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in src.namelist():
            zf.writestr(name, src.read(name))
        zf.writestr(
            "xl/sharedStrings.xml",
            b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaa">]>'
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&a;</t></si></sst>',
        )
    return out.getvalue()


def test_malformed_sheet_from_the_shell(shell, tmp_path):
    bad = tmp_path / "台账.xlsx"
    bad.write_bytes(_with_dtd())
    r = rectify("ledger", "import", str(bad), "--as", "county", code=1)
    assert "含有 DTD 声明" in r.stderr
    bad.write_bytes(b"PK\x03\x04 broken")
    r = rectify("ledger", "import", str(bad), "--as", "county", code=1)
    assert "不是有效的 Excel" in r.stderr


def test_lengths_are_refused_alike_on_both_databases(engine):
    with session_scope(engine) as s:
        (task_id,) = add_tasks(s, n=1)
        admin = users.create_user(s, name="县管理员", role="county_admin", password=PASSWORD)
        for unit, person, field in (
            ("单" * 129, "张三", "责任单位不能超过 128 个字符"),
            ("司法所", "人" * 65, "责任人不能超过 64 个字符"),
        ):
            with pytest.raises(ValidationFailed, match=field):
                lifecycle.assign(
                    s,
                    actor=admin,
                    task_ids=[task_id],
                    owner_unit=unit,
                    owner_person=person,
                    deadline=date(2031, 1, 1),
                    category="限期整改",
                )
        lifecycle.assign(
            s,
            actor=admin,
            task_ids=[task_id],
            owner_unit="单" * 128,
            owner_person="人" * 64,
            deadline=date(2031, 1, 1),
            category="限期整改",
        )


def test_import_naming_100000_task_ids(engine, monkeypatch):
    """More ids than PostgreSQL takes bind parameters: looked up in chunks, each row answered."""
    with session_scope(engine) as s:
        (task_id,) = add_tasks(s, n=1)
        admin = users.create_user(s, name="县管理员", role="county_admin", password=PASSWORD)
        version = lifecycle.get_task(s, actor=admin, task_id=task_id).version
    rows = [
        excel._Row(
            n + 2,
            tid,
            version,
            "",
            {"owner_unit": "司法所", "owner_person": "张三", "deadline": date(2031, 1, 1), "category": "限期整改"},
        )
        for n, tid in enumerate([task_id, *range(10_000_000, 10_100_000)])
    ]
    monkeypatch.setattr(excel, "_read_rows", lambda source, report: rows)
    with session_scope(engine) as s:
        report = excel.import_assignments(s, actor=users.get_user(s, name="县管理员"), source=b"")
    assert report.applied == [task_id]
    assert len(report.errors) == 100_000 and report.errors[0].reason == "任务编号 10000000 不存在"
