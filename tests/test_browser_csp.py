"""Headless Chromium under the Content-Security-Policy: the main pages of both roles load and their
scripts work (select-all, confirm dialogs, review jumps) with no CSP violation in the console; an
inline script is refused, which shows the policy is in force and the console check sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.browser import DESKTOP
from tests.conftest import needs_shared
from tests.web_helpers import ADMIN, OWN, PASSWORD, REPORTS, live_server, seed, web_env
from tracker.db import session_scope
from tracker.models import Task
from tracker.web.app import create_app

pytestmark = [pytest.mark.browser, needs_shared("reports/xili-2023.txt", "reports/xiaojing-2023.txt")]


class Console:
    """Every console message and page error of a page, and the CSP violations among them."""

    def __init__(self, page):
        self.lines: list[str] = []
        page.on("console", lambda m: self.lines.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.lines.append(f"pageerror: {e}"))

    def violations(self) -> list[str]:
        return [line for line in self.lines if "Content Security Policy" in line or "Refused to" in line]


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:500]


def test_pages_work_under_the_csp_without_violations(browser, tmp_path):
    from playwright.sync_api import expect

    with web_env(tmp_path / "data") as engine:
        seed(engine)
        with session_scope(engine) as s:
            task_id = s.execute(select(func.min(Task.id))).scalar_one()
        with live_server(create_app(engine=engine)) as base:
            county = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
            county.on("dialog", lambda d: d.accept())
            console = Console(county)
            _login(county, base, ADMIN)
            for path in (
                "/dashboard",
                "/tasks",
                f"/tasks/{task_id}",
                "/reports",
                "/users",
                "/yearend",
                "/yearend/county",
                "/notifications/channels",
                "/notifications/outbox",
                "/audit",
                "/account/password",
            ):
                response = county.goto(base + path)
                assert response.status == 200, (path, response.status)
                assert "script-src 'self'" in response.headers["content-security-policy"], path
                assert response.headers["x-frame-options"] == "DENY"
            # app.js runs: the ledger's select-all box checks every row
            county.goto(f"{base}/tasks")
            county.check("input[data-select-all]")
            boxes = county.locator("#ledger tbody input[type=checkbox]")
            assert boxes.count() > 0
            expect(boxes.first).to_be_checked()
            expect(boxes.last).to_be_checked()
            # and the confirm dialogs: issuing a token asks first (accepted), then shows it once
            county.goto(f"{base}/users")
            county.locator("form[action$='/token'] button").first.click()
            expect(county.locator(".flash")).to_contain_text("API 令牌")
            # the review page's jump links
            county.goto(f"{base}/reports")
            county.set_input_files("#report-files", str(REPORTS[0]))
            county.click("text=上传并提取")
            county.locator("[data-jump]").first.click()
            expect(county.locator("#doc mark.focus").first).to_be_in_viewport()
            assert console.violations() == [], console.violations()

            township = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
            township_console = Console(township)
            _login(township, base, OWN)
            for path in ("/tasks", "/reports", "/yearend", "/account/password"):
                assert township.goto(base + path).status == 200, path
            assert township_console.violations() == [], township_console.violations()

            # the policy is in force: an inline script is refused, and the check above would have seen it
            county.goto(f"{base}/dashboard")
            county.evaluate("""() => { const s = document.createElement('script');
                                       s.textContent = 'window.__inline = 1'; document.body.appendChild(s); }""")
            county.wait_for_timeout(200)
            assert county.evaluate("() => window.__inline") is None
            assert any("Content Security Policy" in line for line in console.violations())
