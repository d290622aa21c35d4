"""County admin pages and API for recipients and the outbox, in the app as `rectify serve` runs it."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from notifications.outbox import deliver
from notifications.reminders import enqueue_reminders
from tests.test_notify_support import notify_settings, outbox_rows, recorder, recorder_server  # noqa: F401
from tests.web_helpers import ADMIN, OWN, STAFF, csrf_from, login, seed, web_env
from tracker import users
from tracker.db import session_scope
from tracker.web.app import create_app

DEAD_URL = "http://127.0.0.1:9/hook"  # nothing listens on the discard port: connection refused


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("notify-web")) as engine:
        seed(engine)
        app = create_app(engine=engine)
        with session_scope(engine) as s:
            tokens = {n: users.issue_token(s, name=n) for n in (ADMIN, STAFF, OWN)}
        api = {n: TestClient(app, headers={"Authorization": f"Bearer {t}"}) for n, t in tokens.items()}
        browser = TestClient(app)
        login(browser, ADMIN)
        yield engine, api, browser


def test_channels_page_add_and_remove(site):
    engine, _, browser = site
    page = browser.get("/notifications/channels")
    assert page.status_code == 200 and "提醒接收渠道" in page.text and "尚未添加接收渠道" in page.text
    token = csrf_from(page.text)
    r = browser.post(
        "/notifications/channels",
        data={
            "csrf_token": token,
            "township": OWN,
            "kind": "wecom",
            "target": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
            "role": "staff",
        },
    )
    assert r.status_code == 200 and "已添加接收渠道" in r.text and "企业微信群机器人" in r.text  # after the redirect
    bad = browser.post(
        "/notifications/channels",
        data={"csrf_token": token, "township": OWN, "kind": "email", "target": "not-an-address"},
    )
    assert bad.status_code == 422 and "邮箱地址“not-an-address”格式不正确" in bad.text
    assert 'value="not-an-address"' in bad.text  # the form keeps what was typed
    forged = browser.post("/notifications/channels", data={"csrf_token": "forged", "kind": "email", "target": "x@y.cn"})
    assert forged.status_code == 403
    channel_id = next(c["id"] for c in site[1][ADMIN].get("/api/v1/channels").json() if c["kind"] == "wecom")
    r = browser.post(f"/notifications/channels/{channel_id}/remove", data={"csrf_token": token})
    assert r.status_code == 200 and "已删除接收渠道" in r.text
    assert all(c["id"] != channel_id for c in site[1][ADMIN].get("/api/v1/channels").json())


def test_channels_api(site):
    _, api, _ = site
    r = api[ADMIN].post(
        "/api/v1/channels",
        json={
            "kind": "dingtalk",
            "target": "https://oapi.dingtalk.com/robot/send?access_token=t",
            "secret": "SEC",
            "role": "leader",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert (body["scope"], body["kind"], body["role"], body["has_secret"]) == ("全县", "dingtalk", "leader", True)
    assert "secret" not in body
    dup = api[ADMIN].post(
        "/api/v1/channels", json={"kind": "dingtalk", "target": "https://oapi.dingtalk.com/robot/send?access_token=t"}
    )
    assert dup.status_code == 409 and "已有该钉钉群机器人渠道" in dup.json()["detail"]
    wrong = api[ADMIN].post(
        "/api/v1/channels", json={"township": OWN, "kind": "webhook", "target": "ftp://x", "role": "leader"}
    )
    assert wrong.status_code == 422 and "领导（督办）渠道只能添加在县级" in wrong.json()["detail"]
    assert api[ADMIN].delete(f"/api/v1/channels/{body['id']}").status_code == 204
    assert api[ADMIN].delete(f"/api/v1/channels/{body['id']}").status_code == 404
    for who in (STAFF, OWN):
        assert api[who].get("/api/v1/channels").status_code == 403
        assert api[who].post("/api/v1/channels", json={"kind": "email", "target": "a@b.cn"}).status_code == 403
    assert TestClient(api[ADMIN].app).get("/api/v1/channels").status_code == 401


def _assign_due_on_15_january(api, index: int) -> dict:
    """Assign the `index`-th task of OWN, due 2025-01-15 (5 days after the checks below); returns it."""
    task = api[ADMIN].get("/api/v1/tasks", params={"township": OWN, "per_page": index + 1}).json()["items"][index]
    assign = {
        "task_ids": [task["id"]],
        "owner_unit": "司法所",
        "owner_person": "张三",
        "deadline": "2025-01-15",
        "category": "限期整改",
    }
    r = api[ADMIN].post("/api/v1/tasks/assign", json=assign)
    assert r.status_code == 200, r.text
    return task


def test_outbox_shows_failures_and_retries(site):
    engine, api, browser = site
    r = api[ADMIN].post("/api/v1/channels", json={"township": OWN, "kind": "webhook", "target": DEAD_URL})
    assert r.status_code == 201
    queued = enqueue_reminders(engine=engine, as_of=date(2025, 1, 10))  # the reports' tasks are 待分派 …
    assert sum(queued.values()) == 0
    first = _assign_due_on_15_january(api, 0)
    assert enqueue_reminders(engine=engine, as_of=date(2025, 1, 10))["due_soon"] == 1  # … until assigned
    assert deliver(engine=engine, settings=notify_settings(max_attempts=1)).failed == 1
    [failed] = [o for o in outbox_rows(engine) if o.status == "failed"]

    page = browser.get("/notifications/outbox", params={"status": "failed"})
    assert page.status_code == 200 and "发送失败（1）" in page.text
    assert failed.last_error in page.text and "重发" in page.text and first["title"][:10] in page.text
    listed = api[STAFF].get("/api/v1/outbox", params={"status": "failed"}).json()
    assert [(e["id"], e["status"], e["attempts"]) for e in listed] == [(failed.id, "failed", 1)]
    assert listed[0]["last_error"] == "无法连接到 127.0.0.1:9（连接被拒绝）"
    assert api[STAFF].post(f"/api/v1/outbox/{failed.id}/retry").status_code == 403
    assert api[OWN].get("/api/v1/outbox").status_code == 403
    assert browser.get("/notifications/outbox").status_code == 200

    r = browser.post(
        f"/notifications/outbox/{failed.id}/retry", data={"csrf_token": csrf_from(page.text), "status": "failed"}
    )
    assert r.status_code == 200 and f"消息 {failed.id} 已重新加入发送队列" in r.text
    again = api[ADMIN].post(f"/api/v1/outbox/{failed.id}/retry").json()
    assert (again["status"], again["attempts"]) == ("pending", 0)
    assert api[ADMIN].post("/api/v1/outbox/999999/retry").status_code == 404


def test_channels_page_warns_of_townships_without_a_channel(site):
    engine, api, browser = site
    before = browser.get("/notifications/channels").text
    assert 'id="unreached"' in before and "孝敬镇" in before.split('id="unreached"')[1].split("</div>")[0]
    added = []
    for township, target in ((OWN, "sfs@xl.gov.cn"), ("孝敬镇", "sfs@xj.gov.cn")):
        r = api[ADMIN].post("/api/v1/channels", json={"township": township, "kind": "email", "target": target})
        assert r.status_code == 201
        added.append(r.json()["id"])
    assert 'id="unreached"' not in browser.get("/notifications/channels").text
    for channel_id in added:
        assert api[ADMIN].delete(f"/api/v1/channels/{channel_id}").status_code == 204


def test_send_a_test_message_from_the_channels_page(site, recorder):
    engine, api, browser = site
    good = api[ADMIN].post(
        "/api/v1/channels", json={"township": OWN, "kind": "wecom", "target": recorder.url("/robot")}
    )
    dead = api[ADMIN].post("/api/v1/channels", json={"kind": "webhook", "target": "http://127.0.0.1:9/test"})
    assert good.status_code == dead.status_code == 201
    token = csrf_from(browser.get("/notifications/channels").text)
    ok = browser.post(f"/notifications/channels/{good.json()['id']}/test", data={"csrf_token": token})
    assert ok.status_code == 200
    assert f"测试消息已发送到{OWN}的企业微信群机器人（编号 {good.json()['id']}），请在接收端确认是否收到" in ok.text
    [req] = recorder.requests
    content = req.json()["markdown"]["content"]
    assert content.startswith(f"### 【测试消息】{OWN}整改提醒渠道") and "县管理员" in content
    bad = browser.post(f"/notifications/channels/{dead.json()['id']}/test", data={"csrf_token": token})
    assert (
        f"测试消息发送到全县的Webhook（编号 {dead.json()['id']}）失败：无法连接到 127.0.0.1:9（连接被拒绝）" in bad.text
    )
    staff = TestClient(browser.app)
    login(staff, STAFF)
    staff_token = csrf_from(staff.get("/notifications/outbox").text)
    assert (
        staff.post(f"/notifications/channels/{good.json()['id']}/test", data={"csrf_token": staff_token}).status_code
        == 403
    )
    for c in (good, dead):
        api[ADMIN].delete(f"/api/v1/channels/{c.json()['id']}")


def test_outbox_previews_each_message_and_check_now_runs_the_check(site):
    engine, api, browser = site
    if not any(c["scope"] == OWN for c in api[ADMIN].get("/api/v1/channels").json()):
        api[ADMIN].post("/api/v1/channels", json={"township": OWN, "kind": "webhook", "target": DEAD_URL})
    second = _assign_due_on_15_january(api, 1)
    enqueue_reminders(engine=engine, as_of=date(2025, 1, 10))
    [row] = [o for o in outbox_rows(engine) if o.task_id == second["id"]]
    page = browser.get("/notifications/outbox")
    assert page.status_code == 200 and "立即检查" in page.text
    previews = [p.split("</pre>")[0] for p in page.text.split("<summary>预览</summary>")[1:]]
    [preview] = [p for p in previews if f"/tasks/{row.task_id}" in p]
    assert f"【整改到期提醒】{OWN}：" in preview and "还有 5 天到期" in preview
    r = browser.post("/notifications/check", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "检查完成（" in r.text and "在办整改事项 红灯" in r.text
    assert "新加入发送队列的提醒" in r.text
    staff = TestClient(browser.app)
    login(staff, STAFF)
    staff_page = staff.get("/notifications/outbox")
    assert staff_page.status_code == 200 and "立即检查" not in staff_page.text and "预览" in staff_page.text
    assert staff.post("/notifications/check", data={"csrf_token": csrf_from(staff_page.text)}).status_code == 403


def test_private_and_malformed_targets_are_refused_by_the_api(site, monkeypatch):
    from tracker import config

    _, api, _ = site
    monkeypatch.setenv("RECTIFY_CHANNEL_ALLOW_PRIVATE", "0")
    config.get_settings.cache_clear()
    try:
        private = api[ADMIN].post(
            "/api/v1/channels", json={"township": OWN, "kind": "webhook", "target": "http://192.168.1.10/hook"}
        )
        assert private.status_code == 422
        assert private.json()["detail"] == (
            "Webhook地址指向本机或内网地址（192.168.1.10），已拒绝；"
            "如确需发往内网地址，请设置 RECTIFY_CHANNEL_ALLOW_PRIVATE=1"
        )
        bad = api[ADMIN].post("/api/v1/channels", json={"township": OWN, "kind": "webhook", "target": "http://[::1/"})
        assert bad.status_code == 422 and bad.json()["detail"] == "Webhook地址格式不正确：http://[::1/"
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
