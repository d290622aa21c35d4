"""The whole story in headless Chromium: the county imports and assigns, a township (on a phone-sized
screen) reports progress with a PDF and submits, the county verifies, the dashboard counts it closed.

Screenshots of every step go to test-output/screenshots/; a failing step names its screenshot.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from tests.browser import DESKTOP, PHONE, SHOTS
from tests.web_helpers import ADMIN, MINIMAL_PDF, OWN, PASSWORD, REPORTS, live_server, web_env
from tracker import users
from tracker.db import session_scope
from tracker.web.app import create_app

pytestmark = pytest.mark.browser


class Story:
    """Numbered steps; each ends with a screenshot, a failing one says where to look."""

    def __init__(self):
        self.n = 0
        SHOTS.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def step(self, page, name: str):
        self.n += 1
        path = SHOTS / f"{self.n:02d}-{name}.png"
        try:
            yield
        except Exception as exc:
            failed = path.with_name(f"{path.stem}-FAILED.png")
            page.screenshot(path=str(failed), full_page=True)
            raise AssertionError(f"step {self.n} {name} failed: {exc}\nscreenshot: {failed}") from exc
        page.screenshot(path=str(path))


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"page wider than the screen: {width}"


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_county_imports_assigns_township_reports_county_closes(browser, tmp_path):
    from playwright.sync_api import expect

    with web_env(tmp_path / "data") as engine:
        with session_scope(engine) as s:
            users.create_user(s, name=ADMIN, role="county_admin", password=PASSWORD)
        with live_server(create_app(engine=engine)) as base:
            story = Story()
            county = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
            county.on("dialog", lambda d: d.accept())

            with story.step(county, "county-login"):
                _login(county, base, ADMIN)
                expect(county).to_have_url(re.compile(r"/dashboard$"))

            with story.step(county, "review"):
                county.goto(f"{base}/reports")
                county.set_input_files("#report-files", str(REPORTS[0]))
                county.click("text=上传并提取")
                expect(county).to_have_url(re.compile(r"/reports/review/"))
                items = county.locator("#items .item")
                assert items.count() >= 8
                assert county.locator("#doc mark[data-item]").count() >= items.count()
                county.locator('[data-jump="6"]').click()
                focused = county.locator('#doc mark.focus[data-item="6"]').first
                expect(focused).to_be_in_viewport()
                _no_sideways_scroll(county)

            with story.step(county, "imported"):
                county.click("#confirm-import")
                expect(county.locator(".flash.ok")).to_contain_text("已导入")
                expect(county).to_have_url(re.compile(r"/tasks\?township="))

            with story.step(county, "bulk-assigned"):
                county.select_option("#f-kind", "shortcoming")
                county.click("#filters button[type=submit]")
                rows = county.locator("#ledger tbody tr")
                shortcomings = rows.count()
                assert shortcomings >= 4
                county.check("input[data-select-all]")
                county.fill("#b-unit", "镇司法所")
                county.fill("#b-person", "张三")
                county.fill("#b-deadline", "2031-06-30")
                county.select_option("#b-category", "限期整改")
                county.click("#bulk button[type=submit]")
                expect(county.locator(".flash.ok")).to_contain_text(f"已分派 {shortcomings} 项任务")
                expect(county.locator("#ledger")).to_contain_text("2031年6月30日")
                task_url = county.locator("#ledger tbody tr .title-cell a").first.get_attribute("href")

            with session_scope(engine) as s:
                users.create_user(s, name=OWN, role="township", password=PASSWORD, township=OWN)
            pdf = tmp_path / "整改会议纪要.pdf"
            pdf.write_bytes(MINIMAL_PDF)
            township = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True).new_page()
            township.on("dialog", lambda d: d.accept())

            with story.step(township, "township-my-tasks-phone"):
                _login(township, base, OWN)
                expect(township).to_have_url(re.compile(r"/tasks$"))
                expect(township.locator("h1")).to_contain_text("我的任务")
                _no_sideways_scroll(township)

            with story.step(township, "township-progress-phone"):
                township.goto(base + task_url)
                township.fill("#p-note", "已召开专题会议，制定整改方案并落实")
                township.fill("#p-percent", "100")
                township.set_input_files("#p-files", str(pdf))
                township.click("#progress-form button[type=submit]")
                expect(township.locator(".flash.ok")).to_contain_text("上传佐证材料 1 个")
                expect(township.locator("#evidence")).to_contain_text("整改会议纪要.pdf")
                _no_sideways_scroll(township)

            with story.step(township, "township-submitted-phone"):
                township.click("#submit-done")
                expect(township.locator(".flash.ok")).to_contain_text("已提交县级审核")
                expect(township.locator("#status")).to_have_text("待审核")

            with story.step(county, "county-verified"):
                county.goto(base + task_url)
                expect(county.locator("#evidence a")).to_have_text("整改会议纪要.pdf")
                county.click("#approve")
                expect(county.locator(".flash.ok")).to_contain_text("任务销号")
                expect(county.locator("#journal li").first).to_contain_text("销号")

            with story.step(county, "dashboard"):
                county.goto(f"{base}/dashboard")
                expect(county.locator('#totals [data-status="已销号"] .n')).to_have_text("1")
                expect(county.locator("#townships")).to_contain_text(OWN)

            county.set_viewport_size(PHONE)
            with story.step(county, "dashboard-phone"):
                county.reload()
                _no_sideways_scroll(county)
