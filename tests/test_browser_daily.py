"""The daily loop in headless Chromium (issue 12): on a 390 px phone a task sent back shows its banner at
the top and the progress form above the analysis and the source text, 我的任务 folds its filters; a bad
evidence file comes back on the form with the typed note kept; 销号 under 100 % or without evidence asks
for confirmation first; evidence is previewed inline under the CSP without violations.

Screenshots go to test-output/screenshots/daily-*.png.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.browser import DESKTOP, PHONE, SHOTS
from tests.conftest import needs_shared
from tests.web_helpers import ADMIN, MINIMAL_PDF, OWN, PASSWORD, live_server, seed, web_env
from tracker import lifecycle, users
from tracker.db import session_scope
from tracker.demo import minutes_pdf
from tracker.lights import today
from tracker.models import Task, Township
from tracker.web.app import create_app

pytestmark = [pytest.mark.browser, needs_shared("reports/xili-2023.txt", "reports/xiaojing-2023.txt")]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A live server on the two test reports: task ids of the township, and the engine to prepare states."""
    with web_env(tmp_path_factory.mktemp("daily") / "data") as engine:
        seed(engine)
        with session_scope(engine) as s:
            ids = list(
                s.execute(
                    select(Task.id)
                    .join(Township, Task.township_id == Township.id)
                    .where(Township.name == OWN)
                    .order_by(Task.id)
                ).scalars()
            )
            admin = users.get_user(s, name=ADMIN)
            lifecycle.assign(
                s,
                actor=admin,
                task_ids=ids[:4],
                owner_unit="司法所",
                owner_person="张三",
                deadline=today() + timedelta(days=60),
                category="限期整改",
            )
        with live_server(create_app(engine=engine)) as base:
            yield base, engine, ids


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"daily-{name}.png"), full_page=True)


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"page wider than the screen: {width}"


def _console(page) -> list[str]:
    lines: list[str] = []
    page.on("console", lambda m: lines.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: lines.append(f"pageerror: {e}"))
    return lines


def _refusals(lines: list[str]) -> list[str]:
    return [line for line in lines if "Content Security Policy" in line or "Refused to" in line]


def test_sent_back_banner_on_a_phone_with_the_progress_form_first(browser, site):
    from playwright.sync_api import expect

    base, engine, ids = site
    task_id = ids[0]
    with session_scope(engine) as s:
        lifecycle.post_progress(
            s,
            actor=users.get_user(s, name=OWN),
            task_id=task_id,
            version=None,
            note="已召开专题会议",
            percent=100,
            submit=True,
        )
        lifecycle.verify(
            s,
            actor=users.get_user(s, name=ADMIN),
            task_id=task_id,
            version=None,
            reject_reason="缺少会议照片，请补充后再提交",
        )
    page = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True).new_page()
    console = _console(page)
    _login(page, base, OWN)

    page.goto(f"{base}/tasks")
    expect(page.locator("#filter-panel")).not_to_have_attribute("open", re.compile(".*"))  # folded
    expect(page.locator("#f-year")).to_be_hidden()
    row = page.locator(f'#ledger tr[data-task="{task_id}"]')
    expect(row.locator(".badge.returned")).to_have_text("被退回")
    expect(row).to_contain_text("2023年度")
    assert page.locator("#ledger tbody tr").first.get_attribute("data-task") == str(task_id)
    _no_sideways_scroll(page)
    _shot(page, "my-tasks-phone")
    page.click("#quick-sent-back")
    expect(page.locator("#ledger tbody tr")).to_have_count(1)

    page.goto(f"{base}/tasks/{task_id}")
    banner = page.locator("#sent-back")
    expect(banner).to_be_in_viewport()
    expect(banner).to_contain_text("缺少会议照片，请补充后再提交")
    expect(banner).to_contain_text(ADMIN)
    expect(banner).to_contain_text(f"{today().year}年{today().month}月{today().day}日")
    form_top = page.locator("#progress-form").bounding_box()["y"]
    assert form_top < page.locator(".analysis").bounding_box()["y"]
    assert form_top < page.locator("blockquote.source").bounding_box()["y"]
    assert form_top < page.locator("#journal").bounding_box()["y"]
    _no_sideways_scroll(page)
    _shot(page, "sent-back-phone")
    assert not _refusals(console), console


