"""The city's comparison of counties in headless Chromium: every report year by default, one year when
chosen, and the year kept on the way down to a county's dashboard and back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.browser import DESKTOP
from tests.conftest import needs_shared
from tests.web_helpers import PASSWORD, REPORTS, REPORTS_DIR, live_server, seed, web_env
from tracker import counties, users
from tracker.db import session_scope
from tracker.ingest import ingest_file
from tracker.models import Report, Task
from tracker.web.app import create_app

XIDAGOU = REPORTS_DIR / "xidagou-2024.txt"
pytestmark = [pytest.mark.browser, needs_shared("reports/xili-2023.txt", "reports/xidagou-2024.txt")]


def _tasks_of_year(engine, year: int) -> int:
    with session_scope(engine) as s:
        q = select(func.count()).select_from(Task).join(Report, Report.id == Task.report_id)
        return s.execute(q.where(Report.report_year == year)).scalar_one()


def test_city_compares_counties_by_report_year(browser, tmp_path):
    from playwright.sync_api import expect

    with web_env(tmp_path / "data") as engine:
        seed(engine, reports=REPORTS)  # 本县: two 2023 reports
        with session_scope(engine) as s:
            counties.add_county(s, name="乙县")
            users.create_user(s, name="市里", role="city", password=PASSWORD)
        assert ingest_file(engine=engine, path=XIDAGOU, actor="测试", county="乙县").ok
        n2023, n2024 = _tasks_of_year(engine, 2023), _tasks_of_year(engine, 2024)
        assert n2023 and n2024
        with live_server(create_app(engine=engine)) as base:
            page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
            page.goto(f"{base}/login")
            page.fill("#name", "市里")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            expect(page.locator("h1")).to_contain_text("全部年度")
            total = page.locator("#totals .stat").nth(2).locator(".n")
            expect(total).to_have_text(str(n2023 + n2024))

            page.select_option("#d-year", "2024")
            page.click("#dashboard-filter button[type=submit]")
            page.wait_for_load_state()
            assert "year=2024" in page.url
            expect(page.locator("h1")).to_contain_text("2024年度报告")
            expect(total).to_have_text(str(n2024))
            rows = {
                r.locator("td").nth(0).inner_text(): r.locator("td").nth(2).inner_text()
                for r in page.locator("#counties tbody tr").all()
            }
            assert rows == {"本县": "0", "乙县": str(n2024)}

            page.click("#counties >> text=乙县")
            page.wait_for_load_state()
            expect(page.locator("h1")).to_contain_text("乙县")
            expect(page.locator("h1")).to_contain_text("2024年度报告")
            expect(page.locator("#d-year")).to_have_value("2024")
            page.click("text=← 返回各县（区）对比")
            page.wait_for_load_state()
            expect(page.locator("#d-year")).to_have_value("2024")
            expect(total).to_have_text(str(n2024))
