"""The same daily reads as bench_ledger, end to end through the web app (routing, auth, session,
template or JSON rendering), in-process over ASGI with an API token, on SQLite and PostgreSQL.

  township_tasks_page   GET /tasks as a township user (HTML, first 50 tasks)   target ≤ 100 ms
  township_tasks_api    GET /api/v1/tasks as a township user (JSON)            target ≤ 100 ms
  county_dashboard_page GET /dashboard?county=… as county staff (HTML)         target ≤ 100 ms
  task_page             GET /tasks/{id} as the task's township user (HTML)     (reported)

Reuses bench_ledger's databases (`--keep` shares them) and seeding. Prints JSON lines and a summary.

    python bench/bench_web.py [--db sqlite,postgresql] [--townships 38000] [--tasks 2000000] [--keep]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RECTIFY_DATA_DIR", tempfile.mkdtemp(prefix="rectify-bench-web-"))  # secret key only

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.bench_ledger import SAMPLES, cli, seeded_engine, timing_record, user  # noqa: E402
from tracker import users  # noqa: E402
from tracker.models import Task, Township  # noqa: E402
from tracker.web.app import create_app  # noqa: E402

TARGETS_MS = {"township_tasks_page": 100, "township_tasks_api": 100, "county_dashboard_page": 100}
ROUNDS = 3


def emit(record: dict) -> None:
    print(json.dumps({"bench": "web"} | record, ensure_ascii=False), flush=True)


def client(app, engine, name: str) -> TestClient:
    with Session(engine) as s:
        token = users.issue_token(s, name=name)
        s.commit()
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def timed(calls: list) -> list[float]:
    calls[0]()  # warm-up: templates, statement caches, pool
    out = []
    for _ in range(ROUNDS):
        for call in calls:
            t0 = time.perf_counter()
            r = call()
            out.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text[:300]
    return out


def run(db: str, args) -> list[dict]:
    engine, cleanup = seeded_engine(db, args, emit)
    try:
        step = max(1, args.townships // SAMPLES)
        with Session(engine) as s:
            sample = s.execute(
                select(Township.name, Township.county, func.min(Task.id))
                .join(Task)
                .where(Township.id.in_([1 + i * step for i in range(SAMPLES)]))
                .group_by(Township.name, Township.county)
            ).all()
        app = create_app(engine=engine)
        user(engine, "bench-county", "county_staff")
        county = client(app, engine, "bench-county")
        towns = []
        for name, _, task_id in sample:
            user(engine, f"bench-{name}", "township", name)
            towns.append((client(app, engine, f"bench-{name}"), task_id))
        ops = {
            "township_tasks_page": [lambda c=c: c.get("/tasks") for c, _ in towns],
            "township_tasks_api": [lambda c=c: c.get("/api/v1/tasks") for c, _ in towns],
            "county_dashboard_page": [
                lambda c=c: county.get(f"/dashboard?county={quote(c)}") for c in sorted({c for _, c, _ in sample})
            ],
            "task_page": [lambda c=c, t=t: c.get(f"/tasks/{t}") for c, t in towns],
        }
        results = []
        for op, calls in ops.items():
            ms = sorted(timed(calls))
            rec = timing_record(db, op, ms, TARGETS_MS.get(op), args)
            emit(rec)
            results.append(rec)
        return results
    finally:
        engine.dispose()
        cleanup()


def main(argv: list[str] | None = None) -> int:
    return cli(run, "网页端到端读取性能", argv)


if __name__ == "__main__":
    sys.exit(main())