def test_bad_evidence_file_keeps_the_typed_note(browser, site, tmp_path):
    from playwright.sync_api import expect

    base, engine, ids = site
    task_id = ids[1]
    bad = tmp_path / "会议纪要.pdf"
    bad.write_bytes(b"MZ\x90\x00 not a pdf")
    page = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True).new_page()
    _login(page, base, OWN)
    page.goto(f"{base}/tasks/{task_id}")
    page.fill("#p-note", "已召开专题会议，整改方案已印发")
    page.fill("#p-percent", "80")
    page.set_input_files("#p-files", str(bad))
    page.click("#progress-form button[type=submit]")
    error = page.locator("#progress-form #progress-error")
    expect(error).to_contain_text("文件 会议纪要.pdf 类型不支持")
    expect(page.locator("h1")).not_to_have_text("操作未完成")
    expect(page.locator("#p-note")).to_have_value("已召开专题会议，整改方案已印发")
    expect(page.locator("#p-percent")).to_have_value("80")
    expect(page.locator("#p-files-again")).to_contain_text("请重新选择")
    _no_sideways_scroll(page)
    _shot(page, "refused-progress-phone")
    with session_scope(engine) as s:
        assert s.get(Task, task_id).last_progress_at is None  # nothing was written
    # choosing a good file and sending again works from the same form
    good = tmp_path / "纪要.pdf"
    good.write_bytes(MINIMAL_PDF)
    page.set_input_files("#p-files", str(good))
    page.click("#progress-form button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("上传佐证材料 1 个")


def test_closing_asks_for_confirmation_and_evidence_is_previewed(browser, site):
    from playwright.sync_api import expect

    base, engine, ids = site
    weak, ready = ids[2], ids[3]
    with session_scope(engine) as s:
        township = users.get_user(s, name=OWN)
        lifecycle.post_progress(s, actor=township, task_id=weak, version=None, note="部分完成", percent=60, submit=True)
        lifecycle.post_progress(
            s,
            actor=township,
            task_id=ready,
            version=None,
            note="已完成",
            percent=100,
            files=[("纪要.pdf", minutes_pdf("整改会议纪要", "已完成")), ("照片.png", PNG)],
            submit=True,
        )
    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    console = _console(page)
    page.on("dialog", lambda d: d.accept())
    _login(page, base, ADMIN)

    page.goto(f"{base}/tasks/{weak}")
    expect(page.locator("#close-warnings")).to_contain_text("完成进度为 60%，尚无佐证材料")
    page.click("#approve")
    confirm = page.locator("#confirm-close")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("完成进度为 60%")
    expect(confirm).to_contain_text("尚无佐证材料")
    expect(page.locator("#status")).to_have_text("待审核")
    _shot(page, "close-confirmation")
    page.click("#confirm-approve")
    expect(page.locator(".flash.ok")).to_contain_text("任务销号")
    expect(page.locator("#status")).to_have_text("已销号")

    page.goto(f"{base}/tasks/{ready}")
    expect(page.locator("#close-warnings")).to_have_count(0)
    frame = page.locator("#evidence iframe.preview")
    expect(frame).to_have_attribute("src", re.compile(r"^/evidence/\d+\?inline=1$"))
    image = page.locator("#evidence img.preview")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    page.wait_for_timeout(1000)  # let the frame load (a refused frame logs to the console)
    assert any(f.url.startswith(f"{base}/evidence/") for f in page.frames), [f.url for f in page.frames]
    assert not _refusals(console), console
    _shot(page, "evidence-preview")
    page.click("#approve")  # 100 % with evidence: closed at once
    expect(page.locator(".flash.ok")).to_contain_text("任务销号")
