"""The scale path end to end: a real `prefect server start` on PostgreSQL, `rectify deploy`, a process
worker running the check_progress deployment, and its effect in the app's (PostgreSQL) database."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL, _pg_available, _skip_or_fail_pg
from tests.test_notify_support import add_channel, add_task
from tracker.db import make_engine, session_scope, upgrade

BIN = Path(sys.executable).parent
DEADLINE = date(2024, 6, 30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(prefix: str):
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return name, admin


@pytest.fixture
def databases():
    """A fresh app database and a fresh Prefect database, both dropped at the end."""
    reason = _pg_available()
    if reason:
        _skip_or_fail_pg(reason)
    app_db, admin = _database("rectify_app")
    prefect_db, _ = _database("rectify_prefect")
    base = make_url(PG_ADMIN_URL)
    yield (base.set(database=app_db).render_as_string(hide_password=False),
           base.set(drivername="postgresql+asyncpg", database=prefect_db).render_as_string(hide_password=False))
    with admin.connect() as conn:
        for name in (app_db, prefect_db):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def prefect_api(databases, tmp_path):
    """`prefect server start` on 127.0.0.1 and a free port, killed (with its children) at the end."""
    _, prefect_url = databases
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-server"),
           "PREFECT_API_DATABASE_CONNECTION_URL": prefect_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false", "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
           "PREFECT_SERVER_LOGGING_LEVEL": "WARNING", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "Prefect server did not start within 60 s"
            time.sleep(0.25)
        yield api
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.pg
@pytest.mark.xdist_group("prefect")
def test_deploy_and_run_check_progress_through_a_worker(databases, prefect_api, tmp_path):
    app_url, _ = databases
    engine = make_engine(app_url)
    upgrade(engine)
    with session_scope(engine) as s:
        task = add_task(s, deadline=DEADLINE)
        add_channel(s)
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path / "prefect-client"),
           "RECTIFY_DATABASE_URL": app_url, "RECTIFY_DATA_DIR": str(tmp_path / "data"),
           "PREFECT_LOGGING_LEVEL": "WARNING"}

    deployed = subprocess.run([str(BIN / "rectify"), "deploy"], env=env, capture_output=True, text=True, timeout=60)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "已部署 check_progress/daily" in deployed.stdout

    with httpx.Client(base_url=prefect_api, timeout=10) as api:
        daily = api.get("/deployments/name/check_progress/daily").json()
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in daily["schedules"]] == [
            ("0 8 * * *", "Asia/Shanghai")]
        assert daily["entrypoint"] == "workflows.flows.check_progress"
        names = {d["name"] for d in api.post("/deployments/filter", json={}).json()}
        assert {"daily", "weekly", "yearly", "outbox", "on-demand"} <= names
        run = api.post(f"/deployments/{daily['id']}/create_flow_run",
                       json={"parameters": {"as_of": "2024-06-25"}}).json()

        worker = subprocess.run([str(BIN / "prefect"), "worker", "start", "--pool", "rectify", "--run-once",
                                 "--type", "process"], env=env, capture_output=True, text=True, timeout=120)
        state = api.get(f"/flow_runs/{run['id']}").json()["state"]["type"]
        assert state == "COMPLETED", worker.stdout[-3000:] + worker.stderr[-3000:]

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT dedupe_key, kind, as_of FROM outbox ORDER BY id")).all()
    engine.dispose()
    assert (f"due:{task.id}:2024-06-30:7:1", "due_soon", date(2024, 6, 25)) in [tuple(r) for r in rows]
