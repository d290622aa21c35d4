"""The embedded scheduler: APScheduler 3 with its job store in the app's database, run by one process.

Every `rectify serve` calls `start(engine)`; a background thread competes for the lease row and
only its holder runs a scheduler (the others serve pages and keep trying, so one takes over
within a lease length after the holder stops renewing). On taking the lease, the scheduler
starts paused, adds only the jobs missing from the store (never `replace_existing=True`, which
would recompute next run times and drop runs missed while down), then resumes: with
`coalesce=True` and a misfire grace covering the outage, missed runs become one catch-up run.
Jobs call the flows' bodies directly unless PREFECT_API_URL is set (see workflows.flows.run) and
record each run in JobRun. Every job is idempotent (outbox dedupe keys, delivery claims), so even
a holder that stalls past its lease cannot send anything twice.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from notifications import lease
from notifications.models import JobRun, apscheduler_jobs
from tracker.config import TZ, NotifySettings, get_settings
from tracker.db import session_scope, utcnow

log = logging.getLogger("rectify.scheduler")
LEASE_NAME = "scheduler"
JOB_LABELS = {
    "check_progress": "每日整改进度检查",
    "weekly_digest": "每周汇总",
    "year_end_summary": "年终整改情况汇总",
    "send_notifications": "发送提醒",
}

# The leading handle's engine and name, for run_job: jobs are stored by reference, engines cannot be.
_leader: dict = {}


def triggers(ns: NotifySettings) -> dict:
    return {
        "check_progress": CronTrigger.from_crontab(ns.check_cron, timezone=TZ),
        "weekly_digest": CronTrigger.from_crontab(ns.digest_cron, timezone=TZ),
        "year_end_summary": CronTrigger.from_crontab(ns.yearend_cron, timezone=TZ),
        "send_notifications": IntervalTrigger(minutes=ns.notify_minutes, timezone=TZ),
    }


def run_job(name: str) -> None:
    """One scheduled run of flow `name`, logged in JobRun."""
    engine, holder = _leader["engine"], _leader["holder"]
    with session_scope(engine) as session:
        run = JobRun(job=name, holder=holder)
        session.add(run)
    values = {}
    try:
        from workflows import configure_prefect

        configure_prefect()  # before Prefect loads
        from workflows.flows import run as run_flow

        values = {"status": "ok", "summary": _brief(run_flow(name, engine=engine))}
    except Exception as exc:
        log.exception("scheduled job %s failed", name)
        values = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:4000]}
    finally:
        with session_scope(engine) as session:
            session.execute(update(JobRun).where(JobRun.id == run.id).values(finished_at=utcnow(), **values))


def _brief(result) -> dict | None:
    """The run's result for the log, JSON-safe, long lists replaced by their length."""
    if not isinstance(result, dict):
        return None if result is None else {"result": str(result)}
    brief = {k: len(v) if isinstance(v, list) and len(v) > 20 else v for k, v in result.items()}
    return json.loads(json.dumps(brief, ensure_ascii=False, default=str))


class SchedulerHandle:
    """The lease thread of one process and, while it holds the lease, its scheduler."""

    def __init__(self, engine: Engine, *, settings: NotifySettings, holder: str | None = None):
        self.engine = engine
        self.settings = settings
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rectify-scheduler-lease", daemon=True)

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> SchedulerHandle:
        if self.settings.scheduler:
            self._thread.start()
        return self

    def _loop(self) -> None:
        ttl = timedelta(seconds=self.settings.lease_seconds)
        while not self._stop.is_set():
            try:
                held = lease.acquire(self.engine, name=LEASE_NAME, holder=self.holder, ttl=ttl)
            except Exception:  # the database is unreachable: we cannot prove we still hold it
                log.exception("scheduler lease check failed")
                held = False
            if held and self.scheduler is None:
                self._start_scheduler()
            elif not held and self.scheduler is not None:
                log.warning("scheduler lease lost by %s: stopping its scheduler", self.holder)
                self._stop_scheduler(wait=False)
            self._stop.wait(self.settings.lease_seconds / 3)

    def _start_scheduler(self) -> None:
        ns = self.settings
        grace = max(1, int(ns.misfire_grace_hours * 3600))
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename="apscheduler_jobs")},
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
            timezone=TZ,
        )
        _leader.update(engine=self.engine, holder=self.holder)
        scheduler.start(paused=True)
        for job_id, trigger in triggers(ns).items():
            job = scheduler.get_job(job_id)
            if job is None:
                scheduler.add_job(run_job, trigger, args=[job_id], id=job_id, name=JOB_LABELS[job_id])
                continue
            if str(job.trigger) != str(trigger):  # the configured schedule changed: follow it from now on
                scheduler.reschedule_job(job_id, trigger=trigger)
            if job.misfire_grace_time != grace:
                scheduler.modify_job(job_id, misfire_grace_time=grace)
        scheduler.resume()
        self.scheduler = scheduler
        log.info("scheduler started by %s", self.holder)

    def _stop_scheduler(self, *, wait: bool) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=wait)

    def shutdown(self, *, release: bool = True) -> None:
        """Stop competing and stop the scheduler (waiting for running jobs); hand the lease on at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        was_leader = self.is_leader
        self._stop_scheduler(wait=True)
        if release and was_leader:
            lease.release(self.engine, name=LEASE_NAME, holder=self.holder)


def start(engine: Engine, *, settings: NotifySettings | None = None, holder: str | None = None) -> SchedulerHandle:
    """For `rectify serve`: compete for the lease in the background; `handle.shutdown()` at exit.

    With RECTIFY_SCHEDULER=0 (flows deployed on a Prefect server instead) the handle does nothing.
    """
    return SchedulerHandle(engine, settings=settings or get_settings().notify, holder=holder).start()


def status(engine: Engine) -> dict:
    """The lease, each job's next run (from the job store) and its latest logged run."""
    with engine.connect() as conn:
        next_runs = dict(conn.execute(select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time)).all())
    with session_scope(engine) as session:
        jobs = []
        for job_id, label in JOB_LABELS.items():
            last = (
                session.execute(select(JobRun).where(JobRun.job == job_id).order_by(JobRun.id.desc()).limit(1))
                .scalars()
                .first()
            )
            ts = next_runs.get(job_id)
            jobs.append(
                {
                    "id": job_id,
                    "label": label,
                    "last_run": last,
                    "next_run": datetime.fromtimestamp(ts, UTC) if ts else None,
                }
            )
    return {"lease": lease.current(engine, name=LEASE_NAME), "jobs": jobs}
