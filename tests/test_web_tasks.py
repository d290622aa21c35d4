"""The ledger page (filters, order, pagination), bulk assignment, the task page and its actions, Excel."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update

from tests.web_helpers import ADMIN, MINIMAL_PDF, OTHER, OWN, csrf_from, login, seed, web_env
from tracker.db import session_scope
from tracker.lights import today
from tracker.models import Task, Township
from tracker.web.app import create_app
from tracker.web.pages import tasks as task_pages


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("tasks")) as engine:
        seed(engine)
        yield create_app(engine=engine), engine


@pytest.fixture
def county(web):
    client = TestClient(web[0])
    login(client, ADMIN)
    return client


@pytest.fixture
def township(web):
    client = TestClient(web[0])
    login(client, OWN)
    return client


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<td class="title-cell"><a href="/tasks/(\d+)">', html)]


def _task_ids(engine, township: str) -> list[int]:
    with session_scope(engine) as s:
        return list(
            s.execute(
                select(Task.id)
                .join(Township, Task.township_id == Township.id)
                .where(Township.name == township)
                .order_by(Task.id)
            ).scalars()
        )


def _version(client, task_id: int) -> str:
    return re.search(r'name="version" value="(\d+)"', client.get(f"/tasks/{task_id}").text).group(1)


def test_ledger_filters_combine(county, web):
    own = _task_ids(web[1], OWN)
    assert sorted(_ids(county.get("/tasks", params={"township": OWN}).text)) == own
    html = county.get("/tasks", params={"township": OWN, "kind": "plan", "q": "营商环境"}).text
    assert len(_ids(html)) == 1 and "优化法治化营商环境" in html
    assert _ids(county.get("/tasks", params={"year": 2023, "status": "已销号"}).text) == []
    r = county.get("/tasks", params={"year": "二〇二三"})
    assert r.status_code == 422 and "年度应为整数" in r.text


def test_ledger_paginates_and_keeps_filters(county, web, monkeypatch):
    monkeypatch.setattr(task_pages, "PER_PAGE", 3)
    first = county.get("/tasks", params={"township": OWN}).text
    assert "共 8 项，每页 3 项" in first and 'href="/tasks?township=' in first
    pages = [_ids(county.get("/tasks", params={"township": OWN, "page": n}).text) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [3, 3, 2]
    assert sorted(sum(pages, [])) == _task_ids(web[1], OWN)


def test_bulk_assign_from_the_ledger_is_all_or_nothing(county, web):
    engine = web[1]
    ids = _task_ids(engine, OTHER)[:3]
    page = county.get("/tasks", params={"township": OTHER}).text
    boxes = re.findall(r'name="task" value="(\d+:\d+)"', page)
    chosen = [b for b in boxes if int(b.split(":")[0]) in ids]
    form = {
        "csrf_token": csrf_from(page),
        "task": chosen,
        "owner_unit": "综治办",
        "owner_person": "赵六",
        "deadline": "2031-01-15",
        "category": "限期整改",
    }
    stale = form | {"task": chosen[:-1] + [chosen[-1].split(":")[0] + ":99"]}
    r = county.post("/tasks/assign", data=stale)
    assert r.status_code == 409 and "该任务已被他人修改" in r.text
    with session_scope(engine) as s:
        assert all(s.get(Task, i).owner_unit is None for i in ids)
    r = county.post("/tasks/assign", data=form)
    assert r.status_code == 200 and "已分派 3 项任务：综治办 赵六，整改时限 2031年1月15日，限期整改" in r.text
    with session_scope(engine) as s:
        assert {(s.get(Task, i).status, s.get(Task, i).owner_person) for i in ids} == {("整改中", "赵六")}


def test_my_tasks_sorted_by_light_then_deadline_and_only_my_township(township, web):
    engine = web[1]
    own = _task_ids(engine, OWN)
    day = today()
    deadlines = {
        own[0]: day + timedelta(days=90),
        own[1]: day - timedelta(days=3),  # green, red
        own[2]: day + timedelta(days=5),
        own[3]: day - timedelta(days=30),
    }  # yellow, red
    with session_scope(engine) as s:
        for tid, d in deadlines.items():
            s.execute(update(Task).where(Task.id == tid).values(deadline=d, last_progress_at=None))
    html = township.get("/tasks").text
    shown = _ids(html)
    assert sorted(shown) == own and "孝敬镇" not in html
    # red (older deadline first), then yellow, then green last
    assert shown.index(own[3]) < shown.index(own[1]) < shown.index(own[2]) < shown.index(own[0])
    assert shown[-2:] == [own[2], own[0]]
    assert "红灯" in html and "黄灯" in html
    assert f"{deadlines[own[1]].year}年{deadlines[own[1]].month}月{deadlines[own[1]].day}日" in html


def test_task_life_on_the_pages_with_send_back_and_close(county, township, web):
    task_id = _task_ids(web[1], OWN)[4]
    form = {"owner_unit": "司法所", "owner_person": "张三", "deadline": "2031-06-30", "category": "限期整改"}
    page = county.get(f"/tasks/{task_id}").text
    assert (
        county.post(
            f"/tasks/{task_id}/assign",
            data=form | {"csrf_token": csrf_from(page), "version": _version(county, task_id)},
        ).status_code
        == 200
    )
    page = township.get(f"/tasks/{task_id}").text
    r = township.post(
        f"/tasks/{task_id}/progress",
        files=[("files", ("纪要.pdf", MINIMAL_PDF, "application/pdf"))],
        data={
            "csrf_token": csrf_from(page),
            "version": _version(township, task_id),
            "note": "已制定整改方案",
            "percent": "100",
            "submit": "true",
        },
    )
    assert r.status_code == 200 and "进展已填报并提交审核" in r.text and "待审核" in r.text
    csrf = csrf_from(county.get(f"/tasks/{task_id}").text)
    r = county.post(
        f"/tasks/{task_id}/verify",
        data={"csrf_token": csrf, "version": _version(county, task_id), "decision": "reject", "reject_reason": ""},
    )
    assert r.status_code == 422 and "退回时必须填写退回原因" in r.text
    r = county.post(
        f"/tasks/{task_id}/verify",
        data={
            "csrf_token": csrf,
            "version": _version(county, task_id),
            "decision": "reject",
            "reject_reason": "缺少会议照片",
        },
    )
    assert r.status_code == 200 and "已退回乡镇继续整改" in r.text
    page = township.get(f"/tasks/{task_id}").text
    assert "退回</strong>：缺少会议照片" in page and "整改中" in page and "纪要.pdf" in page
    r = township.post(
        f"/tasks/{task_id}/submit", data={"csrf_token": csrf_from(page), "version": _version(township, task_id)}
    )
    assert r.status_code == 200 and "已提交县级审核" in r.text
    r = county.post(
        f"/tasks/{task_id}/verify",
        data={"csrf_token": csrf, "version": _version(county, task_id), "decision": "approve"},
    )
    assert r.status_code == 200 and "任务销号" in r.text
    timeline = township.get(f"/tasks/{task_id}").text.split('id="journal"', 1)[1]
    actions = re.findall(r"<strong>([^<]+)</strong>", timeline)
    assert actions == ["销号", "提交审核", "退回", "提交审核", "分派", "生成任务"]  # newest first
    r = township.post(f"/tasks/{task_id}/submit", data={"csrf_token": csrf_from(page), "version": "99"})
    assert r.status_code == 409  # closed: no more submits


def test_excel_export_follows_filters_and_import_lists_rejected_rows(county, web):
    r = county.get("/tasks/export.xlsx", params={"township": OTHER, "kind": "plan"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:5] == ("序号", "乡镇", "报告年度", "问题/计划", "整改事项") and body
    assert {row[1] for row in body} == {OTHER}
    col = {h: i for i, h in enumerate(header)}
    assert {(row[col["报告年度"]], row[col["问题/计划"]]) for row in body} == {(2023, "计划")}
    ws.cell(row=2, column=col["责任单位"] + 1, value="党政办")
    ws.cell(row=2, column=col["责任人"] + 1, value="钱七")
    ws.cell(row=2, column=col["整改时限"] + 1, value="2031-09-30")
    ws.cell(row=2, column=col["整改类别"] + 1, value="长期坚持")
    ws.cell(row=3, column=col["责任单位"] + 1, value="党政办")
    ws.cell(row=3, column=col["责任人"] + 1, value="钱七")
    ws.cell(row=3, column=col["整改时限"] + 1, value="下个月")
    ws.cell(row=3, column=col["整改类别"] + 1, value="长期坚持")
    buf = io.BytesIO()
    ws.parent.save(buf)
    page = county.get("/tasks/import").text
    r = county.post(
        "/tasks/import", data={"csrf_token": csrf_from(page)}, files={"file": ("台账.xlsx", buf.getvalue())}
    )
    assert r.status_code == 200 and "已更新 1 项" in r.text and "1 行未导入" in r.text
    assert "第 3 行" in r.text and "整改时限“下个月”不是有效日期" in r.text
    with session_scope(web[1]) as s:
        assert s.get(Task, body[0][col["任务编号"]]).owner_person == "钱七"
        assert s.get(Task, body[1][col["任务编号"]]).owner_person != "钱七"


def test_dashboard_counts_per_township(county, web):
    html = county.get("/dashboard").text
    assert 'id="townships"' in html and OWN in html and OTHER in html and "完成率" in html
    assert re.search(r'data-status="已销号"><div class="muted">已销号</div><div class="n">(\d+)', html)
