"""`rectify serve` runs the scheduler in the app's lifespan: of two processes on one database, only
the lease holder schedules; at a clean stop it hands the lease on and the other takes over."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import func, select, table

from notifications import lease
from notifications.scheduler import JOB_LABELS, LEASE_NAME
from tests.web_helpers import web_env
from tracker.db import utcnow
from tracker.web.app import create_app


def _wait(cond, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_two_serving_apps_one_scheduler_then_take_over(tmp_path, monkeypatch):
    monkeypatch.setenv("RECTIFY_LEASE_SECONDS", "3")
    with web_env(tmp_path) as engine:
        holder = lambda: getattr(lease.current(engine, name=LEASE_NAME), "holder", None)  # noqa: E731
        first = create_app(engine=engine, start_scheduler=True)
        second = create_app(engine=engine, start_scheduler=True)
        with TestClient(first):
            _wait(lambda: holder() is not None)
            leader = holder()
            with TestClient(second):
                time.sleep(1.5)  # the follower checks the lease at least once meanwhile
                assert holder() == leader
                with engine.connect() as conn:
                    jobs = conn.execute(select(func.count()).select_from(table("apscheduler_jobs"))).scalar()
                assert jobs == len(JOB_LABELS)  # one set of jobs, not one per process
        assert lease.current(engine, name=LEASE_NAME).expires_at <= utcnow()  # handed back at shutdown
        with TestClient(second):
            _wait(lambda: holder() not in (None, leader))
