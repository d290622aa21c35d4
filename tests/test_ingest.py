"""Ingest: one transaction per report, idempotent by content, --replace keeps task history."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from tests.conftest import SHARED, needs_shared
from tracker import audit
from tracker.cli import app
from tracker.ingest import ingest_file, ingest_paths
from tracker.models import AuditEvent, Item, Report, Status, Task, Township

REPORTS = SHARED / "reports"
XILI = REPORTS / "xili-2023.txt"
pytestmark = needs_shared("reports/*.txt")


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_import_real_report_creates_items_tasks_and_journal(engine):
    r = ingest_file(engine=engine, path=XILI, actor="县司法局")
    assert (r.outcome, r.township, r.report_year) == ("imported", "西里镇", 2023)
    with Session(engine) as s:
        report = s.scalars(select(Report)).one()
        assert report.plan_year == 2024 and report.issued_on == date(2024, 1, 5)
        assert report.imported_at.tzinfo is not None and report.imported_by == "县司法局"
        items = s.scalars(select(Item).order_by(Item.start)).all()
        for it in items:
            assert report.text[it.start : it.end] == it.text
        tasks = s.scalars(select(Task)).all()
        assert sorted(t.kind for t in tasks) == ["plan"] * 4 + ["shortcoming"] * 4
        assert {t.status for t in tasks} == {Status.unassigned}
        assert {t.deadline for t in tasks} == {date(2024, 12, 31)}
        assert any(t.title.startswith("法律顾问制度落实不到位") for t in tasks)
        events = s.scalars(select(AuditEvent)).all()
        assert sorted((e.entity, e.action) for e in events) == [("report", "import")] + [("task", "create")] * 8
        assert all(e.at.tzinfo is not None for e in events)


def test_same_content_again_adds_nothing(engine, tmp_path):
    ingest_file(engine=engine, path=XILI, actor="a")
    copy = tmp_path / "另一个文件名.txt"
    shutil.copy(XILI, copy)
    before = [count(engine, m) for m in (Report, Item, Task, AuditEvent)]
    r = ingest_file(engine=engine, path=copy, actor="b")
    assert r.outcome == "duplicate"
    assert "已导入" in r.message and "年" in r.message and "xili-2023.txt" in r.message
    assert [count(engine, m) for m in (Report, Item, Task, AuditEvent)] == before


def test_different_file_same_township_year_is_refused_without_replace(engine, tmp_path):
    ingest_file(engine=engine, path=XILI, actor="a")
    edited = tmp_path / "xili-2023-修改.txt"
    edited.write_text(
        XILI.read_text(encoding="utf-8").replace("调解队伍素质能力有待提升", "调解队伍能力不足"), encoding="utf-8"
    )
    r = ingest_file(engine=engine, path=edited, actor="b")
    assert r.outcome == "failed"
    assert "西里镇2023年度报告已于" in r.message and "--replace" in r.message and "xili-2023-修改.txt" in r.message
    assert count(engine, Report) == 1 and count(engine, Task) == 8


def test_replace_keeps_matched_tasks_and_withdraws_vanished(engine, tmp_path):
    ingest_file(engine=engine, path=XILI, actor="a")
    with Session(engine) as s:
        kept = s.scalars(select(Task).where(Task.title.startswith("法律顾问制度落实不到位"))).one()
        kept.status, kept.owner_unit, kept.version = Status.in_progress.value, "司法所", 2
        s.commit()
        kept_id = kept.id
        gone_id = s.scalars(select(Task).where(Task.title.startswith("调解队伍素质能力有待提升"))).one().id
    text = XILI.read_text(encoding="utf-8")
    start = text.index("（四）调解队伍素质能力有待提升")
    end = text.index("四、2024年推进法治政府建设的主要计划安排")
    new_text = text[:start] + "（四）行政复议应诉能力不强。部分干部不熟悉复议程序。\n" + text[end:]
    new = tmp_path / "xili-2023-v2.txt"
    new.write_text(new_text, encoding="utf-8")

    r = ingest_file(engine=engine, path=new, actor="b", replace=True)
    assert r.outcome == "replaced", r.message
    assert r.counts["withdrawn"] == 1 and r.counts["tasks"] == 1
    with Session(engine) as s:
        kept = s.get(Task, kept_id)
        assert (kept.status, kept.owner_unit) == (Status.in_progress, "司法所")
        gone = s.get(Task, gone_id)
        assert gone.status == Status.withdrawn and gone.version == 2
        assert s.get(Item, gone.item_id).removed_at is not None
        report = s.scalars(select(Report)).one()
        assert report.source_name == "xili-2023-v2.txt"
        live = s.scalars(select(Item).where(Item.removed_at.is_(None))).all()
        assert all(report.text[i.start : i.end] == i.text for i in live)
        assert s.scalars(select(Task).where(Task.title.startswith("行政复议应诉能力不强"))).one().status == "待分派"
        assert count(engine, Task) == 9  # nothing deleted
        withdraw = s.scalars(select(AuditEvent).where(AuditEvent.action == "withdraw")).one()
        assert withdraw.entity_id == gone_id and withdraw.before["status"] == "待分派"


@pytest.mark.parametrize("bulk", [False, True], ids=["report_by_report", "bulk"])
def test_failure_mid_report_leaves_nothing(engine, monkeypatch, bulk):
    from tracker import ingest_bulk

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_bulk, "ENABLED", bulk)
    if bulk:  # the journal is written after the report, its items and tasks
        rows = ingest_bulk._rows
        monkeypatch.setattr(
            ingest_bulk, "_rows", lambda conn, model, r: boom() if model is AuditEvent else rows(conn, model, r)
        )
    else:
        monkeypatch.setattr(audit, "record", boom)
    with pytest.raises(RuntimeError):
        ingest_file(engine=engine, path=XILI, actor="a")
    assert [count(engine, m) for m in (Township, Report, Item, Task, AuditEvent)] == [0, 0, 0, 0, 0]


def test_folder_with_bad_files_imports_the_good_ones(engine, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in ("xili-2023.txt", "xiaojing-2023.txt"):
        shutil.copy(REPORTS / name, folder / name)
    (folder / "空白.txt").write_bytes(b"")
    (folder / "图片.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (folder / "损坏.docx").write_bytes(b"not a zip at all")
    (folder / "无关.txt").write_text("会议通知\n请各村于周五前报送材料。\n", encoding="utf-8")
    results = {r.path.split("/")[-1]: r for r in ingest_paths(engine=engine, paths=[folder], actor="a")}
    assert {k: r.outcome for k, r in results.items()} == {
        "xili-2023.txt": "imported",
        "xiaojing-2023.txt": "imported",
        "空白.txt": "failed",
        "图片.txt": "failed",
        "损坏.docx": "failed",
        "无关.txt": "failed",
    }
    for name in ("空白.txt", "图片.txt", "损坏.docx", "无关.txt"):
        assert name in results[name].message
    assert count(engine, Report) == 2


def test_cli_ingest_summary_and_tasks_list_json(cli_env):
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(XILI), "--as", "县司法局"])  # --as names an existing county user
    assert res.exit_code == 1 and "用户 县司法局 不存在" in res.stderr
    res = runner.invoke(
        app, ["users", "add", "县司法局", "--role", "county_staff", "--password-stdin"], input="County-pass-2024\n"
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["ingest", str(XILI), str(REPORTS / "xidagou-2024.txt"), "--as", "县司法局"])
    assert res.exit_code == 0, res.output
    assert "已导入" in res.output and "西大沟镇" in res.output
    again = runner.invoke(app, ["ingest", str(XILI)])
    assert again.exit_code == 0 and "重复跳过" in again.output
    res = runner.invoke(app, ["tasks", "list", "--township", "西里镇", "--kind", "shortcoming", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 4
    assert set(rows[0]) >= {
        "id",
        "township",
        "report_year",
        "kind",
        "title",
        "status",
        "deadline",
        "owner",
        "start",
        "end",
    }
    assert {r["township"] for r in rows} == {"西里镇"} and rows[0]["deadline"] == "2024-12-31"
    text = XILI.read_text(encoding="utf-8")
    assert all(text[r["start"] : r["end"]].lstrip().startswith("（") for r in rows)


def test_cli_ingest_exits_nonzero_when_nothing_imported(cli_env, tmp_path):
    bad = tmp_path / "空白.txt"
    bad.write_bytes(b"")
    res = CliRunner().invoke(app, ["ingest", str(bad)])
    assert res.exit_code == 1 and "空白.txt" in res.output
