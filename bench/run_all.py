"""`make bench`: run every benchmark script in bench/ in turn; each prints JSON lines and a summary.

Results are appended to bench/out/results.jsonl. Pass script names to run only some:
    python bench/run_all.py bench_extract bench_ingest
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "bench_extract",
    "bench_formats",
    "bench_ingest",
    "bench_ledger",
    "bench_web",
    "bench_city",
    "bench_check",
    "bench_deliver",
    "bench_prefect",
    "bench_yearend",
]


def main(argv: list[str]) -> int:
    names = argv or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent, text=True, stdout=subprocess.PIPE
        )
        print(proc.stdout, end="", flush=True)
        with (out / "results.jsonl").open("a", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in proc.stdout.splitlines() if line.startswith("{"))
        print(f"   ({time.perf_counter() - t0:.0f} s, exit {proc.returncode})", flush=True)
        if proc.returncode:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
