"""Evidence upload through the page and the API: limits and types refused with a clear message and
nothing stored; accepted files stored once by sha256 and downloadable by those who may see the task."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web_helpers import ADMIN, MINIMAL_PDF, OWN, csrf_from, login, seed, web_env
from tracker import lifecycle, users
from tracker.config import get_settings
from tracker.db import session_scope
from tracker.evidence import MAX_BYTES
from tracker.models import Evidence, Progress, Task
from tracker.web.app import create_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("evidence")) as engine:
        seed(engine)
        with session_scope(engine) as s:
            lifecycle.assign(
                s,
                actor=users.get_user(s, name=ADMIN),
                task_ids=[1, 2],
                owner_unit="司法所",
                owner_person="张三",
                deadline=date(2031, 6, 30),
                category="限期整改",
            )
        app = create_app(engine=engine)
        township = TestClient(app)
        login(township, OWN)
        with session_scope(engine) as s:
            token = users.issue_token(s, name=OWN)
        yield engine, township, TestClient(app, headers={"Authorization": f"Bearer {token}"})


def _stored(engine) -> tuple:
    with session_scope(engine) as s:
        files = sorted(p.name for p in get_settings().evidence_dir.rglob("*") if p.is_file())
        return (
            s.execute(select(func.count()).select_from(Progress)).scalar_one(),
            s.execute(select(func.count()).select_from(Evidence)).scalar_one(),
            s.get(Task, 1).version,
            files,
        )


def _page_post(client, files):
    html = client.get("/tasks/1").text
    version = html.split('name="version" value="', 1)[1].split('"', 1)[0]
    return client.post(
        "/tasks/1/progress",
        data={"csrf_token": csrf_from(html), "version": version, "note": "已整改"},
        files=[("files", f) for f in files],
    )


BAD = [
    ([("会议纪要.pdf", b"%PDF-" + b"0" * MAX_BYTES, "application/pdf")], "文件 会议纪要.pdf 超过 20 MB 限制"),
    ([("setup.exe", b"MZ\x90\x00", "application/octet-stream")], "文件 setup.exe 类型不支持"),
    (
        [("扫描件.pdf", PNG, "application/pdf")],
        "文件 扫描件.pdf 类型不支持（仅限 pdf、jpg、png、docx、xlsx）：内容与扩展名 .pdf 不符",
    ),
    ([("照片.png", PNG, "image/png"), ("说明.txt", b"hello", "text/plain")], "文件 说明.txt 类型不支持"),
]


@pytest.mark.parametrize("files,message", BAD, ids=["too-large", "exe", "fake-pdf", "one-bad-of-two"])
def test_refused_upload_shows_why_on_the_page_and_stores_nothing(web, files, message):
    engine, township, _ = web
    before = _stored(engine)
    r = _page_post(township, files)
    assert r.status_code == 422 and message in r.text
    assert _stored(engine) == before


@pytest.mark.parametrize("files,message", BAD, ids=["too-large", "exe", "fake-pdf", "one-bad-of-two"])
def test_refused_upload_through_the_api_answers_json_and_stores_nothing(web, files, message):
    engine, _, api = web
    before = _stored(engine)
    version = api.get("/api/v1/tasks/1").json()["version"]
    r = api.post(
        "/api/v1/tasks/1/progress", data={"version": version, "note": "已整改"}, files=[("files", f) for f in files]
    )
    assert r.status_code == 422 and message in r.json()["detail"]
    assert _stored(engine) == before


def test_accepted_files_are_stored_by_sha256_and_downloadable(web):
    engine, township, api = web
    files = [
        ("整改报告.pdf", MINIMAL_PDF, "application/pdf"),
        ("现场.png", PNG, "image/png"),
        ("制度.docx", _docx(), "application/octet-stream"),
    ]
    r = _page_post(township, files)
    assert r.status_code == 200 and "上传佐证材料 3 个" in r.text  # followed the redirect to the task page
    detail = api.get("/api/v1/tasks/1").json()
    got = {e["filename"]: e for e in detail["evidence"]}
    assert set(got) == {"整改报告.pdf", "现场.png", "制度.docx"}
    for name, data, _ in files:
        e = got[name]
        assert e["sha256"] == hashlib.sha256(data).hexdigest() and e["size"] == len(data)
        page = township.get(f"/evidence/{e['id']}")
        assert page.content == data and "attachment" in page.headers["content-disposition"]
        assert api.get(e["download_url"]).content == data
    assert got["制度.docx"]["content_type"].endswith("wordprocessingml.document")  # by content, not the browser
    assert {p.name for p in get_settings().evidence_dir.rglob("*") if p.is_file()} >= {
        hashlib.sha256(d).hexdigest() for _, d, _ in files
    }
