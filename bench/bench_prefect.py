"""Prefect's own cost per flow run, against calling the same flow body directly (`.fn`).

check_progress on a small ledger (2,000 tasks) is run N times each way; medians are compared:
  direct      check_progress.fn(...): what the embedded scheduler and the CLI do by default
  ephemeral   a real flow run with no PREFECT_API_URL: Prefect starts a temporary local server
              (its start-up, paid once per process, is reported separately)
  server      a real flow run against `prefect server start` (PostgreSQL-backed) at PREFECT_API_URL
  no-beat     the same with flow-run heartbeats off: Prefect 3.8's heartbeat thread sleeps in 1 s
              steps and every run joins it at its end, which is most of a run's overhead (heartbeats
              only serve crash detection; they cannot be switched off by environment variable)
Prints JSON lines, then a summary. No target: this is the number behind "the daily check calls the
body directly unless a Prefect server is configured".

    python bench/bench_prefect.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="bench-prefect-"))
# The flow run reads its database from the settings: point them (and Prefect's home) here first.
os.environ.update(RECTIFY_DATA_DIR=str(WORK), RECTIFY_DATABASE_URL=f"sqlite:///{WORK / 'rectify.db'}")
os.environ.pop("PREFECT_API_URL", None)

import workflows  # noqa: E402

workflows.configure_prefect()  # Prefect's quiet settings before Prefect loads
import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.seed import seed  # noqa: E402
from tracker.db import get_engine  # noqa: E402
from workflows.flows import check_progress  # noqa: E402

PG_ADMIN = os.environ.get("RECTIFY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AS_OF = date(2024, 9, 1)


def emit(record: dict) -> None:
    print(json.dumps({"bench": "prefect"} | record, ensure_ascii=False), flush=True)


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def start_server() -> tuple[str, subprocess.Popen, callable]:
    """`prefect server start` on a free port with its own PostgreSQL database."""
    name = f"rectify_bench_prefect_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "PREFECT_HOME": str(WORK / "server"),
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": make_url(PG_ADMIN)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False),
    }
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"

    def stop():
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                return api, proc, stop
        except httpx.HTTPError:
            time.sleep(0.2)
    stop()
    raise RuntimeError("prefect server did not start within 90 s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    engine = get_engine()
    seed(engine, townships=100, tasks=2000)
    direct = timed(lambda: check_progress.fn(as_of=AS_OF, engine=engine), args.runs)
    emit({"mode": "direct", "runs": args.runs, "median_s": round(statistics.median(direct), 4)})

    t0 = time.perf_counter()
    check_progress(as_of=AS_OF)  # the first real run starts the temporary server
    startup = time.perf_counter() - t0
    ephemeral = timed(lambda: check_progress(as_of=AS_OF), args.runs)
    emit(
        {
            "mode": "ephemeral",
            "runs": args.runs,
            "first_run_s": round(startup, 2),
            "median_s": round(statistics.median(ephemeral), 4),
        }
    )

    t0 = time.perf_counter()
    api, _, stop = start_server()
    server_start = time.perf_counter() - t0
    try:
        with temporary_settings({PREFECT_API_URL: api}):
            check_progress(as_of=AS_OF)  # warm the client
            served = timed(lambda: check_progress(as_of=AS_OF), args.runs)
            with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                unbeaten = timed(lambda: check_progress(as_of=AS_OF), args.runs)
    finally:
        stop()
    emit(
        {
            "mode": "server",
            "runs": args.runs,
            "server_start_s": round(server_start, 2),
            "median_s": round(statistics.median(served), 4),
        }
    )
    emit({"mode": "no-beat", "runs": args.runs, "median_s": round(statistics.median(unbeaten), 4)})

    base = statistics.median(direct)
    print()
    print(f"check_progress body called directly     median {base * 1000:8.1f} ms")
    print(
        f"as a flow, temporary server            median {statistics.median(ephemeral) * 1000:8.1f} ms  "
        f"(+{(statistics.median(ephemeral) - base) * 1000:.0f} ms per run; the first run, starting it: "
        f"{startup:.1f} s)"
    )
    print(
        f"as a flow, prefect server (PostgreSQL) median {statistics.median(served) * 1000:8.1f} ms  "
        f"(+{(statistics.median(served) - base) * 1000:.0f} ms per run; server start-up {server_start:.1f} s)"
    )
    print(
        f"  the same, flow-run heartbeats off    median {statistics.median(unbeaten) * 1000:8.1f} ms  "
        f"(+{(statistics.median(unbeaten) - base) * 1000:.0f} ms per run)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
