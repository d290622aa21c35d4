"""`rectify backup` / `rectify restore` for the embedded default: a backup taken while another process keeps
ingesting reports and posting progress with evidence restores to a database whose counts are the
snapshot's, with every evidence file it references, and the restored data dir serves."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import tarfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.processes import RECTIFY, clean_env, process, serving, tail
from tests.web_helpers import PASSWORD, csrf_from, web_env
from tracker import lifecycle, users
from tracker.backup import table_counts
from tracker.db import session_scope
from tracker.ingest import ingest_file
from tracker.models import Task

ROOT = Path(__file__).resolve().parents[1]

# Ingests a synthetic report, then posts progress with a new evidence file, round after round, until told to
# stop; the number of finished rounds is in argv[1].
WRITER = r"""
import os, sys, tempfile
from pathlib import Path
from sqlalchemy import select
from bench.gen_reports import generate
from tracker import lifecycle
from tracker.db import get_engine, session_scope
from tracker.ingest import ingest_file
from tracker.models import Task, User

rounds, stop = Path(sys.argv[1]), Path(sys.argv[2])
engine = get_engine()
with session_scope(engine) as s:
    tasks = s.execute(select(Task.id).where(Task.owner_person == "李四")).scalars().all()
tmp = Path(tempfile.mkdtemp())
n = 0
while not stop.exists():
    name, data = next(iter(generate(1, seed=1000 + n)))
    path = tmp / f"{n}-{name}"
    path.write_bytes(data)
    ingest_file(engine=engine, path=path, actor="写入进程")
    with session_scope(engine) as s:
        actor = s.execute(select(User).where(User.name == "鹤鸣镇")).scalar_one()
        png = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
        lifecycle.post_progress(s, actor=actor, task_id=tasks[n % len(tasks)], version=None, note=f"第 {n} 次进展",
                                files=[(f"现场{n}.png", png)])
    n += 1
    rounds.with_suffix(".tmp").write_text(str(n))
    os.replace(rounds.with_suffix(".tmp"), rounds)  # never read half-written
