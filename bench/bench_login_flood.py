"""A login flood against a real `rectify serve` (uvicorn, one process) on a seeded database, while a
township user reads their task list (issue 13).

Phases, each on a freshly started server:
  quiet         the township's task list (GET /tasks, HTML) with nothing else going on
  flood         the same while 20 connections post wrong passwords to /login as fast as they are
                answered (a new name each time, so the lockout never stops them), with the default
                limits (per-address and per-name rate limits, one password check at a time)
                target: p95 ≤ 300 ms
  flood_no_rate the same flood with the rate limits off (RECTIFY_LOGIN_RATE_PER_* = 0): only the cap on
                concurrent password checks protects the pages
  unprotected   the same flood with rate limits off and 64 password checks at once (as before issue 13)

The flood runs in a child process (its own CPU, like a real client) and the reader in this one.
Prints a JSON line per phase (median, p95, reads, flood attempts by status) and a summary.

    python bench/bench_login_flood.py [--db sqlite|postgresql] [--townships 3800] [--tasks 200000]
                                      [--seconds 20] [--connections 20] [--keep] [--phases quiet,flood,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 300
PASSWORD = "Bench-flood-2024!"
PHASES = {
    "quiet": (False, {}),
    "flood": (True, {}),
    "flood_no_rate": (True, {"RECTIFY_LOGIN_RATE_PER_ADDRESS": "0", "RECTIFY_LOGIN_RATE_PER_NAME": "0"}),
    "unprotected": (
        True,
        {
            "RECTIFY_LOGIN_RATE_PER_ADDRESS": "0",
            "RECTIFY_LOGIN_RATE_PER_NAME": "0",
            "RECTIFY_LOGIN_HASH_CONCURRENCY": "64",
        },
    ),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def emit(record: dict) -> None:
    print(json.dumps({"bench": "login_flood"} | record, ensure_ascii=False), flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(args) -> tuple[str, str, callable]:
    """The seeded database's URL, a township user's name on it, and the cleanup."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from bench.seed import bench_database, seed
    from tracker import users
    from tracker.db import make_engine, upgrade
    from tracker.errors import NotFound
    from tracker.models import Task, Township

    url, cleanup = bench_database("loginflood", args.db, args.townships, args.tasks, args.keep)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        if not s.execute(select(func.count()).select_from(Task)).scalar():
            t0 = time.perf_counter()
            counts = seed(engine, townships=args.townships, tasks=args.tasks)
            emit({"db": args.db, "op": "seed", "seconds": round(time.perf_counter() - t0, 1)} | counts)
        township = s.execute(select(Township.name).order_by(Township.id).limit(1)).scalar_one()
    name = f"bench-{township}"
    with Session(engine) as s:
        try:
            users.get_user(s, name=name)
        except NotFound:
            users.create_user(s, name=name, role="township", password=PASSWORD, township=township)
            s.commit()
    engine.dispose()
    return url, name, cleanup


def start_server(url: str, data_dir: str, extra_env: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = (
        os.environ
        | {
            "RECTIFY_DATABASE_URL": url,
            "RECTIFY_DATA_DIR": data_dir,
            "RECTIFY_ACCESS_LOG": "0",
            "RECTIFY_SCHEDULER": "0",
            "RECTIFY_LOG_LEVEL": "ERROR",
        }
        | extra_env
    )
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("rectify")), "serve", "--no-demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rectify serve exited: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("rectify serve did not start in 60 s")


def reader_login(base: str, name: str):
    import httpx

    client = httpx.Client(base_url=base, timeout=30)
    token = _CSRF.search(client.get("/login").text).group(1)
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert client.get("/tasks").status_code == 200
    return client


def read_for(client, seconds: float, pause: float = 0.05) -> list[float]:
    """GET /tasks again and again for `seconds`; the latencies in ms."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        r = client.get("/tasks")
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.status_code
        time.sleep(pause)
    return out


async def _flood(base: str, seconds: float, connections: int) -> Counter:
    import httpx

    statuses: Counter = Counter()
    end = time.monotonic() + seconds

    async def one(i: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            token = _CSRF.search((await client.get("/login")).text).group(1)
            n = 0
            while time.monotonic() < end:
                n += 1
                try:
                    r = await client.post(
                        "/login", data={"name": f"guess-{i}-{n}", "password": "wrong-password", "csrf_token": token}
                    )
                    statuses[r.status_code] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1

    await asyncio.gather(*(one(i) for i in range(connections)))
    return statuses


def flood_main(argv: list[str]) -> int:
    """The child process: flood, then print the status counts as JSON."""
    base, seconds, connections = argv[0], float(argv[1]), int(argv[2])
    print(json.dumps(dict(asyncio.run(_flood(base, seconds, connections)))), flush=True)
    return 0


def run_phase(phase: str, url: str, name: str, args) -> dict:
    flood, env = PHASES[phase]
    with tempfile.TemporaryDirectory(prefix="rectify-bench-flood-") as data_dir:
        proc, base = start_server(url, data_dir, env)
        try:
            client = reader_login(base, name)
            read_for(client, 1.0)  # warm-up
            flooder = None
            if flood:
                flooder = subprocess.Popen(
                    [sys.executable, __file__, "--flood-child", base, str(args.seconds + 2), str(args.connections)],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                time.sleep(2)  # let the flood build up before measuring
            ms = sorted(read_for(client, args.seconds))
            statuses = {}
            if flooder is not None:
                out, _ = flooder.communicate(timeout=120)
                statuses = json.loads(out.strip().splitlines()[-1])
            client.close()
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    p95 = ms[math.ceil(len(ms) * 0.95) - 1]
    attempts = sum(v for v in statuses.values())
    rec = {
        "db": args.db,
        "phase": phase,
        "op": "township_tasks_page",
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ms[-1], 1),
        "reads": len(ms),
        "flood_connections": args.connections if flood else 0,
        "flood_attempts_per_s": round(attempts / (args.seconds + 2), 1) if flood else 0,
        "flood_statuses": statuses,
        "target_p95_ms": TARGET_P95_MS if phase == "flood" else None,
        "ok": (p95 <= TARGET_P95_MS) if phase == "flood" else None,
        "tasks": args.tasks,
        "townships": args.townships,
    }
    emit(rec)
    return rec


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--flood-child":
        return flood_main(argv[1:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    ap.add_argument("--townships", type=int, default=3800)
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--phases", default="quiet,flood,flood_no_rate,unprotected")
    ap.add_argument("--keep", action="store_true", help="keep the seeded database and reuse it next time")
    args = ap.parse_args(argv)
    url, name, cleanup = prepare(args)
    try:
        results = [run_phase(p.strip(), url, name, args) for p in args.phases.split(",")]
    finally:
        cleanup()
    print(f"\n登录洪泛下的乡镇任务列表（{args.db}，{args.tasks:,} 项任务，{args.connections} 个连接持续登录）")
    for r in results:
        verdict = (
            "" if r["ok"] is None else ("  达标" if r["ok"] else "  未达标") + f"（目标 p95 ≤ {TARGET_P95_MS} ms）"
        )
        flood = (
            f"  洪泛 {r['flood_attempts_per_s']:>6.1f} 次/秒 {r['flood_statuses']}" if r["flood_connections"] else ""
        )
        print(f"  {r['phase']:<14} 中位数 {r['median_ms']:>7.1f} ms  p95 {r['p95_ms']:>7.1f} ms{verdict}{flood}")
    return 0 if all(r["ok"] is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
