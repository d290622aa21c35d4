"""The daily loop on the pages (issue 12): 我的任务 sorted by what the township can act on, with the 被退回
badge, filter and banner; refused forms shown again with what was typed; the 销号 confirmation and bulk
销号 with a stale version; evidence previewed inline; the dashboard's year filter and completion per year
and kind; the Excel export's columns and file name, and an old sheet imported."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update

from tests.conftest import needs_shared
from tests.web_helpers import ADMIN, MINIMAL_PDF, OTHER, OWN, csrf_from, login, seed, web_env
from tracker import lifecycle, users
from tracker.config import TZ
from tracker.db import session_scope
from tracker.lights import today
from tracker.models import AuditEvent, Report, Task, Township
from tracker.web.app import create_app

pytestmark = needs_shared("reports/xili-2023.txt", "reports/xiaojing-2023.txt")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ASSIGNED = {"owner_unit": "司法所", "owner_person": "张三", "category": "限期整改"}


@pytest.fixture
def web(tmp_path):
    with web_env(tmp_path / "data") as engine:
        seed(engine)
        yield create_app(engine=engine), engine


def _client(web, name: str) -> TestClient:
    client = TestClient(web[0])
    login(client, name)
    return client


def _ids(engine, township: str = OWN) -> list[int]:
    with session_scope(engine) as s:
        return list(
            s.execute(
                select(Task.id)
                .join(Township, Task.township_id == Township.id)
                .where(Township.name == township)
                .order_by(Task.id)
            ).scalars()
        )


def _assign(engine, task_ids, deadline):
    with session_scope(engine) as s:
        lifecycle.assign(s, actor=users.get_user(s, name=ADMIN), task_ids=task_ids, deadline=deadline, **ASSIGNED)


def _progress(engine, task_id, *, percent=None, files=(), submit=False, note="已召开专题会议"):
    with session_scope(engine) as s:
        lifecycle.post_progress(
            s,
            actor=users.get_user(s, name=OWN),
            task_id=task_id,
            version=None,
            note=note,
            percent=percent,
            files=list(files),
            submit=submit,
        )


def _reject(engine, task_id, reason):
    with session_scope(engine) as s:
        lifecycle.verify(s, actor=users.get_user(s, name=ADMIN), task_id=task_id, version=None, reject_reason=reason)


def _task(engine, task_id) -> Task:
    with session_scope(engine) as s:
        return s.get(Task, task_id)


def _listed(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<td class="title-cell"><a href="/tasks/(\d+)">', html)]


def _row(html: str, task_id: int) -> str:
    return re.search(rf'<tr[^>]*data-task="{task_id}".*?</tr>', html, re.S).group(0)


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_my_tasks_sorted_by_what_the_township_can_act_on(web):
    engine = web[1]
    ids = _ids(engine)
    day = today()
    green, yellow, red, pending = ids[:4]
    _assign(engine, [green], day + timedelta(days=90))
    _assign(engine, [yellow], day + timedelta(days=5))
    _assign(engine, [red], day - timedelta(days=3))
    _assign(engine, [pending], day - timedelta(days=10))  # overdue, but waiting for the county
    _progress(engine, pending, percent=100, submit=True)
    html = _client(web, OWN).get("/tasks").text
    shown = _listed(html)
    assert sorted(shown) == ids
    assert shown[:4] == [red, yellow, green, pending]  # 整改中 by light, then 待审核, then 待分派
    waiting = _row(html, ids[4])
    assert 'class=" waiting"' in waiting and "待县里分派" in waiting
    assert "2023年度" in _row(html, red)  # cards show the report year
    # the filter panel is folded for township users (no `open`), and a quick 被退回 link is offered
    assert re.search(r'<details class="card filter-panel" id="filter-panel" data-fold-narrow\s*>', html)
    assert 'id="quick-sent-back"' in html
    # county users keep the light order and an open filter panel
    county_html = _client(web, ADMIN).get("/tasks", params={"township": OWN}).text
    listed = _listed(county_html)
    assert listed.index(pending) < listed.index(red) < listed.index(yellow) < listed.index(green)
    assert re.search(r'id="filter-panel" data-fold-narrow open', county_html)


def test_sent_back_badge_filter_and_banner(web):
    engine = web[1]
    ids = _ids(engine)
    back, other = ids[:2]
    _assign(engine, [back, other], today() + timedelta(days=60))
    _progress(engine, back, percent=100, submit=True)
    _reject(engine, back, "缺少会议照片，请补充")
    township = _client(web, OWN)
    html = township.get("/tasks").text
    assert "被退回" in _row(html, back) and "被退回" not in _row(html, other)
    assert _listed(html)[0] == back  # it is 整改中 again, and first among equals by deadline
    assert _listed(township.get("/tasks", params={"sent_back": "1"}).text) == [back]
    page = township.get(f"/tasks/{back}").text
    banner = re.search(r'<div class="sent-back" id="sent-back".*?</div>\s*</div>', page, re.S).group(0)
    assert "缺少会议照片，请补充" in banner and ADMIN in banner
    assert f"{today().year}年{today().month}月{today().day}日" in banner
    assert page.index('id="sent-back"') < page.index('id="progress-form"')
    assert 'id="sent-back"' not in township.get(f"/tasks/{other}").text
    _progress(engine, back, percent=100, submit=True)  # submitted again: no longer 被退回
    html = township.get("/tasks").text
    assert "被退回</span>" not in _row(html, back)
    assert 'id="sent-back"' not in township.get(f"/tasks/{back}").text
    assert _listed(township.get("/tasks", params={"sent_back": "1"}).text) == []


def test_task_page_puts_the_progress_form_before_the_analysis_and_source(web):
    engine = web[1]
    task_id = _ids(engine)[0]
    _assign(engine, [task_id], today() + timedelta(days=60))
    page = _client(web, OWN).get(f"/tasks/{task_id}").text
    # on a phone the columns dissolve and CSS orders the sections: facts, forms, records, analysis, journal
    assert '<section class="card act">' in page and '<section class="card analysis">' in page
    css = _client(web, OWN).get("/static/app.css").text
    assert ".task-layout .act { order: 2; }" in css and ".task-layout .analysis { order: 4; }" in css


def test_refused_forms_come_back_with_what_was_typed(web):
    engine = web[1]
    ids = _ids(engine)
    task_id = ids[0]
    _assign(engine, [task_id], today() + timedelta(days=60))
    township = _client(web, OWN)
    page = township.get(f"/tasks/{task_id}").text
    r = township.post(
        f"/tasks/{task_id}/progress",
        files=[("files", ("病毒.pdf", b"MZ\x90\x00", "application/pdf"))],
        data={
            "csrf_token": csrf_from(page),
            "version": _version(page),
            "note": "已召开专题会议<b>",
            "percent": "70",
            "submit": "true",
        },
    )
    assert r.status_code == 422
    assert "操作未完成" not in r.text  # not the error page: the task page with the message on the form
    form = re.search(r'<form [^>]*id="progress-form".*?</form>', r.text, re.S).group(0)
    assert 'id="progress-error"' in form and "文件 病毒.pdf 类型不支持" in form
    assert ">已召开专题会议&lt;b&gt;</textarea>" in form and 'name="percent" min="0" max="100" value="70"' in form
    assert 'name="submit" value="true" checked' in form and "未保存的文件：病毒.pdf" in form
    assert _task(engine, task_id).version == 2  # nothing written
    r = township.post(
        f"/tasks/{task_id}/progress",
        data={"csrf_token": csrf_from(page), "version": _version(page), "note": "进展", "percent": "一百"},
    )
    assert r.status_code == 422 and "完成进度应为整数" in r.text and 'value="一百"' in r.text

    county = _client(web, ADMIN)
    page = county.get(f"/tasks/{task_id}").text
    r = county.post(
        f"/tasks/{task_id}/assign",
        data={
            "csrf_token": csrf_from(page),
            "version": _version(page),
            "owner_unit": "党政办",
            "owner_person": "李四",
            "deadline": "明年六月",
            "category": "长期坚持",
        },
    )
    assert r.status_code == 422
    form = re.search(r'<form [^>]*id="assign-form".*?</form>', r.text, re.S).group(0)
    assert "整改时限应为日期" in form and 'value="党政办"' in form and 'value="李四"' in form
    assert 'value="明年六月"' in form and "<option selected>长期坚持</option>" in form

    # bulk assign: the ticked tasks stay ticked, the filters stay
    ledger = county.get("/tasks", params={"township": OWN, "kind": "shortcoming"}).text
    picked = [f"{t}:{_task(engine, t).version}" for t in ids[1:3]]
    r = county.post(
        "/tasks/assign?township=" + OWN + "&kind=shortcoming",
        data={
            "csrf_token": csrf_from(ledger),
            "task": picked,
            "owner_unit": "综治办",
            "owner_person": "王五",
            "deadline": "2031-02-30",
            "category": "立行立改",
            "back": "/tasks?kind=shortcoming",
        },
    )
    assert r.status_code == 422 and 'id="bulk-error"' in r.text and "整改时限应为日期" in r.text
    for value in picked:
        assert f'value="{value}" form="bulk" aria-label="选择任务 {value.split(":")[0]}" checked' in r.text
    assert (
        'value="综治办"' in r.text and 'value="2031-02-30"' in r.text and "<option selected>立行立改</option>" in r.text
    )
    assert '<option value="shortcoming" selected>' in r.text  # the ledger's filters still apply
    r = county.post(
        "/tasks/assign",
        data={
            "csrf_token": csrf_from(ledger),
            "owner_unit": "综治办",
            "owner_person": "王五",
            "deadline": "2031-03-30",
            "category": "立行立改",
        },
    )
    assert r.status_code == 422 and "请至少选择一项任务" in r.text and 'value="2031-03-30"' in r.text

    # 退回 without a reason (only spaces typed): the message on the verify form, the spaces kept
    _progress(engine, task_id, percent=100, submit=True)
    page = county.get(f"/tasks/{task_id}").text
    r = county.post(
        f"/tasks/{task_id}/verify",
        data={"csrf_token": csrf_from(page), "version": _version(page), "decision": "reject", "reject_reason": "   "},
    )
    assert r.status_code == 422
    form = re.search(r'<form [^>]*id="verify-form".*?</form>', r.text, re.S).group(0)
    assert "退回时必须填写退回原因" in form and '<textarea id="v-reason" name="reject_reason">   </textarea>' in form


def test_review_options_kept_when_refused(web):
    county = _client(web, ADMIN)
    from tests.web_helpers import REPORTS

    page = county.post(
        "/reports/upload",
        data={"csrf_token": csrf_from(county.get("/reports").text)},
        files=[("files", ("xili-2023.txt", REPORTS[0].read_bytes(), "text/plain"))],
    )
    assert "/reports/review/" in str(page.url)
    html = page.text
    titles = re.findall(r'<input type="text" name="title" value="([^"]*)"', html)
    kinds = re.findall(r'<select name="kind".*?<option value="(\w+)" selected', html, re.S)
    titles[0] = "改过的标题"
    r = county.post(
        str(page.url),
        data={
            "csrf_token": csrf_from(html),
            "unit": "西里镇",
            "report_year": "20233",
            "replace": "true",
            "kind": kinds,
            "title": titles,
            "drop": ["1"],
            "action": "confirm",
        },
    )
    assert r.status_code == 422 and "报告年度 20233 无效" in r.text
    assert 'value="20233"' in r.text and 'id="r-replace" checked' in r.text and 'value="改过的标题"' in r.text
    assert 'name="drop" value="1" checked' in r.text


def test_closing_asks_for_confirmation_under_100_percent_or_without_evidence(web):
    engine = web[1]
    weak, ready = _ids(engine)[:2]
    _assign(engine, [weak, ready], today() + timedelta(days=60))
    _progress(engine, weak, percent=60, submit=True)
    _progress(engine, ready, percent=100, files=[("纪要.pdf", MINIMAL_PDF)], submit=True)
    county = _client(web, ADMIN)
    page = county.get(f"/tasks/{weak}").text
    assert "销号前请核实：完成进度为 60%，尚无佐证材料" in page
    r = county.post(
        f"/tasks/{weak}/verify", data={"csrf_token": csrf_from(page), "version": _version(page), "decision": "approve"}
    )
    assert r.status_code == 200 and 'id="confirm-close"' in r.text
    assert "确认销号？</strong>该任务完成进度为 60%，尚无佐证材料。" in r.text
    assert _task(engine, weak).status == "待审核"
    r = county.post(
        f"/tasks/{weak}/verify",
        data={"csrf_token": csrf_from(page), "version": _version(page), "decision": "approve", "confirmed": "true"},
    )
    assert "已审核通过，任务销号" in r.text and _task(engine, weak).status == "已销号"
    page = county.get(f"/tasks/{ready}").text
    assert 'id="close-warnings"' not in page
    r = county.post(
        f"/tasks/{ready}/verify", data={"csrf_token": csrf_from(page), "version": _version(page), "decision": "approve"}
    )
    assert "已审核通过，任务销号" in r.text and _task(engine, ready).status == "已销号"


def test_bulk_close_reports_a_stale_version_and_closes_the_others(web):
    engine = web[1]
    a, b, c = _ids(engine)[:3]
    _assign(engine, [a, b, c], today() + timedelta(days=60))
    for t in (a, b, c):
        _progress(engine, t, percent=100, files=[("纪要.pdf", MINIMAL_PDF)], submit=True)
    county = _client(web, ADMIN)
    ledger = county.get("/tasks", params={"status": "待审核"}).text
    assert 'id="bulk-verify"' in ledger
    boxes = dict(re.findall(r'name="verify_task" value="((\d+):\d+)" form="bulk-verify"', ledger))
    boxes = {int(tid): value for value, tid in boxes.items()}
    assert set(boxes) == {a, b, c}
    with session_scope(engine) as s:  # c changes after the page was shown (another reviewer's edit)
        s.execute(update(Task).where(Task.id == c).values(version=Task.version + 1))
    r = county.post(
        "/tasks/verify",
        data={"csrf_token": csrf_from(ledger), "verify_task": list(boxes.values()), "back": "/tasks?status=待审核"},
    )
    assert r.status_code == 200
    assert f"已审核通过并销号 2 项任务：{a}、{b}" in r.text
    assert f"任务 {c} 未销号：该任务已被他人修改" in r.text
    assert [_task(engine, t).status for t in (a, b, c)] == ["已销号", "已销号", "待审核"]


def test_bulk_close_confirms_tasks_under_100_percent_first(web):
    engine = web[1]
    a, b = _ids(engine)[:2]
    _assign(engine, [a, b], today() + timedelta(days=60))
    _progress(engine, a, percent=100, files=[("照片.png", PNG)], submit=True)
    _progress(engine, b, percent=80, submit=True)
    county = _client(web, ADMIN)
    ledger = county.get("/tasks", params={"status": "待审核"}).text
    picked = re.findall(r'name="verify_task" value="(\d+:\d+)"', ledger)
    r = county.post("/tasks/verify", data={"csrf_token": csrf_from(ledger), "verify_task": picked})
    assert r.status_code == 200 and 'id="confirm-bulk"' in r.text
    assert "有 1 项完成进度不足 100% 或没有佐证材料" in r.text and "完成进度为 80%，尚无佐证材料" in r.text
    assert [_task(engine, t).status for t in (a, b)] == ["待审核", "待审核"]
    hidden = re.findall(r'<input type="hidden" name="verify_task" value="(\d+:\d+)">', r.text)
    assert sorted(hidden) == sorted(picked)
    r = county.post("/tasks/verify", data={"csrf_token": csrf_from(r.text), "verify_task": hidden, "confirmed": "true"})
    assert "已审核通过并销号 2 项任务" in r.text
    assert [_task(engine, t).status for t in (a, b)] == ["已销号", "已销号"]
    r = county.post("/tasks/verify", data={"csrf_token": csrf_from(ledger)})
    assert r.status_code == 422 and re.search(r'id="bulk-verify-error">请至少选择一项任务<', r.text)


def _downloads(engine, evidence_id: int) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.entity == "evidence")).scalars().all()
        return [(e.actor, e.after["file"]) for e in events if e.after["evidence_id"] == evidence_id]


def test_evidence_previewed_inline(web):
    engine = web[1]
    task_id = _ids(engine)[0]
    _assign(engine, [task_id], today() + timedelta(days=60))
    _progress(engine, task_id, percent=50, files=[("纪要.pdf", MINIMAL_PDF), ("照片.png", PNG)])
    county = _client(web, ADMIN)
    page = county.get(f"/tasks/{task_id}").text
    pdf_id, png_id = (int(x) for x in re.findall(r'<li><a href="/evidence/(\d+)">', page))
    assert f'<iframe class="preview pdf" src="/evidence/{pdf_id}?inline=1" title="预览：纪要.pdf"' in page
    assert f'<img class="preview" src="/evidence/{png_id}?inline=1" alt="预览：照片.png"' in page
    r = county.get(f"/evidence/{pdf_id}", params={"inline": "1"})
    assert r.content == MINIMAL_PDF and r.headers["content-disposition"].startswith("inline;")
    assert _downloads(engine, pdf_id) == []  # the preview on the task page is no export
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
    assert "object-src 'none'" in r.headers["content-security-policy"]
    r = county.get(f"/evidence/{pdf_id}")  # the download link itself stays a download that no page may frame
    assert r.headers["content-disposition"].startswith("attachment;") and r.headers["x-frame-options"] == "DENY"
    assert _downloads(engine, pdf_id) == [(ADMIN, "纪要.pdf")]  # … and the audit log records it
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert county.get(f"/tasks/{task_id}").headers["x-frame-options"] == "DENY"


def _disposition_name(header: str) -> str:
    m = re.search(r"filename\*=UTF-8''([A-Za-z0-9%!#$&+\-.^_`|~]+)$", header)
    assert m, header
    return unquote(m.group(1))


def test_export_named_after_its_filter_with_year_and_kind_columns(web):
    county = _client(web, ADMIN)
    stamp = datetime.now(TZ).strftime("%Y%m%d")
    r = county.get("/tasks/export.xlsx", params={"township": OWN, "year": "2023"})
    header = r.headers["content-disposition"]
    assert header.startswith(f"attachment; filename=\"rectify-ledger-{stamp}.xlsx\"; filename*=UTF-8''")
    assert _disposition_name(header) == f"整改台账-{OWN}-2023年度-{stamp}.xlsx"
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    col = {h: i for i, h in enumerate(rows[0])}
    assert "类型" not in col and {"报告年度", "问题/计划", "整改事项", "整改类别"} <= col.keys()
    assert {(row[col["报告年度"]], row[col["问题/计划"]]) for row in rows[1:]} == {(2023, "问题"), (2023, "计划")}
    r = county.get("/tasks/export.xlsx", params={"kind": "plan", "light": "green", "q": "营商/环境"})
    assert _disposition_name(r.headers["content-disposition"]) == f"整改台账-计划-绿灯-{stamp}.xlsx"
    assert (
        _disposition_name(county.get("/tasks/export.xlsx").headers["content-disposition"]) == f"整改台账-{stamp}.xlsx"
    )
    r = _client(web, OWN).get("/tasks/export.xlsx", params={"sent_back": "1"})  # their own township, implicit
    assert _disposition_name(r.headers["content-disposition"]) == f"整改台账-{OWN}-被退回-{stamp}.xlsx"


def test_import_still_reads_a_sheet_of_the_previous_layout(web):
    engine = web[1]
    a, b = _ids(engine)[:2]
    wb = Workbook()
    ws = wb.active
    ws.title = "整改台账"
    ws.append(
        [
            "序号",
            "乡镇",
            "类型",
            "问题/计划",
            "整改措施",
            "责任单位",
            "责任人",
            "整改时限",
            "状态",
            "最新进展",
            "佐证材料数",
            "预警",
            "任务编号",
            "版本",
        ]
    )
    ws.append([1, OWN, "长期坚持", "标题", "", "党政办", "赵六", "2031年9月30日", "待分派", "", 0, "", a, 1])
    ws.append([2, OWN, "马上办", "标题", "", "党政办", "赵六", "2031年9月30日", "待分派", "", 0, "", b, 1])
    buf = io.BytesIO()
    wb.save(buf)
    county = _client(web, ADMIN)
    r = county.post(
        "/tasks/import",
        data={"csrf_token": csrf_from(county.get("/tasks/import").text)},
        files={"file": ("旧台账.xlsx", buf.getvalue())},
    )
    assert r.status_code == 200 and "已更新 1 项" in r.text
    assert "类型“马上办”无效" in r.text  # the old sheet's own column name
    t = _task(engine, a)
    assert (t.category, t.owner_person, t.status) == ("长期坚持", "赵六", "整改中")


def test_dashboard_year_filter_and_completion_per_year_and_kind(web):
    engine = web[1]
    own, other = _ids(engine, OWN), _ids(engine, OTHER)
    with session_scope(engine) as s:  # the other township's report becomes the newer year
        tid = s.execute(select(Township.id).where(Township.name == OTHER)).scalar_one()
        s.execute(update(Report).where(Report.township_id == tid).values(report_year=2024))
    _assign(engine, [own[0]], today() + timedelta(days=60))
    _progress(engine, own[0], percent=100, files=[("纪要.pdf", MINIMAL_PDF)], submit=True)
    with session_scope(engine) as s:
        lifecycle.verify(s, actor=users.get_user(s, name=ADMIN), task_id=own[0], version=None)
    county = _client(web, ADMIN)

    def total(html):
        return int(re.search(r'<div class="muted">整改事项</div><div class="n">(\d+)', html).group(1))

    html = county.get("/dashboard").text  # the latest report year by default
    assert '<option value="2024" selected>2024年度</option>' in html and "2024年度报告" in html
    assert total(html) == len(other)
    assert f'href="/tasks?township={OTHER}&amp;year=2024"' in html or "year=2024" in html
    html = county.get("/dashboard", params={"year": "2023"}).text
    assert total(html) == len(own)
    assert re.search(r'data-status="已销号"><div class="muted">已销号</div><div class="n">1<', html)
    html = county.get("/dashboard", params={"year": "all"}).text
    assert total(html) == len(own) + len(other) and '<option value="all" selected>' in html
    table = re.search(r'<table class="stack completion" id="by-year">.*?</table>', html, re.S).group(0)
    rows = re.findall(
        r'data-year="(\d+)" data-kind="(\w+)">.*?<td data-label="事项" class="num">(\d+)</td>\s*'
        r'<td data-label="已销号" class="num">(\d+)</td>\s*<td data-label="完成率" class="rate">(\d+)%',
        table,
        re.S,
    )
    with session_scope(engine) as s:
        kinds = dict(s.execute(select(Task.id, Task.kind)).all())
    n_short = sum(1 for t in own if kinds[t] == "shortcoming")
    assert rows[0][:2] == ("2024", "shortcoming") and [r[0] for r in rows] == ["2024", "2024", "2023", "2023"]
    assert ("2023", "shortcoming", str(n_short), "1", str(round(100 / n_short))) in rows
    assert county.get("/dashboard", params={"year": "去年"}).status_code == 422
