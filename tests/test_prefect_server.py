"""The scale path as it runs: a real `prefect server start` on PostgreSQL, `rectify deploy`, a process
worker, and a deployment whose schedule runs `check_progress` by itself (no manual trigger) and writes
outbox rows into the app's PostgreSQL database.

One test, in phases (it takes one to two and a half minutes: it waits for a minute boundary):
1. `rectify deploy --work-pool rectify` with the default schedules: every cron deployment (daily,
   weekly, yearly) and the interval one (outbox) get scheduled runs from the server's scheduler, at
   the times their cron gives in Asia/Shanghai. With SQLAlchemy 2.1 the scheduler created none.
2. `RECTIFY_CHECK_CRON='* * * * *' rectify deploy ...` again: the daily deployment now runs every
   minute, its old 08:00 runs are gone.
3. `RECTIFY_SCHEDULER=0 prefect worker start --pool rectify`: the next minute's scheduled run of
   check_progress completes and has queued the due-soon reminder of a task due in five days.
The server's log has no error at the end. Processes (server, worker, the worker's flow-run
processes) and both databases are removed even when the test fails. Timings are printed (`-s`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL, _pg_available, _skip_or_fail_pg
from tests.test_notify_support import add_channel, add_task
from tracker.db import make_engine, session_scope, upgrade
from tracker.lights import today

BIN = Path(sys.executable).parent
TZ = ZoneInfo("Asia/Shanghai")
POOL = "rectify"
DEFAULT_CRONS = {"daily": "0 8 * * *", "weekly": "30 8 * * mon", "yearly": "0 9 1 12 *"}
SCHEDULE_WAIT = 210  # seconds for the first scheduled run to complete (up to two minutes ahead + worker poll + start)
SERVER_ERRORS = ("Traceback", "Can't evaluate bulk DML", " ERROR ", "| ERROR", "CRITICAL")
QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(admin, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return name


@pytest.fixture
def databases():
    """A fresh app database and a fresh Prefect database, both dropped at the end."""
    reason = _pg_available()
    if reason:
        _skip_or_fail_pg(reason)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names: list[str] = []
    try:
        names.append(_database(admin, "rectify_app"))
        names.append(_database(admin, "rectify_prefect"))
        base = make_url(PG_ADMIN_URL)
        yield (
            base.set(database=names[0]).render_as_string(hide_password=False),
            base.set(drivername="postgresql+asyncpg", database=names[1]).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _descendants(pid: int) -> list[int]:
    """Every live process below `pid` (Linux /proc), flow-run processes in sessions of their own included."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@contextmanager
def _process(args: list[str], *, env: dict, log_path: Path, cwd: Path):
    """A subprocess in a session of its own, logging to `log_path`; on exit it, its group and every
    descendant get SIGTERM, then SIGKILL after 15 s."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        below = _descendants(proc.pid)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def _tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


@pytest.fixture
def prefect_api(databases, tmp_path, request):
    """`prefect server start` on 127.0.0.1 and a free port with its own PostgreSQL database; yields
    (API URL, log path, seconds it took to answer /health)."""
    _, prefect_url = databases
    port = _free_port()
    env = {
        **os.environ,
        **QUIET,
        "PREFECT_HOME": str(tmp_path / "prefect-server"),
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_url,
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    log_path = tmp_path / "server.log"
    api = f"http://127.0.0.1:{port}/api"
    started = time.monotonic()
    with _process(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        log_path=log_path,
        cwd=tmp_path,
    ) as server:
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, _tail(log_path)
            assert time.monotonic() - started < 90, "Prefect server did not answer within 90 s\n" + _tail(log_path)
            time.sleep(0.25)
        yield api, log_path, time.monotonic() - started


def _runs(api: httpx.Client, deployment_id: str, *states: str) -> list[dict]:
    body = {"deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
    if states:
        body["flow_runs"] = {"state": {"type": {"any_": list(states)}}}
    response = api.post("/flow_runs/filter", json=body)
    response.raise_for_status()
    return response.json()


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _wait(what: str, probe, timeout: float, diagnose=lambda: ""):
    """Poll `probe` every second until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: nothing after {timeout:.0f} s\n{diagnose()}"
        time.sleep(1)


