"""The embedded scheduler: one lease holder runs it, others take over, missed runs are caught up once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from notifications import lease
from notifications.models import JobRun
from notifications.scheduler import LEASE_NAME, start, status
from tests.test_notify_support import notify_settings
from tracker.config import TZ
from tracker.db import session_scope


def wait_for(predicate, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def runs(engine, job: str = "check_progress") -> list[JobRun]:
    with session_scope(engine) as s:
        return list(s.execute(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)).scalars())


def settings(**kw):
    return notify_settings(**{"lease_seconds": 1.5, "scheduler": True, **kw})


def next_run(engine, job: str = "check_progress") -> datetime | None:
    return next(j["next_run"] for j in status(engine)["jobs"] if j["id"] == job)


def store_with_missed_check(engine, missed_at: datetime) -> None:
    """A first process added the jobs, then was down while check_progress was due at `missed_at`."""
    first = start(engine, settings=settings(), holder="first")
    assert wait_for(lambda: first.is_leader)
    first.shutdown()
    # Edit the stored job without a scheduler: shutting one down (even paused) processes due jobs one
    # last time after closing its executors, which would consume the missed run without running it.
    store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")
    store.start(BackgroundScheduler(timezone=TZ), "default")
    job = store.lookup_job("check_progress")
    job._modify(next_run_time=missed_at)
    store.update_job(job)
    assert runs(engine) == []


def test_lease_single_holder_renewal_and_takeover(engine):
    t0 = datetime.now(UTC)
    ttl = timedelta(seconds=30)
    assert lease.acquire(engine, name="x", holder="a", ttl=ttl, now=t0)
    assert not lease.acquire(engine, name="x", holder="b", ttl=ttl, now=t0 + timedelta(seconds=10))
    assert lease.acquire(engine, name="x", holder="a", ttl=ttl, now=t0 + timedelta(seconds=20))  # renewed to t0+50
    assert not lease.acquire(engine, name="x", holder="b", ttl=ttl, now=t0 + timedelta(seconds=45))
    assert lease.acquire(engine, name="x", holder="b", ttl=ttl, now=t0 + timedelta(seconds=51))  # a stopped renewing
    assert not lease.acquire(engine, name="x", holder="a", ttl=ttl, now=t0 + timedelta(seconds=52))
    lease.release(engine, name="x", holder="b")
    assert lease.acquire(engine, name="x", holder="a", ttl=ttl)
    assert lease.current(engine, name="x").holder == "a"


def test_concurrent_contenders_one_wins(engine):
    won = []
    barrier = threading.Barrier(4)

    def contend(name):
        barrier.wait()
        if lease.acquire(engine, name="race", holder=name, ttl=timedelta(seconds=30)):
            won.append(name)

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_missed_check_is_caught_up_once(engine):
    now = datetime.now(UTC)
    store_with_missed_check(engine, now - timedelta(days=3))  # three daily 08:00 runs missed
    handle = start(engine, settings=settings(misfire_grace_hours=7 * 24), holder="restarted")
    try:
        assert wait_for(lambda: [r for r in runs(engine) if r.finished_at])
        time.sleep(0.5)
        [run] = runs(engine)
        assert (run.status, run.holder) == ("ok", "restarted"), run.error
        assert run.summary["as_of"] == datetime.now(TZ).date().isoformat()
        assert next_run(engine) > datetime.now(UTC)  # back on its daily schedule
    finally:
        handle.shutdown()


def test_run_missed_beyond_the_grace_is_skipped(engine):
    store_with_missed_check(engine, datetime.now(UTC) - timedelta(days=3))
    handle = start(engine, settings=settings(misfire_grace_hours=1 / 3600), holder="restarted")
    try:
        assert wait_for(lambda: handle.is_leader)
        assert wait_for(lambda: next_run(engine) > datetime.now(UTC), timeout=10)
        time.sleep(0.5)
        assert runs(engine) == []
    finally:
        handle.shutdown()


def test_two_schedulers_one_database_only_one_runs_then_takeover(engine):
    store_with_missed_check(engine, datetime.now(UTC) - timedelta(hours=2))
    handles = []
    barrier = threading.Barrier(2)

    def serve(name):
        barrier.wait()
        handles.append(start(engine, settings=settings(), holder=name))

    threads = [threading.Thread(target=serve, args=(n,)) for n in ("serve-1", "serve-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert wait_for(lambda: [r for r in runs(engine) if r.finished_at])
        time.sleep(1.0)  # several lease rounds: the other process must not have run anything
        leaders = [h for h in handles if h.is_leader]
        assert len(leaders) == 1
        [run] = runs(engine)
        assert run.holder == leaders[0].holder and run.status == "ok"
        assert lease.current(engine, name=LEASE_NAME).holder == leaders[0].holder
        follower = next(h for h in handles if not h.is_leader)

        leaders[0].shutdown(release=False)  # the holder dies without handing over: it just stops renewing
        assert wait_for(lambda: follower.is_leader, timeout=10)
        assert lease.current(engine, name=LEASE_NAME).holder == follower.holder
        time.sleep(0.5)
        assert len(runs(engine)) == 1  # the caught-up run is not repeated by the new holder
    finally:
        for h in handles:
            h.shutdown()


def test_restart_keeps_the_stored_schedule_and_follows_a_changed_one(engine):
    first = start(engine, settings=settings(), holder="a")
    assert wait_for(lambda: first.is_leader)
    planned = next_run(engine)
    first.shutdown()
    again = start(engine, settings=settings(), holder="b")
    assert wait_for(lambda: again.is_leader)
    assert next_run(engine) == planned  # not recomputed: a missed run would have survived
    again.shutdown()
    changed = start(engine, settings=settings(check_cron="15 6 * * *"), holder="c")
    assert wait_for(lambda: changed.is_leader)
    assert next_run(engine).astimezone(TZ).strftime("%H:%M") == "06:15"
    changed.shutdown()


def test_disabled_scheduler_never_takes_the_lease(engine):
    handle = start(engine, settings=settings(scheduler=False), holder="off")
    time.sleep(0.3)
    assert not handle.is_leader and lease.current(engine, name=LEASE_NAME) is None
    handle.shutdown()
