"""The task page and the ledger show the year-end analysis: theme, recurrence, plan links, claims."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web_helpers import ADMIN, login, seed, web_env
from tracker.db import session_scope
from tracker.models import Report, Task
from tracker.web.app import create_app

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_task_page_shows_recurrence_claim_and_theme_filter(tmp_path):
    with web_env(tmp_path) as engine:
        seed(engine, reports=(SAMPLES / "鹤鸣镇-2023.txt", SAMPLES / "鹤鸣镇-2024.txt"))
        with session_scope(engine) as s:
            task_id = s.execute(
                select(Task.id)
                .join(Report, Report.id == Task.report_id)
                .where(Report.report_year == 2023, Task.title.startswith("法律顾问作用发挥不充分"))
            ).scalar_one()
        client = TestClient(create_app(engine=engine))
        login(client, ADMIN)
        page = client.get(f"/tasks/{task_id}").text
        insights = page[page.index('id="insights"') : page.index("报告原文")]
        assert "连续两年查摆" in insights and "2024年度：法律顾问参与重大决策不够深入" in insights
        assert "法律顾问" in insights  # the theme
        assert "报告称已完成，台账未销号" in insights  # the 2024 report says done; the task is not closed
        assert "充分发挥法律顾问参谋助手作用" in insights  # the plan item answering it

        ledger = client.get("/tasks", params={"theme": "法律顾问", "township": "鹤鸣镇"}).text
        shown = re.search(r'<option value="法律顾问" selected>法律顾问（(\d+)）</option>', ledger)
        assert shown and int(shown.group(1)) >= 2
        assert "法律顾问作用发挥不充分" in ledger and "普法宣传针对性不强" not in ledger