def _deploy(env: dict, cwd: Path, **extra) -> tuple[str, datetime, float]:
    """`rectify deploy --work-pool rectify`: (its output, when it started, how long it took)."""
    started, clock = datetime.now(UTC), time.monotonic()
    done = subprocess.run(
        [str(BIN / "rectify"), "deploy", "--work-pool", POOL],
        env={**env, **extra},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, started, time.monotonic() - clock


@pytest.mark.slow
@pytest.mark.pg
@pytest.mark.xdist_group("prefect")
def test_scheduled_check_progress_runs_by_itself_on_a_worker(databases, prefect_api, tmp_path):
    app_url, _ = databases
    api_url, server_log, server_start = prefect_api
    timings = {"server_start_s": server_start}

    engine = make_engine(app_url)
    upgrade(engine)
    due = today() + timedelta(days=5)  # due-soon at the 7-day threshold, whatever day the run falls on
    with session_scope(engine) as s:
        task = add_task(s, deadline=due)
        add_channel(s)
    # The machine's environment as README's scale path sets it; the commands run outside the checkout,
    # so the worker finds the flows in the installed rectify package, not in a working directory.
    env = {
        **os.environ,
        **QUIET,
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(tmp_path / "prefect-client"),
        "RECTIFY_DATABASE_URL": app_url,
        "RECTIFY_DATA_DIR": str(tmp_path / "data"),
        "RECTIFY_SCHEDULER": "0",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    for name in ("RECTIFY_CHECK_CRON", "RECTIFY_DIGEST_CRON", "RECTIFY_YEAREND_CRON", "RECTIFY_NOTIFY_MINUTES"):
        env.pop(name, None)
    work = tmp_path / "elsewhere"
    work.mkdir()

    with httpx.Client(base_url=api_url, timeout=10) as api:
        # 1. The default schedules: every deployment gets scheduled runs by itself.
        out, deploy_started, timings["deploy_s"] = _deploy(env, work)
        for name in (
            "check_progress/daily",
            "weekly_digest/weekly",
            "year_end_summary/yearly",
            "send_notifications/outbox",
            "ingest_reports/on-demand",
        ):
            assert f"已部署 {name}" in out, out
        deployments = {d["name"]: d for d in api.post("/deployments/filter", json={}).json()}
        assert set(deployments) == {"daily", "weekly", "yearly", "outbox", "on-demand"}
        assert deployments["daily"]["entrypoint"] == "workflows.flows.check_progress"
        # nothing shipped: no storage, no pull steps; the worker imports the installed package
        assert (
            deployments["daily"]["path"],
            deployments["daily"]["pull_steps"],
            deployments["daily"]["storage_document_id"],
        ) == (None, [], None)
        assert deployments["on-demand"]["schedules"] == []
        # one outbox run at a time, a run colliding with one still sending is skipped; the others unlimited
        outbox = deployments["outbox"]
        assert outbox["global_concurrency_limit"]["limit"] == 1
        assert outbox["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
        assert deployments["daily"]["global_concurrency_limit"] is None

        deployed_at, created = datetime.now(UTC), []
        for name, cron in DEFAULT_CRONS.items():
            schedule = deployments[name]["schedules"][0]["schedule"]
            assert (schedule["cron"], schedule["timezone"]) == (cron, "Asia/Shanghai")
            runs = _wait(
                f"scheduled runs of {name}",
                lambda: _runs(api, deployments[name]["id"], "SCHEDULED"),
                90,
                lambda: _tail(server_log),
            )
            trigger, fires = CronTrigger.from_crontab(cron, timezone=TZ), []
            while len(fires) < len(runs):  # the cron's next fire times, in Asia/Shanghai
                fires.append(
                    trigger.get_next_fire_time(None, fires[-1] + timedelta(seconds=1) if fires else deployed_at)
                )
            assert [_when(r["expected_start_time"]) for r in runs] == fires, name
            assert all(r["auto_scheduled"] for r in runs)
            created.append(min(_when(r["created"]) for r in runs))
        outbox = _wait("scheduled runs of outbox", lambda: _runs(api, deployments["outbox"]["id"], "SCHEDULED"), 90)
        starts = [_when(r["expected_start_time"]) for r in outbox]
        assert {b - a for a, b in zip(starts, starts[1:])} == {timedelta(minutes=5)}
        assert _runs(api, deployments["on-demand"]["id"]) == []
        created.append(min(_when(r["created"]) for r in outbox))
        timings["deploy_start_to_scheduled_runs_s"] = (max(created) - deploy_started).total_seconds()

        # 2. The same command with another cron for the check: the schedule and its runs are replaced.
        _, redeploy_started, timings["redeploy_s"] = _deploy(env, work, RECTIFY_CHECK_CRON="* * * * *")
        redeployed_at = datetime.now(UTC)
        daily = api.get("/deployments/name/check_progress/daily").json()
        assert daily["id"] == deployments["daily"]["id"]
        assert [s["schedule"]["cron"] for s in daily["schedules"]] == ["* * * * *"]

        def minutely():
            runs = _runs(api, daily["id"], "SCHEDULED")
            return (
                runs
                if runs
                and _when(runs[0]["expected_start_time"]).second == 0
                and all(_when(r["expected_start_time"]) - redeployed_at < timedelta(hours=2) for r in runs)
                else None
            )

        runs = _wait("minutely runs of daily without the old 08:00 runs", minutely, 90, lambda: _tail(server_log))
        # the next minute, or the one after when the redeploy ended within a moment of a minute's turn
        # (the server schedules only runs still ahead when its scheduler loop comes round)
        assert _when(runs[0]["expected_start_time"]) - redeployed_at <= timedelta(minutes=2)
        timings["redeploy_start_to_scheduled_runs_s"] = (
            min(_when(r["created"]) for r in runs) - redeploy_started
        ).total_seconds()

        # 3. A worker; nobody triggers anything: the next minute's run happens by itself.
        worker_log = tmp_path / "worker.log"
        with _process(
            [str(BIN / "prefect"), "worker", "start", "--pool", POOL], env=env, log_path=worker_log, cwd=work
        ) as worker:

            def completed():
                assert worker.poll() is None, "worker exited\n" + _tail(worker_log)
                finished = _runs(api, daily["id"], "COMPLETED", "FAILED", "CRASHED", "CANCELLED")
                assert all(r["state"]["type"] == "COMPLETED" for r in finished), (finished, _tail(worker_log))
                return finished

            finished = _wait(
                "a completed scheduled check_progress run",
                completed,
                SCHEDULE_WAIT,
                lambda: _tail(worker_log) + "\n--- server ---\n" + _tail(server_log),
            )
            # let a run still going (the outbox deployment may share the minute) finish before the worker stops
            _wait(
                "no flow run in progress",
                lambda: (
                    not api.post(
                        "/flow_runs/filter", json={"flow_runs": {"state": {"type": {"any_": ["RUNNING", "PENDING"]}}}}
                    ).json()
                ),
                60,
            )
            assert "Traceback" not in worker_log.read_text(errors="replace"), _tail(worker_log)

    run = finished[0]
    assert run["auto_scheduled"] and run["created_by"]["type"] == "SCHEDULE" and run["parameters"] == {}
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT dedupe_key, kind, as_of FROM outbox ORDER BY id"))]
    engine.dispose()
    assert any(key.startswith(f"due:{task.id}:{due.isoformat()}:7:") and kind == "due_soon" for key, kind, _ in rows), (
        rows
    )

    server_text = server_log.read_text(errors="replace")
    assert not [e for e in SERVER_ERRORS if e in server_text], server_text[-4000:]

    expected, started, ended = (_when(run[k]) for k in ("expected_start_time", "start_time", "end_time"))
    timings.update(
        {
            "redeploy_end_to_first_run_started_s": (started - redeployed_at).total_seconds(),
            "redeploy_end_to_first_run_completed_s": (ended - redeployed_at).total_seconds(),
            "scheduled_to_started_s": (started - expected).total_seconds(),
            "run_duration_s": (ended - started).total_seconds(),
            "run_total_run_time_s": run["total_run_time"],
        }
    )
    print("\nprefect scale-path timings: " + ", ".join(f"{k}={v:.2f}" for k, v in timings.items()))
