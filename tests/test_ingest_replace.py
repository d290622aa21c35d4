"""`ingest --replace` writes task versions the way lifecycle does: conditional on the version read,
bumped by one, journalled; an edit made between its read and its write is kept, not overwritten."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, update
from sqlmodel import Session

from tracker import ingest
from tracker.ingest import ingest_file
from tracker.models import AuditEvent, Report, Status, Task

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "鹤鸣镇-2024.txt"
RENAMED = "矛盾纠纷源头化解能力不足"
GONE = "政务公开的及时性和完整性有待提高"


def _second_version(tmp_path: Path) -> Path:
    """The same report with one shortcoming retitled and another dropped."""
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace(f"(2){RENAMED}", "(2)矛盾纠纷源头化解能力仍然不足")
    text = re.sub(rf"\(4\){GONE}\n[^\n]*\n", "", text)
    assert GONE not in text
    path = tmp_path / "鹤鸣镇-2024-修订.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _task(session: Session, title: str) -> Task:
    return session.scalars(select(Task).where(Task.title == title)).one()


def test_replace_bumps_versions_and_journals(engine, tmp_path):
    ingest_file(engine=engine, path=SAMPLE, actor="a")
    with Session(engine) as s:
        renamed_id, gone_id = _task(s, RENAMED).id, _task(s, GONE).id

    r = ingest_file(engine=engine, path=_second_version(tmp_path), actor="b", replace=True)

    assert r.outcome == "replaced", r.message
    with Session(engine) as s:
        renamed, gone = s.get(Task, renamed_id), s.get(Task, gone_id)
        assert (renamed.title, renamed.version) == ("矛盾纠纷源头化解能力仍然不足", 2)
        assert (gone.status, gone.version) == (Status.withdrawn, 2)
        events = {
            e.entity_id: e
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.entity == "task", AuditEvent.action.in_(["update", "withdraw"]))
            )
        }
        assert events[renamed_id].before == {"title": RENAMED, "version": 1}
        assert events[renamed_id].after == {"title": "矛盾纠纷源头化解能力仍然不足", "version": 2}
        assert events[gone_id].before == {"status": Status.unassigned.value, "version": 1}
        assert events[gone_id].after == {"status": Status.withdrawn.value, "version": 2}


def test_an_edit_between_read_and_write_is_not_overwritten(engine, tmp_path, monkeypatch):
    """A county user assigns the task the re-import is about to withdraw, after the re-import read it."""
    ingest_file(engine=engine, path=SAMPLE, actor="a")
    with Session(engine) as s:
        gone_id = _task(s, GONE).id
    concurrent = (
        update(Task)
        .where(Task.id == gone_id, Task.version == 1)
        .values(status=Status.in_progress.value, owner_unit="党政办", version=2)
    )
    read_tasks = ingest._read_tasks

    def read_then_someone_edits(session, report_id):
        tasks = read_tasks(session, report_id)
        if engine.dialect.name == "postgresql":  # a real second connection, committed at once
            with engine.begin() as other:
                other.execute(concurrent)
        else:  # SQLite: the import holds the only write lock, so the edit goes through its connection
            session.connection().execute(concurrent)
        return tasks

    monkeypatch.setattr(ingest, "_read_tasks", read_then_someone_edits)
    r = ingest_file(engine=engine, path=_second_version(tmp_path), actor="b", replace=True)

    assert r.outcome == "failed"
    assert f"任务 {gone_id}" in r.message and "被他人修改" in r.message
    with Session(engine) as s:
        task = s.get(Task, gone_id)
        if engine.dialect.name == "postgresql":
            assert (task.status, task.owner_unit, task.version) == (Status.in_progress, "党政办", 2)
        else:  # the simulated edit rolled back with the report; the task is as it was
            assert (task.status, task.version) == (Status.unassigned, 1)
        assert s.scalars(select(Report.source_name)).one() == SAMPLE.name  # the report was not replaced
        assert _task(s, RENAMED).version == 1
        assert not s.scalars(select(AuditEvent).where(AuditEvent.action.in_(["update", "withdraw", "replace"]))).all()