"""


def _rounds(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _wait_rounds(path: Path, at_least: int, proc, log: Path, seconds: float = 120) -> int:
    deadline = time.monotonic() + seconds
    while (n := _rounds(path)) < at_least:
        assert proc.poll() is None, f"the writer stopped:\n{tail(log)}"
        assert time.monotonic() < deadline, f"the writer made {n} rounds, not {at_least}:\n{tail(log)}"
        time.sleep(0.1)
    return n


def _seed(data_dir: Path) -> None:
    with web_env(data_dir) as engine:
        assert ingest_file(engine=engine, path=ROOT / "samples" / "鹤鸣镇-2023.txt", actor="测试").ok
        with session_scope(engine) as s:
            admin = users.create_user(s, name="县管理员", role="county_admin", password=PASSWORD)
            users.create_user(s, name="鹤鸣镇", role="township", password=PASSWORD, township="鹤鸣镇")
            ids = s.execute(select(Task.id)).scalars().all()
            lifecycle.assign(
                s,
                actor=admin,
                task_ids=ids,
                owner_unit="鹤鸣镇司法所",
                owner_person="李四",
                deadline=date.today() + timedelta(days=90),
                category="限期整改",
            )


def _rectify(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(RECTIFY), *args], env=env, capture_output=True, text=True, timeout=300)


def test_backup_during_writes_restores_the_snapshot_and_serves(tmp_path):
    data, restored, archive = tmp_path / "data", tmp_path / "restored", tmp_path / "rectify-backup.tar.gz"
    _seed(data)
    env = clean_env(RECTIFY_DATA_DIR=str(data))
    rounds, stop, log = tmp_path / "rounds", tmp_path / "stop", tmp_path / "writer.log"
    with process([sys.executable, "-c", WRITER, str(rounds), str(stop)], env=env, log_path=log) as writer:
        before = _wait_rounds(rounds, 5, writer, log)
        out = _rectify("backup", str(archive), env=env)
        during = _rounds(rounds) - before
        assert out.returncode == 0, out.stdout + out.stderr
        _wait_rounds(rounds, _rounds(rounds) + 3, writer, log)  # and it keeps writing
        stop.touch()
        writer.wait(timeout=60)
        assert writer.returncode == 0, tail(log)
    assert during > 0, "the writer did not write while the backup ran"
    print(f"\nbackup: {before} rounds before, {during} while `rectify backup` ran; {out.stdout.strip()}")
    assert "已备份到" in out.stdout and "佐证材料文件" in out.stdout

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = tar.getnames()
    snapshot = manifest["counts"]
    with sqlite3.connect(data / "rectify.db") as conn:
        now = table_counts(conn)
    # the snapshot holds writes from before the backup and not those after it
    assert 5 <= snapshot["progress"] < now["progress"] and snapshot["report"] < now["report"]
    assert snapshot["evidence"] == snapshot["progress"] and manifest["evidence"]["missing"] == []
    assert manifest["evidence"]["files"] == snapshot["evidence"]  # each post had new content
    assert len([n for n in names if n.startswith("evidence/")]) == snapshot["evidence"]

    out = _rectify("restore", str(archive), env=clean_env(RECTIFY_DATA_DIR=str(restored)))
    assert out.returncode == 0, out.stdout + out.stderr
    with sqlite3.connect(restored / "rectify.db") as conn:
        assert table_counts(conn) == snapshot
        shas = [r[0] for r in conn.execute("SELECT sha256 FROM evidence")]
        [(first_id, first_sha)] = conn.execute("SELECT id, sha256 FROM evidence ORDER BY id LIMIT 1").fetchall()
        own_tasks = conn.execute(
            "SELECT count(*) FROM task JOIN township ON township.id = task.township_id WHERE township.name = '鹤鸣镇'"
        ).fetchone()[0]
    for sha in shas:  # every referenced file, intact
        path = restored / "evidence" / sha[:2] / sha[2:4] / sha
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha

    again = _rectify("restore", str(archive), env=clean_env(RECTIFY_DATA_DIR=str(restored)))
    assert again.returncode == 1 and f"数据目录 {restored} 不是空的" in again.stderr
    with sqlite3.connect(restored / "rectify.db") as conn:
        assert table_counts(conn) == snapshot  # untouched

    with (
        serving(clean_env(RECTIFY_DATA_DIR=str(restored)), tmp_path / "serve.log") as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        r = client.post(
            "/login", data={"name": "鹤鸣镇", "password": PASSWORD, "csrf_token": csrf_from(client.get("/login").text)}
        )
        assert r.status_code == 303, tail(tmp_path / "serve.log")
        assert client.get("/api/v1/tasks").json()["total"] == own_tasks
        got = client.get(f"/api/v1/evidence/{first_id}")
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == first_sha


@pytest.mark.parametrize(
    "setup, message",
    [
        ("nothing", "备份文件 {archive} 不存在"),
        ("garbage", "无法读取"),
        ("foreign", "不应出现的内容"),
    ],
)
def test_restore_refuses_what_is_not_a_backup_and_leaves_the_dir_empty(tmp_path, setup, message):
    archive = tmp_path / "x.tar.gz"
    if setup == "garbage":
        archive.write_bytes(b"not an archive")
    elif setup == "foreign":
        evil = tmp_path / "evil.txt"
        evil.write_text("x")
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(evil, arcname="../evil.txt")
    target = tmp_path / "target"
    out = _rectify("restore", str(archive), env=clean_env(RECTIFY_DATA_DIR=str(target)))
    assert out.returncode == 1 and message.format(archive=archive) in out.stderr, out.stderr
    assert not target.exists() or not any(target.iterdir())
    assert not (tmp_path / "evil.txt").exists() or (tmp_path / "evil.txt").read_text() == "x"


def test_backup_refuses_an_existing_file_and_postgresql(tmp_path):
    data = tmp_path / "data"
    _seed(data)
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(b"earlier backup")
    out = _rectify("backup", str(archive), env=clean_env(RECTIFY_DATA_DIR=str(data)))
    assert out.returncode == 1 and "已存在" in out.stderr and archive.read_bytes() == b"earlier backup"
    out = _rectify(
        "backup",
        str(tmp_path / "c.tar.gz"),
        env=clean_env(
            RECTIFY_DATA_DIR=str(data), RECTIFY_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/nowhere"
        ),
    )
    assert out.returncode == 1 and "请用 pg_dump" in out.stderr
