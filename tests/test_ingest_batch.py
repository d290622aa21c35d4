"""Ingest of a folder: reports share a transaction, each under its own savepoint."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from tests.conftest import SHARED, needs_shared
from tracker import ingest
from tracker.ingest import IngestError, ingest_paths
from tracker.models import AuditEvent, Item, ItemLink, RectificationClaim, Recurrence, Report, Task, TaskTheme, Township

REPORTS = SHARED / "reports"
NAMES = ("xiaojing-2023.txt", "xidagou-2024.txt", "xili-2023.txt")  # ingest order: sorted by name
pytestmark = needs_shared("reports/*.txt")


def test_failing_middle_report_rolls_back_to_its_savepoint_only(engine, tmp_path, monkeypatch):
    from tracker import ingest_bulk

    monkeypatch.setattr(ingest_bulk, "ENABLED", False)  # the report-by-report path (the bulk one: below)
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


SAMPLES = Path(__file__).resolve().parents[1] / "samples"
_TABLES = (Township, Report, Item, Task, AuditEvent, TaskTheme, ItemLink, Recurrence, RectificationClaim)
_CLOCK = {"imported_at", "created_at", "updated_at", "at"}  # written at the time of the run


def _dump(engine) -> dict:
    with Session(engine) as s:
        out = {}
        for model in _TABLES:
            cols = [c for c in model.__table__.columns if c.key not in _CLOCK]
            out[model.__tablename__] = [
                tuple(r) for r in s.execute(select(*cols).order_by(*model.__table__.primary_key))
            ]
        return out


def _folders(tmp_path):
    """Round one: new townships (samples of 2023, gold reports, generated ones, a copy, a township twice);
    round two: the samples' next year (townships with reports: recurrences, claims) and a copy."""
    from bench.gen_reports import generate

    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    for f in SAMPLES.glob("*-2023.txt"):
        shutil.copy(f, one / f.name)
    for name in NAMES:
        shutil.copy(REPORTS / name, one / name)
    for name, data in generate(40, seed=3):
        (one / name).write_bytes(data)
    # Reports the bulk path leaves to the report-by-report one, which stores them after the others: named to
    # sort last (～ after every CJK character), so both paths hand out ids in the same order.
    shutil.copy(REPORTS / NAMES[0], one / "～副本.txt")
    shutil.copy(SAMPLES / "鹤鸣镇-2024.txt", one / "～鹤鸣镇-2024.txt")  # its township earlier in the batch
    for f in SAMPLES.glob("*-2024.txt"):
        shutil.copy(f, two / f.name)
    shutil.copy(SAMPLES / "松岭镇-2023.txt", two / "～松岭镇-2023-副本.txt")
    return one, two


def test_bulk_path_writes_what_the_report_by_report_path_writes(engine, tmp_path, monkeypatch):
    from tests.conftest import _truncate
    from tracker import ingest_bulk

    one, two = _folders(tmp_path)
    runs = []
    for enabled in (False, True):
        monkeypatch.setattr(ingest_bulk, "ENABLED", enabled)
        _truncate(engine)
        results = [
            (r.path, r.outcome, r.message, r.report_id, r.counts)
            for folder in (one, two)
            for r in ingest_paths(engine=engine, paths=[folder], actor="a")
        ]
        runs.append((results, _dump(engine)))
    (slow_results, slow), (bulk_results, bulk) = runs
    assert bulk_results == slow_results
    assert {r[1] for r in bulk_results} == {"imported", "duplicate"}
    for table in slow:
        assert bulk[table] == slow[table], table
    assert slow["recurrence"] and slow["rectificationclaim"] and slow["itemlink"]


def test_bulk_batch_that_fails_goes_report_by_report(engine, tmp_path, monkeypatch):
    """A batch whose bulk write fails (here: the analysis of its second report) is rolled back whole and
    stored report by report, so every report is there once, with its analysis."""
    from tracker import ingest_bulk

    for name in NAMES:
        shutil.copy(REPORTS / name, tmp_path / name)
    real, calls = ingest_bulk.link, []

    def fail_on_second(short, plans, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise IngestError("批量写入失败")
        return real(short, plans, **kw)

    monkeypatch.setattr(ingest_bulk, "link", fail_on_second)
    results = ingest_paths(engine=engine, paths=[tmp_path], actor="a")
    assert [r.outcome for r in results] == ["imported"] * 3
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 3
        assert s.scalar(select(func.count()).select_from(TaskTheme)) == s.scalar(select(func.count()).select_from(Task))
        assert set(s.scalars(select(ItemLink.report_id).distinct())) == {r.report_id for r in results}
