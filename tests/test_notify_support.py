"""Helpers shared by the reminder tests (no tests here): tasks, channels, and real local servers.

The recording HTTP server is a small threading http.server on 127.0.0.1 that stores every request
and answers according to a mode, per path if set in `modes`: ok, errcode (a robot's refusal),
400 (this message refused), 500, hang (the client times out), or close (drop the connection without answering);
`fail_after` answers 500 once N requests were accepted (on paths without a mode of their own).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from notifications.models import Channel, Outbox
from tracker.config import NotifySettings, get_settings
from tracker.db import session_scope
from tracker.models import Item, Report, Status, Task, Township


def notify_settings(**changes) -> NotifySettings:
    """The configured settings with test changes (short timeouts, no backoff wait unless asked)."""
    return get_settings().notify.model_copy(update={"timeout": 2.0, "backoff_seconds": 60, "concurrency": 4, **changes})


def township(session: Session, name: str = "西里镇") -> Township:
    t = session.execute(select(Township).where(Township.name == name)).scalars().first()
    if t is None:
        t = Township(name=name, county="测试县")
        session.add(t)
        session.flush()
    return t


def add_task(
    session: Session,
    *,
    township_name: str = "西里镇",
    title: str = "行政执法公示不规范",
    deadline: date = date(2024, 6, 30),
    status: str = Status.in_progress.value,
    assigned_at: datetime | None = datetime(2024, 3, 1, 2, 0, tzinfo=UTC),
    last_progress_at: datetime | None = None,
    owner: tuple[str, str] = ("司法所", "张三"),
) -> Task:
    t = township(session, township_name)
    n = session.execute(select(func.count()).select_from(Report)).scalar() + 1
    r = Report(
        township_id=t.id,
        report_year=2000 + n,
        plan_year=2001 + n,
        source_name=f"r{n}.txt",
        sha256=f"{n:064d}",
        text="正文",
        imported_by="test",
    )
    session.add(r)
    session.flush()
    item = Item(report_id=r.id, kind="shortcoming", seq=1, title=title, text=title, start=0, end=len(title))
    session.add(item)
    session.flush()
    task = Task(
        township_id=t.id,
        report_id=r.id,
        item_id=item.id,
        kind="shortcoming",
        title=title,
        description=title,
        deadline=deadline,
        status=status,
        owner_unit=owner[0],
        owner_person=owner[1],
        created_at=datetime(2024, 2, 1, tzinfo=UTC),
        assigned_at=assigned_at,
        last_progress_at=last_progress_at,
    )
    session.add(task)
    session.flush()
    return task


def add_channel(
    session: Session,
    *,
    township_name: str | None = "西里镇",
    kind: str = "webhook",
    target: str = "http://127.0.0.1:9/hook",
    secret: str | None = None,
    role: str = "staff",
    new: bool = False,
    settings: NotifySettings | None = None,
) -> Channel:
    """A recipient, by default one that existed long before (`new`: added just now, so the next
    windowed check gives it everything owed, as it does for ten minutes after any addition)."""
    from notifications.recipients import add_channel as add

    channel = add(
        session,
        township=township_name,
        kind=kind,
        target=target,
        secret=secret,
        role=role,
        actor="test",
        settings=settings,
    )
    if not new:
        channel.activated_at = datetime(2000, 1, 1, tzinfo=UTC)
        session.flush()
    return channel


def outbox_rows(engine) -> list[Outbox]:
    with session_scope(engine) as s:
        return list(s.execute(select(Outbox).order_by(Outbox.id)).scalars())


def keys(engine) -> list[str]:
    return [o.dedupe_key for o in outbox_rows(engine)]


@dataclass
class Recorded:
    path: str
    raw_query: str
    query: dict
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived

    def json(self):
        return json.loads(self.body)


@dataclass
class Recorder:
    """What the HTTP server got and how it answers next."""

    requests: list[Recorded] = field(default_factory=list)
    accepted: list[Recorded] = field(default_factory=list)  # answered with success
    mode: str = "ok"  # ok | errcode | 400 | 500 | hang | close
    modes: dict[str, str] = field(default_factory=dict)  # path → mode, overrides `mode`
    fail_after: int | None = None  # answer 500 once this many were accepted
    hang_seconds: float = 5.0
    # a group robot's limit (messages, seconds) per path: beyond it WeCom's "too fast" errcode
    robot_limit: tuple[int, float] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self, mode: str = "ok", fail_after: int | None = None) -> None:
        with self.lock:
            self.requests.clear()
            self.accepted.clear()
            self.modes.clear()
            self.mode, self.fail_after, self.hang_seconds, self.robot_limit = mode, fail_after, 5.0, None

    def accepted_keys(self) -> list[str]:
        return [r.json()["key"] for r in self.accepted]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    rec: Recorder

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = urlsplit(self.path)
        got = Recorded(
            parts.path, parts.query, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}, body
        )
        rec = self.rec
        with rec.lock:
            rec.requests.append(got)
            mode = rec.modes.get(parts.path, rec.mode)
            if rec.fail_after is not None and len(rec.accepted) >= rec.fail_after and parts.path not in rec.modes:
                mode = "500"
            if mode == "ok" and rec.robot_limit:
                limit, seconds = rec.robot_limit
                recent = [r for r in rec.accepted if r.path == parts.path and r.at > got.at - seconds]
                mode = "busy" if len(recent) >= limit else mode
            if mode == "ok":
                rec.accepted.append(got)
        if mode == "hang":
            time.sleep(rec.hang_seconds)
            return
        if mode == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status, payload = {
            "ok": (200, {"errcode": 0, "errmsg": "ok"}),
            "errcode": (200, {"errcode": 310000, "errmsg": "sign not match"}),
            "busy": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
            "400": (400, {"error": "bad request body"}),
            "500": (500, {"error": "boom"}),
        }[mode]
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_recorder() -> tuple[Recorder, ThreadingHTTPServer]:
    rec = Recorder()
    handler = type("Handler", (_Handler,), {"rec": rec})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    rec.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return rec, server


@pytest.fixture(scope="session")
def recorder_server():
    rec, server = start_recorder()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def recorder(recorder_server):
    recorder_server.reset()
    return recorder_server


def days(n: int) -> timedelta:
    return timedelta(days=n)
