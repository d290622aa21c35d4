"""State every web process shares (issue 11): the session signing key from settings, pending uploads in the
database, evidence in a shared directory or in the database. The last tests run two real `rectify serve`
processes on one PostgreSQL database with different data dirs and talk to them over HTTP."""

from __future__ import annotations

import hashlib
import html
import os
import re
import stat
import subprocess
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from tests.conftest import PG_ADMIN_URL
from tests.processes import RECTIFY, clean_env, serving, tail
from tests.test_lifecycle import PDF, add_tasks, add_user
from tests.web_helpers import MINIMAL_PDF, PASSWORD, csrf_from, web_env
from tracker import config, evidence, lifecycle, uploads, users
from tracker.config import get_settings
from tracker.db import get_engine, session_scope
from tracker.errors import NotFound
from tracker.ingest import IngestError, ingest_file
from tracker.models import Evidence, EvidenceBlob, PendingUpload, Report, Task, Township
from tracker.web.app import secret_key

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
KEY = "shared-session-key-for-two-processes-" + "x" * 16


@contextmanager
def fresh_pg(prefix: str):
    """A new, empty PostgreSQL database, dropped (connections and all) however the test ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the session signing key --------------------------------------------------------------------------


def test_embedded_default_makes_its_key_once_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("RECTIFY_SECRET_KEY", raising=False)
    with web_env(tmp_path / "data"):
        first = secret_key(get_settings())
        path = tmp_path / "data" / "secret_key"
        assert len(first) >= 32 and path.read_text() == first
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert secret_key(get_settings()) == first
        assert not [p for p in path.parent.iterdir() if p.name.startswith(".secret_key")]  # no temp file left
        monkeypatch.setenv("RECTIFY_SECRET_KEY", KEY)
        config.get_settings.cache_clear()
        assert secret_key(get_settings()) == KEY  # a key in the settings wins, on SQLite too


def test_a_short_key_is_refused_without_showing_it(tmp_path):
    out = subprocess.run(
        [str(RECTIFY), "db", "current"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(RECTIFY_DATA_DIR=str(tmp_path / "d"), RECTIFY_SECRET_KEY="too-short-secret"),
    )
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == (
        "配置错误：RECTIFY_SECRET_KEY=（已隐藏，16 个字符） 无效，应为至少 32 个字符的随机字符串，"
        "如 python3 -c 'import secrets; print(secrets.token_urlsafe(48))' 的输出"
    )
    assert "too-short" not in out.stderr


@pytest.mark.pg
def test_serve_on_postgresql_without_a_key_refuses_before_touching_the_database(pg_url, tmp_path):
    with fresh_pg("rectify_nokey") as url:
        out = subprocess.run(
            [str(RECTIFY), "serve", "--no-demo", "--port", "1"],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(RECTIFY_DATA_DIR=str(tmp_path / "d"), RECTIFY_DATABASE_URL=url),
        )
        assert out.returncode == 2, out.stderr
        [line] = out.stderr.strip().splitlines()
        assert line.startswith(
            "配置错误：RECTIFY_SECRET_KEY 未设置。使用 PostgreSQL 时，所有网页进程必须使用同一个会话签名密钥"
        )
        engine = create_engine(url)
        assert inspect(engine).get_table_names() == []  # not even migrated
        engine.dispose()
    assert not (tmp_path / "d" / "secret_key").exists()


# --- pending uploads ----------------------------------------------------------------------------------


@pytest.fixture
def county_user(engine, cli_env):
    with session_scope(engine) as s:
        add_tasks(s, township="测试镇", n=1)  # makes sure the default county exists
        return add_user(s, "县审核员", "county_admin")


@contextmanager
def _statements(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_pending_uploads_live_in_the_database_and_the_list_reads_small_columns(engine, county_user):
    data = (SAMPLES / "鹤鸣镇-2024.txt").read_bytes()
    staged = uploads.stage(filename="鹤鸣镇-2024.txt", data=data, actor=county_user)
    assert not (get_settings().data_dir / "uploads").exists()
    with Session(engine) as s:
        row = s.get(PendingUpload, staged.token)
        assert row.sha256 == hashlib.sha256(data).hexdigest() and row.uploaded_by == "县审核员"
        assert row.extraction["text"] == staged.extraction.text and row.item_count == len(staged.extraction.items)
    with _statements(get_engine()) as seen:
        [line] = uploads.list_pending(actor=county_user)
    listing = [sql for sql in seen if "FROM pendingupload" in sql]
    assert listing and all("extraction" not in sql for sql in listing)
    assert (line.token, line.source_name, line.unit, line.report_year, line.item_count) == (
        staged.token,
        "鹤鸣镇-2024.txt",
        staged.extraction.unit,
        2024,
        len(staged.extraction.items),
    )
    # the reviewer's edits are kept; the list follows them
    pending = uploads.load(staged.token, actor=county_user)
    pending.extraction = uploads.apply_edits(
        pending.extraction,
        kinds=[it.kind for it in pending.extraction.items],
        titles=[it.title for it in pending.extraction.items],
        drop={0},
        merge=set(),
        unit=None,
        report_year=None,
    )
    uploads.save(pending)
    assert uploads.list_pending(actor=county_user)[0].item_count == len(staged.extraction.items) - 1
    assert len(uploads.load(staged.token, actor=county_user).extraction.items) == len(staged.extraction.items) - 1


def test_confirm_is_one_transaction_with_the_import(engine, county_user):
    path = SAMPLES / "鹤鸣镇-2023.txt"
    assert ingest_file(engine=engine, path=path, actor="测试").ok
    changed = path.read_bytes() + b"\n"  # another file for the same township and year
    staged = uploads.stage(filename=path.name, data=changed, actor=county_user)
    with Session(engine) as s:
        reports = s.execute(select(func.count()).select_from(Report)).scalar_one()
    with pytest.raises(IngestError, match="内容不同"):  # refused without replace: the upload keeps waiting
        uploads.confirm(staged, actor=county_user)
    assert [p.token for p in uploads.list_pending(actor=county_user)] == [staged.token]
    result = uploads.confirm(staged, actor=county_user, replace=True)
    assert result.outcome == "replaced", result.message
    assert uploads.list_pending(actor=county_user) == []
    with pytest.raises(NotFound):  # a second confirmation (another process, a second click) imports nothing
        uploads.confirm(staged, actor=county_user, replace=True)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Report)).scalar_one() == reports
        assert (
            s.execute(select(Report.sha256).where(Report.source_name == path.name)).scalar_one()
            == hashlib.sha256(changed).hexdigest()
        )


# --- evidence in the database -------------------------------------------------------------------------


def test_database_store_keeps_content_once_in_the_transaction(engine, cli_env, monkeypatch):
    monkeypatch.setenv("RECTIFY_EVIDENCE_STORE", "database")
    config.get_settings.cache_clear()
    with session_scope(engine) as s:
        [tid] = add_tasks(s, township="鹤鸣镇", n=1)
        county = add_user(s, "县管理员", "county_admin")
        township = add_user(s, "鹤鸣镇", "township", "鹤鸣镇")
        lifecycle.assign(
            s,
            actor=county,
            task_ids=[tid],
            owner_unit="司法所",
            owner_person="张三",
            deadline=date.today() + timedelta(days=60),
            category="限期整改",
        )
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
    with pytest.raises(RuntimeError):  # a post that fails after storing leaves no content behind
        with session_scope(engine) as s:
            lifecycle.post_progress(s, actor=township, task_id=tid, version=None, note="先传", files=[("图.png", png)])
            raise RuntimeError("rolled back")
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(EvidenceBlob)).scalar_one() == 0
    with session_scope(engine) as s:
        lifecycle.post_progress(
            s,
            actor=township,
            task_id=tid,
            version=None,
            note="材料",
            files=[("纪要.pdf", PDF), ("纪要副本.pdf", PDF), ("图.png", png)],
        )
    with session_scope(engine) as s:
        lifecycle.post_progress(s, actor=township, task_id=tid, version=None, note="再传", files=[("又一份.pdf", PDF)])
    assert not get_settings().evidence_dir.exists()
    with Session(engine) as s:
        blobs = s.execute(select(EvidenceBlob.sha256, EvidenceBlob.size)).all()
        assert sorted(blobs) == sorted(
            [(hashlib.sha256(PDF).hexdigest(), len(PDF)), (hashlib.sha256(png).hexdigest(), len(png))]
        )
        ids = s.execute(select(Evidence.id).order_by(Evidence.id)).scalars().all()
        assert len(ids) == 4
        ev, content = evidence.open_evidence(s, actor=township, evidence_id=ids[2])
        assert ev.filename == "图.png" and content == png
        assert evidence.open_evidence(s, actor=county, evidence_id=ids[3])[1] == PDF
        other = add_user(s, "松岭镇", "township", None)
        with pytest.raises(NotFound):
            evidence.open_evidence(s, actor=other, evidence_id=ids[0])


# --- two real processes on one PostgreSQL database ----------------------------------------------------


def _login(client: httpx.Client, base: str, name: str) -> None:
    token = csrf_from(client.get(f"{base}/login").text)
    r = client.post(f"{base}/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303 and "/login" not in r.headers["location"], r.text[:500]


def _seed(url: str, data_dir: Path) -> int:
    """One imported report, a county admin and the township's user; one task assigned. Returns its id."""
    with web_env(data_dir, url) as engine:
        assert ingest_file(engine=engine, path=SAMPLES / "鹤鸣镇-2023.txt", actor="测试").ok
        with session_scope(engine) as s:
            admin = users.create_user(s, name="县管理员", role="county_admin", password=PASSWORD)
            users.create_user(s, name="鹤鸣镇", role="township", password=PASSWORD, township="鹤鸣镇")
            users.create_user(s, name="松岭镇", role="township", password=PASSWORD, township="松岭镇") if s.execute(
                select(Township).where(Township.name == "松岭镇")
            ).first() else None
            tid = s.execute(select(Task.id).order_by(Task.id)).scalars().first()
            lifecycle.assign(
                s,
                actor=admin,
                task_ids=[tid],
                owner_unit="鹤鸣镇司法所",
                owner_person="李四",
                deadline=date.today() + timedelta(days=90),
                category="限期整改",
            )
        return tid


