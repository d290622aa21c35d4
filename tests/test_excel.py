"""Excel round trip: export the ledger, edit the sheet with openpyxl, import it back."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import Session

from tests.test_lifecycle import DEADLINE, PDF, add_tasks, add_user
from tracker import audit, excel, lifecycle
from tracker.db import session_scope
from tracker.errors import Forbidden, ValidationFailed
from tracker.models import AuditEvent, Task

AS_OF = date(2024, 7, 1)  # the assigned task (due 2024-06-30) is overdue, the others are not


@pytest.fixture
def sheet_world(engine, cli_env):
    with session_scope(engine) as s:
        xili = add_tasks(s, township="西里镇", n=5)
        dong = add_tasks(s, township="东湖镇", n=1)
        plan = add_tasks(s, township="东湖镇", n=1, kind="plan", year=2024)
        county = add_user(s, "county", "county_staff")
        xu = add_user(s, "xili", "township", "西里镇")
        lifecycle.assign(
            s,
            actor=county,
            task_ids=[xili[4]],
            owner_unit="司法所",
            owner_person="张三",
            deadline=DEADLINE,
            category="限期整改",
        )
        lifecycle.post_progress(
            s, actor=xu, task_id=xili[4], version=None, note="已完成制度修订", percent=80, files=[("制度.pdf", PDF)]
        )
    return {"xili": xili, "dong": dong, "plan": plan, "county": county, "xili_user": xu}


def _export(engine, actor, **filters) -> io.BytesIO:
    buf = io.BytesIO()
    with Session(engine) as s:
        excel.export_ledger(s, actor=actor, path_or_buffer=buf, as_of=AS_OF, **filters)
    buf.seek(0)
    return buf


def test_export_columns_and_values(engine, sheet_world):
    w = sheet_world
    buf = io.BytesIO()
    with Session(engine) as s:
        n = excel.export_ledger(s, actor=w["county"], path_or_buffer=buf, as_of=AS_OF)
        assert n == 7
        assert excel.export_ledger(s, actor=w["xili_user"], path_or_buffer=io.BytesIO(), as_of=AS_OF) == 5
        assert (
            excel.export_ledger(
                s, actor=w["county"], path_or_buffer=io.BytesIO(), as_of=AS_OF, township="东湖镇", kind="plan"
            )
            == 1
        )
    ws = load_workbook(buf).active
    assert ws.title == "整改台账"
    assert [c.value for c in ws[1]] == [
        "序号",
        "乡镇",
        "报告年度",
        "问题/计划",
        "整改事项",
        "整改措施",
        "整改类别",
        "责任单位",
        "责任人",
        "整改时限",
        "状态",
        "最新进展",
        "佐证材料数",
        "预警",
        "任务编号",
        "版本",
    ]
    assert ws.column_dimensions["O"].hidden and ws.column_dimensions["P"].hidden
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == ["G2:G508"]  # the 整改类别 column
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == list(range(1, 8))
    assert [r[1] for r in rows] == ["东湖镇", "东湖镇"] + ["西里镇"] * 5  # by township, year, kind
    assigned = next(r for r in rows if r[14] == w["xili"][4])
    assert assigned[2:] == [
        2023,
        "问题",
        "西里镇问题5",
        None,
        "限期整改",
        "司法所",
        "张三",
        assigned[9],
        "整改中",
        "已完成制度修订",
        1,
        "红灯",
        w["xili"][4],
        3,
    ]
    assert assigned[9].date() == DEADLINE
    plan_row = next(r for r in rows if r[14] == w["plan"][0])
    assert plan_row[3:6] == ["计划", plan_row[4], "东湖镇问题1。"]  # a plan item's text is its measures
    assert {r[13] for r in rows if r[14] != w["xili"][4]} == {"绿灯"}


def _edit(buf: io.BytesIO, edits: dict[int, dict[str, object]]) -> bytes:
    """Set cells by row number and header name, the way a clerk edits the sheet in Excel."""
    wb = load_workbook(buf)
    ws = wb.active
    col = {c.value: c.column for c in ws[1]}
    for row, values in edits.items():
        for header, value in values.items():
            ws.cell(row, col[header], value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _row_of(buf: io.BytesIO, task_id: int) -> int:
    ws = load_workbook(buf).active
    buf.seek(0)
    return next(r[0].row for r in ws.iter_rows(min_row=2) if r[14].value == task_id)


ASSIGN = {"整改类别": "立行立改", "责任单位": "综治办", "责任人": "王五", "整改时限": "2024年9月30日"}


def test_import_applies_good_rows_and_lists_bad_ones(engine, sheet_world):
    w = sheet_world
    x1, x2, x3, x4, done = w["xili"]
    buf = _export(engine, w["county"])
    row = {tid: _row_of(buf, tid) for tid in (x1, x2, x3, x4, done, w["dong"][0])}
    with session_scope(engine) as s:  # someone edits x4 after the export: its row is now stale
        lifecycle.assign(
            s,
            actor=w["county"],
            task_ids=[x4],
            owner_unit="党政办",
            owner_person="赵六",
            deadline=DEADLINE,
            category="限期整改",
        )
    data = _edit(
        buf,
        {
            row[x1]: ASSIGN,
            row[x2]: ASSIGN | {"整改时限": "2024-10-31", "整改类别": "长期坚持"},
            row[x3]: ASSIGN | {"任务编号": 999999},
            row[done]: ASSIGN | {"整改时限": "2024-02-30"},
            row[x4]: ASSIGN,
            row[w["dong"][0]]: ASSIGN | {"乡镇": "西里镇", "整改类别": "马上办"},
            9: {"任务编号": x1, "版本": 1} | ASSIGN,  # a pasted duplicate of the first row
        },
    )
    with session_scope(engine) as s:
        report = excel.import_assignments(s, actor=w["county"], source=data)
    assert sorted(report.applied) == sorted([x1, x2])
    assert report.skipped == 1 and report.unchanged == 0  # the untouched plan row
    assert [str(e) for e in report.errors] == sorted(
        [
            f"第 {row[x3]} 行：任务编号 999999 不存在",
            f"第 {row[done]} 行：整改时限“2024-02-30”不是有效日期（如 2024-06-30 或 2024年6月30日）",
            f"第 {row[x4]} 行：表中版本 1 已过期（当前版本 2），该任务在导出后被修改过，请重新导出后再改",
            f"第 {row[w['dong'][0]]} 行：整改类别“马上办”无效，应为 立行立改、限期整改、长期坚持",
            f"第 9 行：任务编号 {x1} 与第 {row[x1]} 行重复",
        ],
        key=lambda m: int(m.split(" ")[1]),
    )
    assert "已更新 2 项" in report.summary() and "5 行未导入" in report.summary()
    with Session(engine) as s:
        t1, t2, t4 = s.get(Task, x1), s.get(Task, x2), s.get(Task, x4)
        assert (t1.status, t1.owner_unit, t1.owner_person, t1.deadline, t1.category, t1.version) == (
            "整改中",
            "综治办",
            "王五",
            date(2024, 9, 30),
            "立行立改",
            2,
        )
        assert (t2.deadline, t2.category) == (date(2024, 10, 31), "长期坚持")
        assert (t4.owner_unit, t4.version) == ("党政办", 2)
        assert s.get(Task, x3).version == 1 and s.get(Task, w["dong"][0]).version == 1
        entry = lifecycle.journal(s, actor=w["county"], task_id=x1)[-1]
        assert entry["action"] == "分派" and entry["actor"] == "county"

    with session_scope(engine) as s:  # the same sheet again: applied rows are now unchanged, not stale
        again = excel.import_assignments(s, actor=w["county"], source=data)
    assert again.applied == [] and again.unchanged == 2 and len(again.errors) == 5


def test_row_of_another_township_and_permissions(engine, sheet_world):
    w = sheet_world
    buf = _export(engine, w["county"])
    dong_row = _row_of(buf, w["dong"][0])
    data = _edit(buf, {dong_row: ASSIGN | {"乡镇": "西里镇"}})
    with session_scope(engine) as s:
        report = excel.import_assignments(s, actor=w["county"], source=data)
        assert [str(e) for e in report.errors] == [
            f"第 {dong_row} 行：任务编号 {w['dong'][0]} 属于“东湖镇”，与本行乡镇“西里镇”不符"
        ]
        with pytest.raises(Forbidden):
            excel.import_assignments(s, actor=w["xili_user"], source=data)
        with pytest.raises(ValidationFailed, match="不是有效的 Excel"):
            excel.import_assignments(s, actor=w["county"], source=b"not a workbook")


def test_import_is_one_transaction(engine, sheet_world, monkeypatch):
    """A failure half-way (here: the journal write of the second row) leaves no row applied."""
    w = sheet_world
    buf = _export(engine, w["county"])
    x1, x2 = w["xili"][:2]
    data = _edit(buf, {_row_of(buf, x1): ASSIGN, _row_of(buf, x2): ASSIGN})
    calls = []
    real = audit.record

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "record", flaky)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as s:
            excel.import_assignments(s, actor=w["county"], source=data)
    with Session(engine) as s:
        assert [s.get(Task, t).version for t in (x1, x2)] == [1, 1]
        assert (
            s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "assign")).scalar() == 1
        )  # the fixture's own assignment only
