"""Lights agree between Python and SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from tracker.lights import GREEN, RED, YELLOW, light_of, light_sql
from tracker.models import Item, Report, Status, Task, Township

AS_OF = date(2024, 6, 1)
NOW = datetime(2024, 6, 1, 2, tzinfo=UTC)


def _task(s, n, **kw):
    t = Task(
        township_id=1,
        report_id=1,
        item_id=n,
        kind="shortcoming",
        title=f"t{n}",
        created_at=kw.pop("created_at", NOW),
        **kw,
    )
    s.add(t)
    return t


def test_lights_python_and_sql_agree(engine):
    with Session(engine) as s:
        s.add(Township(id=1, name="测试镇"))
        s.flush()
        s.add(
            Report(
                id=1,
                township_id=1,
                report_year=2023,
                plan_year=2024,
                source_name="a",
                sha256="x",
                text="",
                imported_by="t",
            )
        )
        s.flush()
        for n in range(1, 8):
            s.add(Item(id=n, report_id=1, kind="shortcoming", seq=n, title="", text="", start=0, end=1))
        s.flush()
        cases = {
            RED: _task(s, 1, deadline=AS_OF - timedelta(days=1), status=Status.in_progress),
            YELLOW: _task(s, 2, deadline=AS_OF + timedelta(days=15), status=Status.in_progress),
            GREEN: _task(s, 3, deadline=AS_OF + timedelta(days=16), status=Status.in_progress),
            "stale": _task(
                s,
                4,
                deadline=AS_OF + timedelta(days=90),
                status=Status.in_progress,
                last_progress_at=NOW - timedelta(days=31),
            ),
            "fresh": _task(
                s,
                5,
                deadline=AS_OF + timedelta(days=90),
                status=Status.in_progress,
                last_progress_at=NOW - timedelta(days=29),
            ),
            "closed": _task(s, 6, deadline=AS_OF - timedelta(days=100), status=Status.closed),
            "withdrawn": _task(s, 7, deadline=AS_OF - timedelta(days=100), status=Status.withdrawn),
        }
        s.commit()
        expected = {
            RED: RED,
            YELLOW: YELLOW,
            GREEN: GREEN,
            "stale": YELLOW,
            "fresh": GREEN,
            "closed": None,
            "withdrawn": None,
        }
        for key, task in cases.items():
            assert light_of(task, AS_OF) == expected[key], key
        sql = dict(s.execute(select(Task.id, light_sql(AS_OF))).all())
        assert {k: sql[t.id] for k, t in cases.items()} == expected
