"""The ledger's daily reads at scale: 2,000,000 tasks over 38,000 townships, on SQLite and PostgreSQL.

Seeds each database with bench/seed.py (timed), then measures medians, one session per call as in a
web request:
  township_task_list   a township user's first page of tasks (query_tasks)    target ≤ 100 ms
  county_dashboard     the dashboard of one county (≈ 300 tasks)             target ≤ 100 ms
  county_export        the .xlsx export of one county (≈ 300 tasks)          target ≤ 1 s
  county_ledger_page   the county's ledger, first page, filtered to its county
  all_dashboard        the dashboard over all townships (reported, no target)
  all_ledger_page      the ledger's first page over all townships (reported, no target)
Prints JSON lines, then a summary. Exit 1 if a target is missed.

    python bench/bench_ledger.py [--db sqlite,postgresql] [--townships 38000] [--tasks 2000000] [--keep]

--keep leaves the seeded databases in place (var/bench/, database rectify_bench_ledger_*) and reuses
them on the next run instead of seeding again.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.seed import bench_database, seed  # noqa: E402
from tracker import users  # noqa: E402
from tracker.dashboard import dashboard  # noqa: E402
from tracker.db import make_engine, upgrade  # noqa: E402
from tracker.errors import NotFound  # noqa: E402
from tracker.excel import export_ledger  # noqa: E402
from tracker.ledger import query_tasks  # noqa: E402
from tracker.models import Task, Township  # noqa: E402

AS_OF = date(2024, 9, 1)  # inside the seeded deadlines (2024–2025): every light occurs
SAMPLES = 10  # townships (and their counties) measured
TARGETS_MS = {"township_task_list": 100, "county_dashboard": 100, "county_export": 1000}
PASSWORD = "bench-password-1"


def emit(record: dict) -> None:
    print(json.dumps({"bench": "ledger"} | record, ensure_ascii=False), flush=True)


def database(db: str, townships: int, tasks: int, keep: bool) -> tuple[str, callable]:
    return bench_database("ledger", db, townships, tasks, keep)


def user(engine, name: str, role: str, township: str | None = None):
    with Session(engine, expire_on_commit=False) as s:
        try:
            return users.get_user(s, name=name)
        except NotFound:
            u = users.create_user(s, name=name, role=role, password=PASSWORD, township=township)
            s.commit()
            return u


def timed(engine, fn, args_list: list, rounds: int) -> list[float]:
    with Session(engine) as s:  # warm-up: caches, pool, statement compilation
        fn(s, args_list[0])
    out = []
    for _ in range(rounds):
        for a in args_list:
            with Session(engine) as s:
                t0 = time.perf_counter()
                fn(s, a)
                out.append((time.perf_counter() - t0) * 1000)
    return out


def seeded_engine(db: str, args, emit) -> tuple:
    """The benchmark database, migrated and seeded (unless kept seeded from an earlier --keep run)."""
    url, cleanup = database(db, args.townships, args.tasks, args.keep)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        seeded = s.execute(select(func.count()).select_from(Task)).scalar()
    if not seeded:
        t0 = time.perf_counter()
        counts = seed(engine, townships=args.townships, tasks=args.tasks)
        emit({"db": db, "op": "seed", "seconds": round(time.perf_counter() - t0, 1)} | counts)
    return engine, cleanup


def run(db: str, args) -> list[dict]:
    engine, cleanup = seeded_engine(db, args, emit)
    try:
        step = max(1, args.townships // SAMPLES)
        with Session(engine) as s:
            sample = s.execute(
                select(Township.name, Township.county).where(Township.id.in_([1 + i * step for i in range(SAMPLES)]))
            ).all()
        county = user(engine, "bench-county", "county_staff")
        town_users = [user(engine, f"bench-{name}", "township", name) for name, _ in sample]
        county_names = sorted({c for _, c in sample})
        with Session(engine) as s:
            per_county = [
                s.execute(select(func.count()).select_from(Task).join(Township).where(Township.county == c)).scalar()
                for c in county_names
            ]
        ops = {
            "township_task_list": (lambda s, u: query_tasks(s, actor=u, as_of=AS_OF), town_users, 3),
            "county_dashboard": (lambda s, c: dashboard(s, actor=county, as_of=AS_OF, county=c), county_names, 3),
            "county_ledger_page": (lambda s, c: query_tasks(s, actor=county, county=c, as_of=AS_OF), county_names, 3),
            "county_export": (
                lambda s, c: export_ledger(s, actor=county, path_or_buffer=io.BytesIO(), county=c, as_of=AS_OF),
                county_names,
                1,
            ),
            "all_dashboard": (lambda s, _: dashboard(s, actor=county, as_of=AS_OF), [None], 3),
            "all_ledger_page": (lambda s, _: query_tasks(s, actor=county, as_of=AS_OF), [None], 3),
        }
        results = []
        for op, (fn, args_list, rounds) in ops.items():
            ms = sorted(timed(engine, fn, args_list, rounds))
            rec = timing_record(db, op, ms, TARGETS_MS.get(op), args)
            if op.startswith("county"):
                rec["tasks_per_county"] = round(statistics.mean(per_county))
            emit(rec)
            results.append(rec)
        return results
    finally:
        engine.dispose()
        cleanup()


def timing_record(db: str, op: str, ms: list[float], target: float | None, args) -> dict:
    """One operation's sorted timings as the JSON record all read benchmarks print."""
    median = statistics.median(ms)
    return {
        "db": db,
        "op": op,
        "median_ms": round(median, 1),
        "p90_ms": round(ms[math.ceil(len(ms) * 0.9) - 1], 1),
        "runs": len(ms),
        "target_ms": target,
        "ok": None if target is None else median <= target,
        "tasks": args.tasks,
        "townships": args.townships,
    }


def cli(run, title: str, argv: list[str] | None) -> int:
    """Arguments, runs per database and the summary shared by the read benchmarks."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--townships", type=int, default=38000)
    ap.add_argument("--tasks", type=int, default=2_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the seeded databases and reuse them next time")
    args = ap.parse_args(argv)
    results = [r for db in args.db.split(",") for r in run(db.strip(), args)]
    print(f"\n{title}（{args.tasks:,} 项任务，{args.townships:,} 个乡镇，中位数）")
    for r in results:
        verdict = (
            "" if r["target_ms"] is None else ("  达标" if r["ok"] else "  未达标") + f"（目标 ≤ {r['target_ms']} ms）"
        )
        print(f"  {r['db']:<10} {r['op']:<22} {r['median_ms']:>9.1f} ms  p90 {r['p90_ms']:>9.1f} ms{verdict}")
    return 0 if all(r["ok"] is not False for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    return cli(run, "台账读取性能", argv)


if __name__ == "__main__":
    sys.exit(main())
