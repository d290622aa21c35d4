"""Extraction speed on one core, against a floor: decoding the same bytes plus one regex pass.

    python bench/bench_extract.py [--dir FOLDER] [--n 2000] [--rounds 5]

Reports: the .txt files of --dir; else `bench/gen_reports.generate(n)`; else the real reports in
../shared/reports replicated under made-up township names. Each round decodes and extracts every
report (what `extract_file` does after reading the bytes); the floor decodes the same bytes and
runs one enumeration-marker `re.finditer` over each text. Times are this process's CPU time, pinned
to one core. Prints one JSON line and a summary.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.extraction import extract_text  # noqa: E402
from tracker.extraction.decode import decode_text  # noqa: E402

REAL_REPORTS = ROOT.parent / "shared" / "reports"
FLOOR_MARKER_RE = re.compile(r"[（(][一二三四五六七八九十\d]+[)）]")
MADE_UP = "青禾镇 石湾乡 柳岸街道 云溪镇 松林乡 北坪街道 杏村镇 东渡乡".split()


def load_reports(folder: Path | None, n: int) -> list[tuple[str, bytes]]:
    if folder is not None:
        return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.txt"))]
    try:
        from bench.gen_reports import generate
    except ImportError:
        return _replicate_real(n)
    return list(generate(n, seed=1))


def _replicate_real(n: int) -> list[tuple[str, bytes]]:
    """The real reports, each copy under another township name (so no two texts are equal)."""
    real = [json.loads(g.read_text(encoding="utf-8")) for g in sorted(REAL_REPORTS.glob("*.gold.json"))]
    texts = [((REAL_REPORTS / g["file"]).read_text(encoding="utf-8"), g["unit"]) for g in real]
    out = []
    for i in range(n):
        text, unit = texts[i % len(texts)]
        name = f"{MADE_UP[i % len(MADE_UP)][:-1]}{i}{MADE_UP[i % len(MADE_UP)][-1]}"
        out.append((f"{name}.txt", text.replace(unit, name).encode("utf-8")))
    return out


def run_extract(reports: list[tuple[str, bytes]]) -> int:
    items = 0
    for name, raw in reports:
        items += len(extract_text(decode_text(raw, name), source_name=name).items)
    return items


def run_floor(reports: list[tuple[str, bytes]]) -> int:
    marks = 0
    for _, raw in reports:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        marks += len(list(FLOOR_MARKER_RE.finditer(text)))
    return marks


def rates(reports, rounds: int) -> tuple[float, float, float]:
    """Median reports/s of extraction and floor, and the median of their per-round ratio; the two
    alternate round by round so that a busy machine slows both alike."""
    extract, floor, ratio = [], [], []
    for _ in range(rounds):
        pair = []
        for fn in (run_floor, run_extract):
            gc.collect()
            t0 = time.process_time()  # CPU time: other processes on the machine do not count
            fn(reports)
            pair.append(len(reports) / (time.process_time() - t0))
        floor.append(pair[0])
        extract.append(pair[1])
        ratio.append(pair[0] / pair[1])
    return statistics.median(extract), statistics.median(floor), statistics.median(ratio)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, help="a folder of .txt reports")
    ap.add_argument("--n", type=int, default=2000, help="reports to generate when --dir is not given")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):  # one core, as the target is stated
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    reports = load_reports(args.dir, args.n)
    if not reports:
        print(f"no .txt reports in {args.dir}", file=sys.stderr)
        return 1
    run_extract(reports[:50])  # warm up caches and compiled regexes
    extraction, floor, ratio = rates(reports, args.rounds)
    kb = statistics.mean(len(raw) for _, raw in reports) / 1024
    result = {
        "bench": "extract",
        "reports": len(reports),
        "mean_kb": round(kb, 1),
        "rounds": args.rounds,
        "extract_per_s": round(extraction),
        "floor_per_s": round(floor),
        "ratio": round(ratio, 2),
        "us_per_report": round(1e6 / extraction, 1),
    }
    print(json.dumps(result))
    print(
        f"extraction {extraction:,.0f} reports/s ({1e6 / extraction:.0f} µs each; {len(reports)} reports, "
        f"mean {kb:.1f} KB); floor {floor:,.0f} reports/s; extraction takes {ratio:.2f}× the floor "
        f"(target: ≥ 5,000 reports/s and ≤ 6×)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
