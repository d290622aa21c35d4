"""Helpers for tests that drive the web app over HTTP (TestClient or a live server)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from tracker import config, db, users
from tracker.db import make_engine, session_scope, upgrade
from tracker.ingest import IngestResult, ingest_file

REPORTS_DIR = Path(__file__).resolve().parents[2] / "shared" / "reports"
OWN, OTHER = "西里镇", "孝敬镇"  # the townships of the two reports tests import
REPORTS = (REPORTS_DIR / "xili-2023.txt", REPORTS_DIR / "xiaojing-2023.txt")
PASSWORD = "password-123"
TEST_SECRET_KEY = "tests-only-session-key-" + "0" * 32  # RECTIFY_SECRET_KEY of test processes on PostgreSQL
ADMIN, STAFF = "县管理员", "县工作人员"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# The smallest PDF readers accept: a catalog, one empty page, the xref table and trailer.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n170\n%%EOF\n"
)


def csrf_from(html: str) -> str:
    m = _CSRF.search(html)
    if not m:
        raise AssertionError("no CSRF token in the page")
    return m.group(1)


def login(client, name: str, password: str = PASSWORD):
    """Log a TestClient in through the login form; returns the final response."""
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def seed(engine: Engine, reports=REPORTS, *, password: str = PASSWORD) -> dict[str, IngestResult]:
    """Import reports and create a county admin (ADMIN), a county staff (STAFF) and one township
    user per imported township (named after it). Returns the ingest results by township."""
    results = {}
    for path in reports:
        r = ingest_file(engine=engine, path=path, actor="测试")
        assert r.ok, r.message
        results[r.township] = r
    with session_scope(engine) as session:
        users.create_user(session, name=ADMIN, role="county_admin", password=password)
        users.create_user(session, name=STAFF, role="county_staff", password=password)
        for township in results:
            users.create_user(session, name=township, role="township", password=password, township=township)
    return results


@contextmanager
def web_env(data_dir: Path, database_url: str | None = None) -> Iterator[Engine]:
    """Settings pointed at `data_dir` and a migrated database (by default a new SQLite file in it). On
    PostgreSQL the session key comes from the environment, as every web process must share it."""
    url = database_url or f"sqlite:///{data_dir / 'rectify.db'}"
    saved = {k: os.environ.get(k) for k in ("RECTIFY_DATA_DIR", "RECTIFY_DATABASE_URL", "RECTIFY_SECRET_KEY")}
    os.environ.update(RECTIFY_DATA_DIR=str(data_dir), RECTIFY_DATABASE_URL=url)
    if not url.startswith("sqlite"):
        os.environ.setdefault("RECTIFY_SECRET_KEY", TEST_SECRET_KEY)
    config.get_settings.cache_clear()
    db._engine_for.cache_clear()
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        config.get_settings.cache_clear()
        db._engine_for.cache_clear()


@contextmanager
def live_server(app) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread on a free port; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test web server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def start_task(
    s, *, assigner, poster, task_id: int, owner_person: str = "张三", note: str = "已建立台账", submit: bool = False
) -> None:
    """Assign one task (司法所, 长期坚持, deadline 2031-06-30) and post progress on it with a PDF."""
    from datetime import date

    from tracker import lifecycle

    lifecycle.assign(
        s,
        actor=assigner,
        task_ids=[task_id],
        owner_unit="司法所",
        owner_person=owner_person,
        deadline=date(2031, 6, 30),
        category="长期坚持",
    )
    lifecycle.post_progress(
        s, actor=poster, task_id=task_id, version=None, note=note, files=[("会议纪要.pdf", MINIMAL_PDF)], submit=submit
    )


def give_history(engine: Engine, *, submit: bool) -> None:
    """Tasks 1–3 assigned, task 1 with a progress note and a PDF (submitted for review if `submit`)."""
    from datetime import date

    from tracker import lifecycle

    with session_scope(engine) as s:
        admin = users.get_user(s, name=ADMIN)
        lifecycle.assign(
            s,
            actor=admin,
            task_ids=[2, 3],
            owner_unit="司法所",
            owner_person="张三",
            deadline=date(2031, 6, 30),
            category="长期坚持",
        )
        start_task(s, assigner=admin, poster=users.get_user(s, name=OWN), task_id=1, note="进展", submit=submit)
