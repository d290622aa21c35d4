"""Ingest of a folder: reports share a transaction, each under its own savepoint."""
from __future__ import annotations

import shutil

from sqlalchemy import func, select
from sqlmodel import Session

from tests.conftest import SHARED, needs_shared
from tracker import ingest
from tracker.ingest import IngestError, ingest_paths
from tracker.models import AuditEvent, Item, ItemLink, Report, Task, TaskTheme, Township

REPORTS = SHARED / "reports"
NAMES = ("xiaojing-2023.txt", "xidagou-2024.txt", "xili-2023.txt")  # ingest order: sorted by name
pytestmark = needs_shared("reports/*.txt")


def test_failing_middle_report_rolls_back_to_its_savepoint_only(engine, tmp_path, monkeypatch):
    for name in NAMES:
        shutil.copy(REPORTS / name, tmp_path / name)
    real = ingest.analyze_report

    calls = []

    def fail_on_second(session, **kw):  # runs after the report, its items, tasks and journal are written
        calls.append(kw["report_id"])
        if len(calls) == 2:
            raise IngestError("第二份报告分析失败")
        return real(session, **kw)

    monkeypatch.setattr(ingest, "analyze_report", fail_on_second)
    seen = []
    results = ingest_paths(engine=engine, paths=[tmp_path], actor="a", on_result=seen.append)

    assert [r.outcome for r in results] == ["imported", "failed", "imported"]
    assert seen == results  # each result told once, in order
    assert results[1].message == "第二份报告分析失败" and results[1].path.endswith(NAMES[1])
    with Session(engine) as s:
        stored = s.execute(select(Report.id, Township.name).join(Township)).all()
        assert sorted(name for _, name in stored) == sorted([results[0].township, results[2].township])
        kept = {rid for rid, _ in stored}
        assert kept == {results[0].report_id, results[2].report_id}
        # Nothing of the failed report: every row hangs off one of the two stored reports.
        assert set(s.scalars(select(Item.report_id).distinct())) == kept
        assert set(s.scalars(select(Task.report_id).distinct())) == kept
        assert set(s.scalars(select(ItemLink.report_id).distinct())) <= kept
        themed = s.scalar(select(func.count()).select_from(TaskTheme))
        assert themed == s.scalar(select(func.count()).select_from(Task))
        journal = s.execute(select(AuditEvent.entity, AuditEvent.entity_id)).all()
        assert {eid for entity, eid in journal if entity == "report"} == kept
        tasks = set(s.scalars(select(Task.id)))
        assert {eid for entity, eid in journal if entity == "task"} == tasks
        assert s.scalar(select(func.count()).select_from(Township)) == 2


def test_batches_commit_and_report_every_file_once(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 2)  # three files: a batch of two, then one
    for name in NAMES:
        shutil.copy(REPORTS / name, tmp_path / name)
    shutil.copy(REPORTS / NAMES[0], tmp_path / "zz-副本.txt")  # same content as the first: duplicate
    seen = []
    results = ingest_paths(engine=engine, paths=[tmp_path], actor="a", on_result=seen.append)
    assert seen == results
    assert [r.outcome for r in results] == ["imported", "imported", "imported", "duplicate"]
    assert results[3].report_id == results[0].report_id
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 3
