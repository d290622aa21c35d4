"""The flows: ingest reports, check progress, send notifications, weekly digest, year-end summary.

Each flow is a few batched steps, the work inside set-based SQL. How they run:
- `run(name, ...)` below, used by the CLI and the embedded scheduler: with PREFECT_API_URL set,
  a real flow run on that server (about 0.2 s of overhead, visible in Prefect's UI); without it,
  the flow's body directly (`.fn`, no Prefect server: a temporary one would cost 10–20 s to start
  and about 1 s per run, see bench/bench_prefect.py).
- `rectify deploy`: deployments of the same flows on a Prefect server, run by its workers.
Called via `.fn`, a body may be given an `engine`; real runs use the configured database.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from notifications import digest, outbox, reminders
from tracker.config import get_settings
from tracker.db import get_engine
from tracker.lights import today
from tracker.logs import configure_logging
from tracker.vocabulary import Light

ARTIFACT_ROWS = 100  # townships shown in the check's table artifact (the worst first)
log = logging.getLogger("rectify.flows")


def _counts(result) -> str:
    """A run's result for its log line: the numbers, nested counts, list lengths; no file names or texts."""
    if not isinstance(result, dict):
        return ""
    parts = []
    for key, value in result.items():
        if key == "as_of" or isinstance(value, (int, float)):
            parts.append(f"{key}={value}")
        elif isinstance(value, (list, tuple)):
            parts.append(f"{key}={len(value)}")
        elif isinstance(value, dict) and all(isinstance(v, (int, float)) for v in value.values()):
            parts.append(f"{key}=(" + " ".join(f"{k}={v}" for k, v in value.items()) + ")")
    return ", ".join(parts)


def _logged(body):
    """One log line per run, with its counts or its error. The body is also an entry point (a Prefect
    worker runs it in a process of its own), hence the logging set-up."""

    @functools.wraps(body)
    def run(*args, **kwargs):
        configure_logging()
        started = time.monotonic()
        try:
            result = body(*args, **kwargs)
        except Exception as exc:
            log.error(
                "flow %s failed after %.2f s: %s: %s",
                body.__name__,
                time.monotonic() - started,
                type(exc).__name__,
                exc,
            )
            raise
        log.info("flow %s done in %.2f s: %s", body.__name__, time.monotonic() - started, _counts(result))
        return result

    return run


def _in_flow_run() -> bool:
    return FlowRunContext.get() is not None


def _step(step, *args, **kwargs):
    """A Prefect task run inside a real flow run; the plain function when the body is called directly."""
    return step(*args, **kwargs) if _in_flow_run() else step.fn(*args, **kwargs)


@task(name="queue-reminders", cache_policy=NO_CACHE)
def queue_reminders(engine, as_of: date) -> dict[str, int]:
    return reminders.enqueue_reminders(engine=engine, as_of=as_of)


@task(name="queue-sent-back", cache_policy=NO_CACHE)
def queue_sent_back(engine, as_of: date) -> int:
    return reminders.enqueue_sent_back(engine=engine, as_of=as_of)


@task(name="light-summary", cache_policy=NO_CACHE)
def light_summary(engine, as_of: date) -> dict:
    return digest.light_summary(engine=engine, as_of=as_of)


@task(name="deliver", cache_policy=NO_CACHE)
def deliver(engine) -> dict[str, int]:
    return outbox.deliver(engine=engine).as_dict()


@task(name="queue-digests", cache_policy=NO_CACHE)
def queue_digests(engine, as_of: date) -> dict[str, int]:
    return digest.enqueue_digests(engine=engine, as_of=as_of)


@flow(name="check_progress")
@_logged
def check_progress(as_of: date | None = None, engine: Any = None) -> dict:
    """Queue the reminders owed on `as_of` (default today) and count open tasks per township and light."""
    engine = engine or get_engine()
    as_of = as_of or today()
    queued = _step(queue_reminders, engine, as_of)
    queued["sent_back"] = _step(queue_sent_back, engine, as_of)
    summary = _step(light_summary, engine, as_of)
    summary["queued"] = queued
    if _in_flow_run():
        _publish(summary)
    return summary


def _publish(summary: dict) -> None:
    totals, queued = summary["totals"], summary["queued"]
    create_markdown_artifact(
        key="check-progress-summary",
        markdown=(
            f"### 整改进度检查（{summary['as_of']}）\n\n"
            + "、".join(f"{Light(k).label} {v} 项" for k, v in totals.items())
            + f"\n\n新加入发送队列的提醒：{sum(queued.values())} 条（"
            + "，".join(f"{k} {v}" for k, v in queued.items())
            + "）"
        ),
        description="整改进度检查汇总",
    )
    create_table_artifact(
        key="check-progress-townships",
        table=[
            {"乡镇": r["township"], **{Light(k).label: r[k] for k in totals}}
            for r in summary["townships"][:ARTIFACT_ROWS]
        ],
        description=f"各乡镇红黄绿灯（红灯最多的前 {ARTIFACT_ROWS} 个）",
    )


@flow(name="send_notifications")
@_logged
def send_notifications(engine: Any = None) -> dict[str, int]:
    """Queue new 退回 notices, then deliver everything due in the outbox."""
    engine = engine or get_engine()
    queued = _step(queue_sent_back, engine, today())
    return {"sent_back": queued, **_step(deliver, engine)}


@flow(name="weekly_digest")
@_logged
def weekly_digest(as_of: date | None = None, engine: Any = None) -> dict[str, int]:
    """Queue this ISO week's digest for every township channel and the county's staff."""
    return _step(queue_digests, engine or get_engine(), as_of or today())


@flow(name="year_end_summary")
@_logged
def year_end_summary(year: int | None = None, as_of: date | None = None, engine: Any = None):
    """Each township's 问题整改情况 section and the county table for the problems of report `year`.

    Default: the year before `as_of` — on 1 December 2024 townships write about the problems of
    their 2023 report (filed early 2024), for the report they will file early 2025."""
    from tracker.yearend.run import run_year_end  # at run time: python-docx and matplotlib load only when needed

    as_of = as_of or today()
    year = year or as_of.year - 1
    out_dir = get_settings().data_dir / "yearend" / str(year)
    return run_year_end(engine=engine or get_engine(), year=year, as_of=as_of, out_dir=out_dir, actor="流程:年终材料")


@flow(name="ingest_reports")
@_logged
def ingest_reports(paths: list[str], replace: bool = False, actor: str = "流程:导入报告", engine: Any = None) -> dict:
    """Import report files or folders into the ledger (one transaction per report)."""
    from tracker.ingest import ingest_paths

    results = ingest_paths(engine=engine or get_engine(), paths=[Path(p) for p in paths], actor=actor, replace=replace)
    return {
        "counts": dict(Counter(r.outcome for r in results)),
        "results": [{"path": r.path, "outcome": r.outcome, "message": r.message} for r in results],
    }


FLOWS = {f.name: f for f in (check_progress, send_notifications, weekly_digest, year_end_summary, ingest_reports)}


def via_prefect() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


def run(name: str, *, engine=None, **params):
    """Run a flow the way this process is configured to (see the module docstring)."""
    chosen = FLOWS[name]
    if via_prefect():
        return chosen(**params)
    return chosen.fn(engine=engine, **params)
