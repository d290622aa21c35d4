"""The demo `rectify serve` sets up on an empty database moves with today's date: after it, the lights
show red, yellow and green, and the ledger holds progress with evidence, a 退回, a 销号, a task awaiting
review, a 阶段性完成 and an open recurring problem, all written through the lifecycle (journal included)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner

from tests.web_helpers import TEST_SECRET_KEY
from tracker.cli import app
from tracker.cli.serve import seed_demo
from tracker.config import TZ
from tracker.db import session_scope
from tracker.demo import REJECT_REASON, minutes_pdf, photo_png, stage_demo
from tracker.evidence import blob_path, check_file
from tracker.ledger import query_tasks
from tracker.lights import today
from tracker.models import AuditEvent, Evidence, Recurrence, Status, Task


def _check_demo(engine, day: date) -> None:
    with session_scope(engine) as s:
        rows = query_tasks(s, actor=None, as_of=day, per_page=500).items
        tasks = {t.id: t for t in s.execute(select(Task)).scalars()}
        statuses = [r.status for r in rows]
        lights = [r.light for r in rows if r.light]
        assert len(rows) == 63 and Status.unassigned not in statuses
        assert {"red", "yellow", "green"} <= set(lights)
        assert lights.count("red") < len(lights) / 2  # not "59 of 63 red"
        # nothing "698 天" overdue
        assert min(r.deadline for r in rows if r.light) >= day - timedelta(days=60)
        assert statuses.count(Status.closed) >= 5 and Status.pending_review in statuses
        assert any(r.evidence_count and r.status == Status.in_progress for r in rows)
        assert any(t.stage_done_year == day.year for t in tasks.values())
        # 退回: journalled with its reason, the task back in 整改中 with the rejected evidence kept
        rejects = (
            s.execute(select(AuditEvent).where(AuditEvent.entity == "task", AuditEvent.action == "reject"))
            .scalars()
            .all()
        )
        assert [e.reason for e in rejects] == [REJECT_REASON]
        sent_back = next(r for r in rows if r.id == rejects[0].entity_id)
        assert sent_back.status == Status.in_progress and sent_back.evidence_count == 2
        # a recurring problem: this year's task open, last year's closed
        pairs = s.execute(select(Recurrence.task_id, Recurrence.earlier_task_id)).all()
        assert any(
            tasks[now].status in (Status.in_progress, Status.pending_review) and tasks[before].status == Status.closed
            for now, before in pairs
        )
        # every closed task went through progress, submit and verify
        closed = [t.id for t in tasks.values() if t.status == Status.closed]
        events = select(AuditEvent).where(AuditEvent.entity == "task", AuditEvent.entity_id.in_(closed))
        verbs = {(e.entity_id, e.action) for e in s.execute(events).scalars()}
        assert all((i, "submit") in verbs and (i, "verify") in verbs for i in closed)
        files = s.execute(select(Evidence)).scalars().all()
        assert {f.filename.rsplit(".", 1)[1] for f in files} == {"pdf", "png"}
        for f in files:
            assert check_file(f.filename, blob_path(f.sha256).read_bytes())


def test_serve_sets_up_the_demo_around_today(engine, cli_env, monkeypatch):
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setenv("RECTIFY_SECRET_KEY", TEST_SECRET_KEY)  # required on PostgreSQL
    result = CliRunner().invoke(app, ["serve"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "演示数据：整改时限以今天为准" in result.output
    _check_demo(engine, today())


@pytest.mark.parametrize("day", [date(2025, 3, 1), date(2031, 7, 15)])
def test_the_demo_moves_with_the_date(engine, cli_env, day):
    with time_machine.travel(datetime(day.year, day.month, day.day, 9, 0, tzinfo=TZ), tick=False):
        seed_demo(engine)
        counts = stage_demo(engine)
        assert sum(counts.values()) == 63 and today() == day
        _check_demo(engine, day)


def test_generated_evidence_passes_the_upload_checks():
    assert check_file("纪要.pdf", minutes_pdf("法律顾问作用发挥不充分", "已整改到位")) == "application/pdf"
    assert check_file("照片.png", photo_png(1)) == "image/png"
    import pypdfium2

    text = pypdfium2.PdfDocument(minutes_pdf("法律顾问作用发挥不充分", "已整改到位"))[0].get_textpage().get_text_range()
    assert "整改工作会议纪要" in text and "法律顾问作用发挥不充分" in text
