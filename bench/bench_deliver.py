"""Delivering 10,000 webhook notifications to a local recording server, with bounded concurrency.

The server runs in its own process (a threading http.server on 127.0.0.1 that records every
delivery key); the outbox holds 10,000 pending due-soon reminders spread over 500 township
channels. Measured: `notifications.outbox.deliver` until the outbox is empty, at the configured
concurrency (RECTIFY_NOTIFY_CONCURRENCY, default 8) and a few others; then checks that every
message arrived exactly once. Target ≤ 30 s. Prints JSON lines, then a summary; exit 1 if missed.
On loopback the run is CPU-bound (two cores, one GIL): concurrency pays off against real robots'
network latency, which `--latency-ms` adds to every answer.

    python bench/bench_deliver.py [--db sqlite,postgresql] [--messages 10000] [--channels 500] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RECTIFY_DATA_DIR", str(ROOT / "var" / "bench"))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.seed import seed  # noqa: E402
from notifications.outbox import deliver  # noqa: E402
from tracker.config import get_settings  # noqa: E402
from tracker.db import make_engine, upgrade  # noqa: E402

PG_ADMIN = os.environ.get("RECTIFY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_S = 30.0


def emit(record: dict) -> None:
    print(json.dumps({"bench": "deliver"} | record, ensure_ascii=False), flush=True)


def _serve(port_out, latency: float) -> None:
    """The recording server (a child process): answers 200 {"errcode":0}, remembers each delivery key."""
    keys: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency)
            keys.append(self.headers.get("X-Rectify-Delivery", ""))
            self._answer(b'{"errcode":0,"errmsg":"ok"}')

        def do_GET(self):  # /keys: what arrived so far, then forget it
            data, keys[:] = json.dumps(keys).encode(), []
            self._answer(data)

        def _answer(self, data: bytes):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


def database(db: str) -> tuple[str, callable]:
    if db == "sqlite":
        path = ROOT / "var" / "bench" / "deliver.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        drop = lambda: [p.unlink() for p in path.parent.glob(path.name + "*")]  # noqa: E731
        drop()
        return f"sqlite:///{path}", drop
    name = f"rectify_bench_deliver_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), drop


def fill(engine, *, messages: int, channels: int, url: str) -> None:
    """`channels` townships with a webhook each and `messages` pending reminders spread over them."""
    seed(engine, townships=channels, tasks=messages * 2)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO channel (township_id, kind, target, role, active, activated_at, created_at, "
                "created_by) SELECT id, 'webhook', :url || '/t' || id, 'staff', :t, :now, :now, 'bench' "
                "FROM township"
            ),
            {"url": url, "t": True, "now": "2024-01-01 00:00:00"},
        )
        c.execute(
            text(
                "INSERT INTO outbox (dedupe_key, channel_id, kind, township_id, task_id, threshold, as_of, "
                "status, attempts, next_attempt_at, created_at) "
                "SELECT 'bench:' || t.id || ':' || c.id, c.id, 'due_soon', t.township_id, t.id, 7, "
                "'2024-06-23', 'pending', 0, :now, :now FROM task t JOIN channel c ON c.township_id = "
                "t.township_id ORDER BY t.id LIMIT :n"
            ),
            {"now": "2024-01-01 00:00:00", "n": messages},
        )


def requeue(engine) -> None:
    with engine.begin() as c:
        c.execute(text("UPDATE outbox SET status = 'pending', attempts = 0, sent_at = NULL"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--channels", type=int, default=500)
    ap.add_argument("--concurrency", default="", help="comma-separated; default: configured, 1 and 16")
    ap.add_argument("--latency-ms", type=float, default=0, help="the server's delay before each answer")
    args = ap.parse_args()
    configured = get_settings().notify
    levels = [int(x) for x in args.concurrency.split(",") if x] or [configured.concurrency, 1, 16]
    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(ports, args.latency_ms / 1000), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=10)}"
    results, ok = [], True
    try:
        for db in args.db.split(","):
            url, drop = database(db)
            engine = make_engine(url)
            try:
                upgrade(engine)
                fill(engine, messages=args.messages, channels=args.channels, url=base)
                for level in levels:
                    requeue(engine)
                    httpx.get(f"{base}/keys")  # start counting afresh
                    settings = configured.model_copy(update={"concurrency": level, "channel_allow_private": True})
                    t0 = time.perf_counter()
                    result = deliver(engine=engine, settings=settings)
                    seconds = time.perf_counter() - t0
                    got = httpx.get(f"{base}/keys", timeout=30).json()
                    exact = len(got) == len(set(got)) == args.messages == result.sent
                    record = {
                        "db": db,
                        "concurrency": level,
                        "messages": args.messages,
                        "channels": args.channels,
                        "latency_ms": args.latency_ms,
                        "seconds": round(seconds, 2),
                        "per_second": round(result.sent / seconds),
                        "sent": result.sent,
                        "received": len(got),
                        "unique": len(set(got)),
                        "exactly_once": exact,
                    }
                    emit(record)
                    results.append(record)
                    ok &= exact and (level != configured.concurrency or seconds <= TARGET_S)
            finally:
                engine.dispose()
                drop()
    finally:
        server.terminate()
    print()
    for r in results:
        mark = (
            ""
            if r["concurrency"] != configured.concurrency
            else ("ok" if r["seconds"] <= TARGET_S else "MISSED") + f" (≤ {TARGET_S:.0f} s)"
        )
        print(
            f"deliver {r['db']:<10} concurrency {r['concurrency']:>2}, latency {r['latency_ms']:.0f} ms: "
            f"{r['messages']:,} webhooks in "
            f"{r['seconds']:6.2f} s ({r['per_second']:,}/s), each received once: {r['exactly_once']}  {mark}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
