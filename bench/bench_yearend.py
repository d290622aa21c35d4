"""Year end at scale: every township's section (.md and .txt) for 38,000 townships, the county summary,
and the .docx of one township (median over many runs).

The ledger is seeded set-based (bench/seed.py: 38,000 townships with a 2023 and a 2024 report each,
`--tasks` spread over them, a quarter of the started ones with a progress note).
    python bench/bench_yearend.py [--townships 38000] [--tasks 608000] [--db sqlite,postgresql] [--docx-runs 50]
Targets: sections ≤ 120 s; one township's .docx ≤ 200 ms (median).
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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_ingest import fresh_url  # noqa: E402

AS_OF = date(2024, 12, 20)


def run_one(url: str, out: Path, townships: int, tasks: int, docx_runs: int) -> dict:
    """In a child process: seed an empty database, then time year end."""
    from bench.seed import seed
    from tracker.db import make_engine, upgrade
    from tracker.yearend.run import county_files, county_summary_of, one_section, run_year_end, section_bytes

    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    counts = seed(engine, townships=townships, tasks=tasks)
    seeded = time.perf_counter() - t0
    rss_seed = peak_rss_mb()

    t0 = time.perf_counter()
    result = run_year_end(
        engine=engine, year=2023, as_of=AS_OF, out_dir=out / "sections", formats=("md", "txt"), county=False
    )
    sections = time.perf_counter() - t0
    rss_sections = peak_rss_mb()

    t0 = time.perf_counter()
    files = county_files(county_summary_of(engine, year=2023, as_of=AS_OF))
    county = time.perf_counter() - t0

    # One township's .docx the way the web app makes it: load that township, build, lay out.
    name = f"样本{townships // 2:05d}镇"
    one = []
    for _ in range(docx_runs):
        t0 = time.perf_counter()
        section_bytes(one_section(engine, year=2023, as_of=AS_OF, township=name), "docx")
        one.append(time.perf_counter() - t0)
    return {
        "seed_s": round(seeded, 1),
        "rows": counts,
        "sections_s": round(sections, 1),
        "section_files": result["files"],
        "shortcomings": result["shortcomings"],
        "county_s": round(county, 1),
        "county_bytes": {k.rsplit(".", 1)[1]: len(v) for k, v in files.items()},
        "docx_one_median_ms": round(statistics.median(one) * 1000, 1),
        "docx_one_max_ms": round(max(one) * 1000, 1),
        "peak_rss_after_seed_mb": rss_seed,
        "peak_rss_after_sections_mb": rss_sections,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--townships", type=int, default=38000)
    ap.add_argument("--tasks", type=int, default=608000, help="over both years: 8 per report by default")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--docx-runs", type=int, default=50)
    ap.add_argument("--child", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(
            json.dumps(
                run_one(args.child[0], Path(args.child[1]), args.townships, args.tasks, args.docx_runs),
                ensure_ascii=False,
            )
        )
        return
    with tempfile.TemporaryDirectory(prefix="rectify-bench-yearend-") as tmp:
        tmp = Path(tmp)
        for db in args.db.split(","):
            url, cleanup = fresh_url(db, tmp)
            out = tmp / f"out-{db}"
            env = os.environ | {"RECTIFY_DATA_DIR": str(tmp / "data")}
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    url,
                    str(out),
                    "--townships",
                    str(args.townships),
                    "--tasks",
                    str(args.tasks),
                    "--docx-runs",
                    str(args.docx_runs),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
            )
            cleanup()
            if proc.returncode:
                sys.exit(f"{db}: year end failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                json.dumps(
                    {"bench": "yearend", "db": db, "townships": args.townships, "tasks": args.tasks, **r},
                    ensure_ascii=False,
                )
            )
            print(
                f"year end, {db}: sections (.md+.txt) for {args.townships} townships in {r['sections_s']} s "
                f"(target ≤ 120 s); county summary (.docx+.xlsx+.html, loads everything again) {r['county_s']} s; "
                f"one township's .docx median "
                f"{r['docx_one_median_ms']} ms (target ≤ 200 ms); peak RSS {r['peak_rss_mb']} MB"
            )


if __name__ == "__main__":
    main()
