"""Ingest N synthetic reports (default 38,000) into SQLite and into PostgreSQL; time and peak memory.

Each database runs in its own subprocess so peak RSS is its own. Medians over --rounds runs.
    python bench/bench_ingest.py [--n 38000] [--rounds 1] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("RECTIFY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def write_reports(n: int, folder: Path) -> None:
    from bench.gen_reports import generate

    for name, data in generate(n, seed=1):
        (folder / name).write_bytes(data)


def run_one(url: str, folder: Path) -> dict:
    """In a child process: ingest the folder into an empty database at url."""
    from tracker.db import make_engine, upgrade
    from tracker.ingest import ingest_paths

    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    results = ingest_paths(engine=engine, paths=[folder], actor="bench")
    seconds = time.perf_counter() - t0
    outcomes = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return {
        "seconds": seconds,
        "reports": len(results),
        "outcomes": outcomes,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def fresh_url(db: str, tmp: Path) -> tuple[str, callable]:
    if db == "sqlite":
        path = tmp / f"ingest-{uuid.uuid4().hex[:6]}.db"
        return f"sqlite:///{path}", lambda: [p.unlink() for p in tmp.glob(path.name + "*")]
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"rectify_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))

    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=38000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--child", nargs=2, metavar=("URL", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="rectify-bench-") as tmp:
        tmp = Path(tmp)
        folder = tmp / "reports"
        folder.mkdir()
        write_reports(args.n, folder)
        for db in args.db.split(","):
            runs = []
            for _ in range(args.rounds):
                url, cleanup = fresh_url(db, tmp)
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", url, str(folder)], capture_output=True, text=True, cwd=ROOT
                )
                cleanup()
                if proc.returncode:
                    sys.exit(f"{db}: ingest failed:\n{proc.stderr[-2000:]}")
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            secs = statistics.median(r["seconds"] for r in runs)
            rss = max(r["peak_rss_mb"] for r in runs)
            print(
                json.dumps(
                    {
                        "bench": "ingest",
                        "db": db,
                        "reports": args.n,
                        "median_s": round(secs, 2),
                        "reports_per_s": round(args.n / secs),
                        "peak_rss_mb": round(rss),
                        "outcomes": runs[-1]["outcomes"],
                        "rounds": args.rounds,
                    },
                    ensure_ascii=False,
                )
            )
            print(
                f"ingest {args.n} reports into {db}: median {secs:.1f} s ({args.n / secs:.0f}/s), "
                f"peak RSS {rss:.0f} MB, target ≤ 120 s (SQLite)"
            )


if __name__ == "__main__":
    main()