@pytest.mark.pg
@pytest.mark.parametrize("store", ["database", "directory"])
def test_two_serve_processes_on_one_database_share_logins_uploads_and_evidence(pg_url, tmp_path, store):
    with fresh_pg("rectify_two") as url:
        tid = _seed(url, tmp_path / "seed")
        shared = tmp_path / "shared-evidence"  # what an NFS mount is to two machines
        extra = {"RECTIFY_EVIDENCE_STORE": store}
        if store == "directory":
            extra["RECTIFY_EVIDENCE_DIR"] = str(shared)
        env_a = clean_env(
            RECTIFY_DATABASE_URL=url, RECTIFY_DATA_DIR=str(tmp_path / "a"), RECTIFY_SECRET_KEY=KEY, **extra
        )
        env_b = env_a | {"RECTIFY_DATA_DIR": str(tmp_path / "b")}
        with (
            serving(env_a, tmp_path / "a.log") as a,
            serving(env_b, tmp_path / "b.log") as b,
            httpx.Client(timeout=30) as county,
            httpx.Client(timeout=30) as township,
        ):
            try:
                # A login on one process is a login on the other (one cookie jar for host 127.0.0.1, like a
                # load balancer sending each request anywhere).
                _login(county, a, "县管理员")
                r = county.get(f"{b}/dashboard")
                assert r.status_code == 200 and "县管理员" in r.text

                # An upload reviewed on A is confirmed on B.
                report = SAMPLES / "鹤鸣镇-2024.txt"
                page = county.get(f"{a}/reports").text
                r = county.post(
                    f"{a}/reports/upload",
                    data={"csrf_token": csrf_from(page)},
                    files=[("files", (report.name, report.read_bytes(), "text/plain"))],
                )
                assert r.status_code == 303, r.text[:500]
                review_path = r.headers["location"]
                token = review_path.rsplit("/", 1)[1]
                assert token in county.get(f"{b}/reports").text  # B lists it
                page = county.get(f"{b}{review_path}").text
                titles = [html.unescape(t) for t in re.findall(r'name="title" value="([^"]*)"', page)]
                kinds = re.findall(r'<select name="kind"[^>]*>.*?<option value="(\w+)" selected', page, re.S)
                assert titles and len(kinds) == len(titles)
                r = county.post(
                    f"{b}{review_path}",
                    data={"csrf_token": csrf_from(page), "kind": kinds, "title": titles, "action": "confirm"},
                )
                assert r.status_code == 303 and r.headers["location"].startswith("/tasks?"), r.text[:800]
                assert token not in county.get(f"{a}/reports").text
                assert county.get(f"{a}{review_path}").status_code == 404  # gone on A too

                # Evidence posted on A downloads from B, for those who may see the task only.
                _login(township, a, "鹤鸣镇")
                page = township.get(f"{a}/tasks/{tid}").text
                version = township.get(f"{a}/api/v1/tasks/{tid}").json()["version"]
                content = MINIMAL_PDF + os.urandom(16)
                r = township.post(
                    f"{a}/tasks/{tid}/progress",
                    data={"csrf_token": csrf_from(page), "version": str(version), "note": "已整改", "percent": "50"},
                    files=[("files", ("整改材料.pdf", content, "application/pdf"))],
                )
                assert r.status_code == 303, r.text[:800]
                [ev] = township.get(f"{b}/api/v1/tasks/{tid}").json()["evidence"]
                for client in (township, county):
                    got = client.get(f"{b}{ev['download_url']}")
                    assert got.status_code == 200 and got.content == content
                    assert got.headers["content-type"] == "application/pdf"
                    assert "filename*=utf-8''%E6%95%B4%E6%94%B9" in got.headers["content-disposition"]
                page_download = township.get(f"{b}/evidence/{ev['id']}")
                assert page_download.status_code == 200 and page_download.content == content
                with httpx.Client(timeout=30) as stranger:
                    assert stranger.get(f"{b}{ev['download_url']}").status_code == 401
                sha = hashlib.sha256(content).hexdigest()
                local = [p for d in ("a", "b") for p in (tmp_path / d).rglob(sha)]
                assert local == []  # neither process kept it on its own disk
                if store == "directory":
                    assert (shared / sha[:2] / sha[2:4] / sha).read_bytes() == content
                else:
                    engine = create_engine(url)
                    with engine.connect() as conn:
                        assert conn.execute(
                            text("SELECT size FROM evidenceblob WHERE sha256 = :s"), {"s": sha}
                        ).scalar_one() == len(content)
                    engine.dispose()
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}\n--- a.log\n{tail(tmp_path / 'a.log')}\n--- b.log\n{tail(tmp_path / 'b.log')}"
                ) from None
