"""Year end in the web app: the section rendered in Chromium equals the golden text; downloads;
who may see what. The year-end router is mounted on the app from `create_app(engine=...)`
(unless the app already includes it)."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import quote

import docx
import pytest
from fastapi.testclient import TestClient

from tests.test_yearend_section import GOLDEN, build_ledger
from tests.web_helpers import PASSWORD, live_server, login
from tracker import users
from tracker.db import session_scope
from tracker.web.app import create_app
from tracker.yearend.run import county_name, section_name
from tracker.yearend.web import router

Q = "year=2023&as_of=2024-12-20"


def _app(engine):
    app = create_app(engine=engine)
    if not any(getattr(r, "path", None) == "/yearend" for r in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
def web(engine, cli_env):
    build_ledger(engine)
    with session_scope(engine) as s:
        users.create_user(s, name="县管理员", role="county_admin", password=PASSWORD)
        users.create_user(s, name="青石镇用户", role="township", password=PASSWORD, township="青石镇")
    return _app(engine)


def _golden_lines(stem: str) -> list[str]:
    return [line.lstrip("\u3000") for line in (GOLDEN / f"yearend-{stem}.txt").read_text(encoding="utf-8").splitlines()]


def test_township_user_sees_and_downloads_only_its_own_section(web):
    c = TestClient(web)
    login(c, "青石镇用户")
    page = c.get(f"/yearend?{Q}")
    assert page.status_code == 200 and "青石镇2023年度报告问题整改情况" in page.text
    r = c.get(f"/yearend/section.txt?{Q}")
    assert r.text == (GOLDEN / "yearend-qingshi.txt").read_text(encoding="utf-8")
    assert (
        r.headers["content-disposition"] == f"attachment; filename*=UTF-8''{quote(section_name('青石镇', 2023, 'txt'))}"
    )
    assert c.get(f"/yearend?{Q}&township=北湖街道").status_code == 404
    assert c.get(f"/yearend/section.md?{Q}&township=北湖街道").status_code == 404
    assert c.get(f"/yearend/county?{Q}").status_code == 403
    assert c.get(f"/yearend/all.zip?{Q}").status_code == 403
    assert c.get(f"/yearend/section.pdf?{Q}").status_code == 404
    assert c.get("/yearend?year=2023&as_of=2024-02-30").status_code == 422


def test_county_downloads_everything_as_one_zip(web):
    c = TestClient(web)
    login(c, "县管理员")
    r = c.get(f"/yearend/all.zip?{Q}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    expected = {section_name(t, 2023, f) for t in ("青石镇", "北湖街道") for f in ("docx", "md", "txt")}
    assert expected | {county_name(2023, f) for f in ("docx", "xlsx", "html")} <= names
    assert c.get(f"/yearend/section.md?{Q}&township=北湖街道").text == (GOLDEN / "yearend-beihu.md").read_text(
        encoding="utf-8"
    )
    assert c.get(f"/yearend/county.xlsx?{Q}").content.startswith(b"PK")


def test_pages_count_unassigned_apart_and_show_review_notes_only_when_asked(web):
    c = TestClient(web)
    login(c, "青石镇用户")
    page = c.get(f"/yearend?{Q}").text
    assert "正在整改2项，尚未启动（待分派）1项" in page and 'name="review_notes"' in page
    assert "审核未通过" not in page and "review_notes=1" not in page
    asked = c.get(f"/yearend?{Q}&review_notes=1").text
    assert "审核未通过，原因：佐证材料未体现分众化普法活动开展情况" in asked
    link = f"/yearend/section.docx?{Q}&township={quote('青石镇')}&review_notes=1"
    assert link.replace("&", "&amp;") in asked  # downloads carry the choice
    assert "审核未通过" in c.get(f"/yearend/section.txt?{Q}&review_notes=1").text

    c = TestClient(web)
    login(c, "县管理员")
    county = c.get(f"/yearend/county?{Q}").text
    assert "<th>尚未启动</th>" in county and "尚未启动（待分派）1个" in county


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.browser
def test_section_in_chromium_is_the_golden_text_and_its_docx_downloads(web, browser, tmp_path):
    with live_server(web) as base:
        ctx = browser.new_context(accept_downloads=True)
        page = ctx.new_page()
        _login(page, base, "青石镇用户")
        page.goto(f"{base}/yearend?{Q}")
        shown = page.locator("#section > *").all_inner_texts()
        assert [t.strip() for t in shown] == _golden_lines("qingshi")
        with page.expect_download() as dl:
            page.click("text=下载 .docx")
        assert dl.value.suggested_filename == section_name("青石镇", 2023, "docx")
        path = tmp_path / "dl.docx"
        dl.value.save_as(path)
        assert [p.text for p in docx.Document(path).paragraphs] == _golden_lines("qingshi")
        # regenerate for another date from the form
        page.fill("#y-as-of", "2024-08-31")
        page.click("text=重新生成")
        page.wait_for_url(lambda url: "as_of=2024-08-31" in url)
        assert "截至2024年8月31日" in page.locator("#section").inner_text()
        # and with the county's review notes, on request
        assert "审核未通过" not in page.locator("#section").inner_text()
        page.fill("#y-as-of", "2024-12-20")
        page.check("#y-review-notes")
        page.click("text=重新生成")
        page.wait_for_url(lambda url: "review_notes=1" in url)
        assert "审核未通过，原因：佐证材料未体现" in page.locator("#section").inner_text()
        assert page.is_checked("#y-review-notes")
        ctx.close()

        ctx = browser.new_context()
        page = ctx.new_page()
        _login(page, base, "县管理员")
        page.goto(f"{base}/yearend?{Q}&township=北湖街道")
        assert [t.strip() for t in page.locator("#section > *").all_inner_texts()] == _golden_lines("beihu")
        page.goto(f"{base}/yearend/county?{Q}")
        assert "全县2个乡镇（街道）2023年度报告共查摆问题7个" in page.locator(".overview").inner_text()
        widths = page.eval_on_selector_all(".yearend-county img", "els => els.map(e => e.naturalWidth)")
        assert all(w > 0 for w in widths)
        ctx.close()
