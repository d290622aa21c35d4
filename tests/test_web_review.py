"""Report upload → review (highlights, edits, drop, merge) → confirm import, through the pages and the API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web_helpers import ADMIN, REPORTS, csrf_from, login, seed, web_env
from tracker import uploads
from tracker.db import session_scope
from tracker.extraction import extract_text, read_document
from tracker.models import Item, PendingUpload, Report, Task
from tracker.web.app import create_app
from tracker.web.highlight import highlight

XILI = REPORTS[0]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("review")) as engine:
        seed(engine, reports=[REPORTS[1]])  # 西里镇 is left for the upload
        yield create_app(engine=engine), engine


@pytest.fixture
def county(web):
    client = TestClient(web[0])
    login(client, ADMIN)
    return client


def _upload(client, *files):
    token = csrf_from(client.get("/reports").text)
    return client.post(
        "/reports/upload", data={"csrf_token": token}, follow_redirects=False, files=[("files", f) for f in files]
    )


def test_highlight_marks_each_span_in_place_and_anchors_it():
    text = "甲乙丙丁戊己庚辛"
    html = str(highlight(text, [(0, "shortcoming", 1, 3), (1, "plan", 5, 7), (2, "cause", 2, 3)]))
    assert re.sub(r"<[^>]+>", "", html) == text  # nothing lost or added
    assert '<mark class="k-shortcoming" data-item="0" id="item-0">乙</mark>' in html
    assert '<mark class="k-cause" data-item="2" id="item-2">丙</mark>' in html  # the narrower span wins
    assert '<mark class="k-plan" data-item="1" id="item-1">己庚</mark>' in html


def test_review_edit_drop_merge_then_confirm(county, web):
    engine = web[1]
    expected = extract_text(read_document(XILI), source_name=XILI.name)
    r = _upload(county, (XILI.name, XILI.read_bytes(), "text/plain"))
    assert r.status_code == 303 and r.headers["location"].startswith("/reports/review/")
    token = r.headers["location"].rsplit("/", 1)[1]
    page = county.get(f"/reports/review/{token}").text
    items = expected.items
    for i, it in enumerate(items):
        assert f'id="item-{i}"' in page and f'data-jump="{i}"' in page
        marked = "".join(re.findall(rf'<mark class="k-{it.kind}" data-item="{i}"[^>]*>([^<]*)</mark>', page))
        assert marked == it.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
            '"', "&#34;"
        ).replace("'", "&#39;")
    plans = [i for i, it in enumerate(items) if it.kind == "plan"]
    first, second = plans[0], plans[1]
    kinds = [it.kind for it in items]
    titles = [it.title for it in items]
    kinds[0] = "plan"
    titles[1] = "法治第一责任人职责落实不够（已改）"
    form = {
        "csrf_token": csrf_from(page),
        "kind": kinds,
        "title": titles,
        "drop": [2],
        "merge": [first],
        "action": "confirm",
    }
    r = county.post(f"/reports/review/{token}", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/tasks?township=")

    with session_scope(engine) as s:
        report = s.execute(select(Report).where(Report.source_name == XILI.name)).scalar_one()
        stored = list(s.execute(select(Item).where(Item.report_id == report.id).order_by(Item.start)).scalars())
        tasks = list(s.execute(select(Task).where(Task.report_id == report.id)).scalars())
    assert len(stored) == len(items) - 2  # one dropped, two merged into one
    assert items[2].title not in {it.title for it in stored}
    assert stored[0].kind == "plan" and any(it.title == "法治第一责任人职责落实不够（已改）" for it in stored)
    merged = next(it for it in stored if it.start == items[first].start)
    assert merged.end == items[second].end and merged.text == report.text[merged.start : merged.end]
    assert all(it.text == report.text[it.start : it.end] for it in stored)
    assert sorted(it.seq for it in stored if it.kind == "plan") == list(
        range(1, sum(it.kind == "plan" for it in stored) + 1)
    )
    assert len(tasks) == len(stored)  # every kept item here is a problem or a plan
    # the pending upload is gone; confirming twice finds nothing
    with session_scope(engine) as s:
        assert s.get(PendingUpload, token) is None
    assert county.post(f"/reports/review/{token}", data=form).status_code == 404


def _review_xili(client, action: str) -> tuple[str, list, dict]:
    """Upload 西里镇; its review token, extracted items and a form that keeps them all with `action`."""
    r = _upload(client, (XILI.name, XILI.read_bytes(), "text/plain"))
    token = r.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/reports/review/{token}").text
    items = uploads.load(token).extraction.items
    kinds, titles = [it.kind for it in items], [it.title for it in items]
    return token, items, {"csrf_token": csrf_from(page), "kind": kinds, "title": titles, "action": action}


def test_apply_keeps_the_review_open_and_saves_edits(county):
    # this test may run alone, on a worker whose ledger lacks 西里镇: import it first (a copy is refused)
    token, _, form = _review_xili(county, "confirm")
    r = county.post(f"/reports/review/{token}", data=form, follow_redirects=False)
    assert r.status_code == 303 or "相同内容已于" in r.text
    token, items, form = _review_xili(county, "apply")
    form["drop"] = [0]
    r = county.post(f"/reports/review/{token}", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/reports/review/{token}"
    assert len(uploads.load(token).extraction.items) == len(items) - 1
    # the same content is already in the ledger: confirming says so and adds nothing
    kept = uploads.load(token).extraction.items
    r = county.post(
        f"/reports/review/{token}",
        data=form
        | {"kind": [it.kind for it in kept], "title": [it.title for it in kept], "drop": [], "action": "confirm"},
    )
    assert r.status_code == 200 and "相同内容已于" in r.text


def test_unreadable_upload_is_refused_by_name_and_nothing_waits(county):
    before = len(uploads.list_pending())
    r = _upload(county, ("报告.pdf", b"%PDF-1.4 not a report", "application/pdf"))
    assert r.status_code == 422 and "文件 报告.pdf 已损坏或不完整" in r.text
    r = _upload(county, ("报告.rtf", b"{\\rtf1 report}", "application/rtf"))
    assert r.status_code == 422 and "文件 报告.rtf 的格式（.rtf）不受支持" in r.text
    assert len(uploads.list_pending()) == before


def test_many_uploads_wait_in_a_list(county):
    before = len(uploads.list_pending())
    r = _upload(
        county,
        (XILI.name, XILI.read_bytes(), "text/plain"),
        ("xidagou-2024.txt", (XILI.parent / "xidagou-2024.txt").read_bytes(), "text/plain"),
    )
    assert r.status_code == 200 and "已上传 2 份报告" in r.text
    assert len(uploads.list_pending()) == before + 2
    assert r.text.count('href="/reports/review/') == before + 2


def test_api_upload_imports_directly_and_reports_each_file(web):
    client = TestClient(web[0])
    login(client, ADMIN)
    headers = {"X-CSRF-Token": csrf_from(client.get("/reports").text)}
    other = XILI.parent / "xidagou-2024.txt"
    r = client.post(
        "/api/v1/reports",
        headers=headers,
        files=[("files", (other.name, other.read_bytes(), "text/plain")), ("files", ("空.txt", b"", "text/plain"))],
    )
    assert r.status_code == 200
    ok, bad = r.json()
    assert ok["outcome"] == "imported" and ok["tasks"] > 0 and ok["report_year"] == 2024
    assert bad["outcome"] == "failed" and "空.txt" in bad["message"]
    again = client.post("/api/v1/reports", headers=headers, files=[("files", (other.name, other.read_bytes()))])
    assert again.json()[0]["outcome"] == "duplicate"
    listed = {(x["township"], x["report_year"]) for x in client.get("/api/v1/reports").json()}
    assert (ok["township"], 2024) in listed


def _forms_of_xili() -> list[tuple[str, bytes]]:
    """西里镇's report as a user may upload it: typeset PDF, GBK web page, auto-numbered .docx."""
    from tests.report_forms.pdf import report_pdf
    from tests.report_forms.webpage import page_bytes
    from tests.report_forms.word import auto_numbered_docx

    text = XILI.read_text(encoding="utf-8")
    return [
        ("西里镇-2023.pdf", report_pdf(text)),
        ("西里镇-2023.html", page_bytes("xili-2023", encoding="gbk")),
        ("西里镇-2023.docx", auto_numbered_docx(text)[0]),
    ]


@pytest.mark.parametrize("name, data", _forms_of_xili(), ids=lambda v: v if isinstance(v, str) else "")
def test_upload_of_each_format_reviews_the_same_items_highlighted_in_its_text(county, name, data):
    expected = extract_text(read_document(XILI))
    r = _upload(county, (name, data, "application/octet-stream"))
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    page = county.get(f"/reports/review/{token}").text
    assert token in {p.token for p in uploads.list_pending()}
    ex = uploads.load(token).extraction
    assert [(it.kind, it.title) for it in ex.items] == [(it.kind, it.title) for it in expected.items]
    for i, it in enumerate(ex.items):
        assert ex.text[it.start : it.end] == it.text
        assert f'id="item-{i}"' in page
    county.post(f"/reports/review/{token}", data={"csrf_token": csrf_from(page), "action": "discard"})
