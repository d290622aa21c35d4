"""The city's dashboard comparing its counties, over 2,000,000 tasks / 38,000 townships, with the
townships in 1 county and spread over 100 counties (bench/seed.py --counties N), on PostgreSQL.

  city_dashboard        tracker.dashboard.city_dashboard as a city user          target ≤ 1 s
  city_dashboard_page   GET /dashboard as a city user (HTML, in-process ASGI)    target ≤ 1 s
  floor                 SELECT county_id, count(*) FROM task JOIN township GROUP BY county_id
                        (one bare grouped pass over the same rows; reported, the ratio is printed)
  county_dashboard      the drill-down: one county's dashboard as the city (reported; 20,000 tasks a
                        county at 100 counties, every task at 1 county)
  township_task_list    a township user's first page of tasks                     target ≤ 100 ms

Medians of 5 calls, one session per call as in a web request. Prints JSON lines, then a summary;
exit 1 if a target is missed.

    python bench/bench_city.py [--counties 1,100] [--db postgresql] [--townships 38000] [--tasks 2000000]
                               [--keep] [--url URL]

--keep leaves the seeded databases (rectify_bench_city<N>_<townships>_<tasks>) in place and reuses them;
--url measures an already seeded database instead (its counties as they are) and seeds nothing.
After seeding, PostgreSQL's task table is vacuumed, as autovacuum would soon do after a bulk load: without
it the first passes set hint bits and no scan can be index-only (the floor then costs ≈ 2× more).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RECTIFY_DATA_DIR", tempfile.mkdtemp(prefix="rectify-bench-city-"))  # secret key only

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.bench_ledger import AS_OF, timing_record, user  # noqa: E402
from bench.seed import bench_database, seed  # noqa: E402
from tracker import users  # noqa: E402
from tracker.dashboard import city_dashboard, dashboard  # noqa: E402
from tracker.db import make_engine, upgrade  # noqa: E402
from tracker.ledger import query_tasks  # noqa: E402
from tracker.models import County, Task, Township  # noqa: E402
from tracker.web.app import create_app  # noqa: E402

TARGETS_MS = {"city_dashboard": 1000, "city_dashboard_page": 1000, "township_task_list": 100}
RUNS = 5
FLOOR_SQL = "SELECT t.county_id, count(*) FROM task k JOIN township t ON t.id = k.township_id GROUP BY t.county_id"


def emit(record: dict) -> None:
    print(json.dumps({"bench": "city"} | record, ensure_ascii=False), flush=True)


def timed(engine, fn, runs: int = RUNS) -> list[float]:
    with Session(engine) as s:  # warm-up: caches, pool, statement compilation
        fn(s)
    out = []
    for _ in range(runs):
        with Session(engine) as s:
            t0 = time.perf_counter()
            fn(s)
            out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)


def timed_page(client: TestClient, path: str, runs: int = RUNS) -> list[float]:
    client.get(path)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text[:300]
    return sorted(out)


def engine_for(db: str, counties: int, args):
    """A migrated database seeded with `counties` counties (or the one given by --url), and its cleanup."""
    if args.url:
        engine = make_engine(args.url)
        return engine, lambda: None
    url, cleanup = bench_database(f"city{counties}", db, args.townships, args.tasks, args.keep)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        seeded = s.execute(select(func.count()).select_from(Task)).scalar()
    if not seeded:
        t0 = time.perf_counter()
        counts = seed(engine, townships=args.townships, tasks=args.tasks, counties=counties)
        emit({"db": db, "op": "seed", "counties": counties, "seconds": round(time.perf_counter() - t0, 1)} | counts)
        if db == "postgresql":  # what autovacuum does soon after a bulk load: hint bits, visibility map
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE task"))
    return engine, cleanup


def run(db: str, counties: int, args) -> list[dict]:
    engine, cleanup = engine_for(db, counties, args)
    try:
        with Session(engine) as s:
            counties = s.execute(select(func.count()).select_from(County)).scalar()
            town, county_name = s.execute(
                select(Township.name, County.name).join(County, County.id == Township.county_id).order_by(Township.id)
            ).first()
        city = user(engine, "bench-city", "city")
        town_user = user(engine, "bench-town", "township", town)  # township 1: in county 1, the default
        with Session(engine) as s:
            token = users.issue_token(s, name="bench-city")
            s.commit()
        client = TestClient(create_app(engine=engine), headers={"Authorization": f"Bearer {token}"})
        ops = {
            "floor": lambda: timed(engine, lambda s: s.execute(text(FLOOR_SQL)).all()),
            "city_dashboard": lambda: timed(engine, lambda s: city_dashboard(s, actor=city, as_of=AS_OF)),
            "city_dashboard_page": lambda: timed_page(client, "/dashboard"),
            "county_dashboard": lambda: timed(
                engine, lambda s: dashboard(s, actor=city, as_of=AS_OF, county=county_name), 3
            ),
            "township_task_list": lambda: timed(engine, lambda s: query_tasks(s, actor=town_user, as_of=AS_OF)),
        }
        results, floor = [], None
        for op, measure in ops.items():
            rec = timing_record(db, op, measure(), TARGETS_MS.get(op), args) | {"counties": counties}
            if op == "floor":
                floor = rec["median_ms"]
            elif op.startswith("city") and floor:
                rec["floor_ratio"] = round(rec["median_ms"] / floor, 2)
            emit(rec)
            results.append(rec)
        return results
    finally:
        engine.dispose()
        cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="城市各县对比看板性能")
    ap.add_argument("--db", default="postgresql")
    ap.add_argument("--counties", default="1,100", help="comma-separated county counts to seed and measure")
    ap.add_argument("--townships", type=int, default=38000)
    ap.add_argument("--tasks", type=int, default=2_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the seeded databases and reuse them next time")
    ap.add_argument("--url", help="measure this seeded database (seeds nothing, drops nothing)")
    args = ap.parse_args(argv)
    sizes = [0] if args.url else [int(n) for n in args.counties.split(",")]
    results = [r for db in args.db.split(",") for n in sizes for r in run(db.strip(), n, args)]
    print(f"\n城市各县对比看板（{args.tasks:,} 项任务，{args.townships:,} 个乡镇，{RUNS} 次中位数）")
    for r in results:
        verdict = (
            "" if r["target_ms"] is None else ("  达标" if r["ok"] else "  未达标") + f"（目标 ≤ {r['target_ms']} ms）"
        )
        ratio = f"  {r['floor_ratio']}× floor" if r.get("floor_ratio") else ""
        print(
            f"  {r['db']:<10} {r['counties']:>5} 个县 {r['op']:<20} {r['median_ms']:>9.1f} ms"
            f"  p90 {r['p90_ms']:>9.1f} ms{ratio}{verdict}"
        )
    return 0 if all(r["ok"] is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
