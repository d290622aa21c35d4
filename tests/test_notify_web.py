"""County admin pages and API for recipients and the outbox, in the app as `rectify serve` runs it."""
from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from notifications.outbox import deliver
from notifications.reminders import enqueue_reminders
from tests.test_notify_support import notify_settings, outbox_rows
from tracker import users
from tracker.db import session_scope
from tracker.web.app import create_app
from tests.web_helpers import ADMIN, OWN, STAFF, csrf_from, login, seed, web_env

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
    r = browser.post("/notifications/channels", data={"csrf_token": token, "township": OWN, "kind": "wecom",
                                                      "target": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
                                                      "role": "staff"})
    assert r.status_code == 200 and "已添加接收渠道" in r.text and "企业微信群机器人" in r.text  # after the redirect
    bad = browser.post("/notifications/channels", data={"csrf_token": token, "township": OWN, "kind": "email",
                                                        "target": "not-an-address"})
    assert bad.status_code == 422 and "邮箱地址“not-an-address”格式不正确" in bad.text
    assert 'value="not-an-address"' in bad.text  # the form keeps what was typed
    forged = browser.post("/notifications/channels", data={"csrf_token": "forged", "kind": "email",
                                                           "target": "x@y.cn"})
    assert forged.status_code == 403
    channel_id = next(c["id"] for c in site[1][ADMIN].get("/api/v1/channels").json() if c["kind"] == "wecom")
    r = browser.post(f"/notifications/channels/{channel_id}/remove", data={"csrf_token": token})
    assert r.status_code == 200 and "已删除接收渠道" in r.text
    assert all(c["id"] != channel_id for c in site[1][ADMIN].get("/api/v1/channels").json())


def test_channels_api(site):
    _, api, _ = site
    r = api[ADMIN].post("/api/v1/channels", json={"kind": "dingtalk", "target": "https://oapi.dingtalk.com/robot/send"
                                                  "?access_token=t", "secret": "SEC", "role": "leader"})
    assert r.status_code == 201
    body = r.json()
    assert (body["scope"], body["kind"], body["role"], body["has_secret"]) == ("全县", "dingtalk", "leader", True)
    assert "secret" not in body
    dup = api[ADMIN].post("/api/v1/channels", json={"kind": "dingtalk", "target": "https://oapi.dingtalk.com/robot/send"
                                                    "?access_token=t"})
    assert dup.status_code == 409 and "已有该钉钉群机器人渠道" in dup.json()["detail"]
    wrong = api[ADMIN].post("/api/v1/channels", json={"township": OWN, "kind": "webhook", "target": "ftp://x",
                                                      "role": "leader"})
    assert wrong.status_code == 422 and "领导（督办）渠道只能添加在县级" in wrong.json()["detail"]
    assert api[ADMIN].delete(f"/api/v1/channels/{body['id']}").status_code == 204
    assert api[ADMIN].delete(f"/api/v1/channels/{body['id']}").status_code == 404
    for who in (STAFF, OWN):
        assert api[who].get("/api/v1/channels").status_code == 403
        assert api[who].post("/api/v1/channels", json={"kind": "email", "target": "a@b.cn"}).status_code == 403
    assert TestClient(api[ADMIN].app).get("/api/v1/channels").status_code == 401


def test_outbox_shows_failures_and_retries(site):
    engine, api, browser = site
    r = api[ADMIN].post("/api/v1/channels", json={"township": OWN, "kind": "webhook", "target": DEAD_URL})
    assert r.status_code == 201
    queued = enqueue_reminders(engine=engine, as_of=date(2025, 1, 10))  # the reports' tasks are 待分派 …
    assert sum(queued.values()) == 0
    first = api[ADMIN].get("/api/v1/tasks", params={"township": OWN, "per_page": 1}).json()["items"][0]
    assign = api[ADMIN].post("/api/v1/tasks/assign", json={
        "task_ids": [first["id"]], "owner_unit": "司法所", "owner_person": "张三", "deadline": "2025-01-15",
        "category": "限期整改"})
    assert assign.status_code == 200, assign.text
    assert enqueue_reminders(engine=engine, as_of=date(2025, 1, 10))["due_soon"] == 1  # … until assigned
    assert deliver(engine=engine, settings=notify_settings(max_attempts=1)).failed == 1
    [failed] = [o for o in outbox_rows(engine) if o.status == "failed"]

    page = browser.get("/notifications/outbox", params={"status": "failed"})
    assert page.status_code == 200 and "发送失败（1）" in page.text
    assert failed.last_error in page.text and "重发" in page.text and first["title"][:10] in page.text
    listed = api[STAFF].get("/api/v1/outbox", params={"status": "failed"}).json()
    assert [(e["id"], e["status"], e["attempts"]) for e in listed] == [(failed.id, "failed", 1)]
    assert listed[0]["last_error"].startswith("请求失败")
    assert api[STAFF].post(f"/api/v1/outbox/{failed.id}/retry").status_code == 403
    assert api[OWN].get("/api/v1/outbox").status_code == 403
    assert browser.get("/notifications/outbox").status_code == 200

    r = browser.post(f"/notifications/outbox/{failed.id}/retry",
                     data={"csrf_token": csrf_from(page.text), "status": "failed"})
    assert r.status_code == 200 and f"消息 {failed.id} 已重新加入发送队列" in r.text
    again = api[ADMIN].post(f"/api/v1/outbox/{failed.id}/retry").json()
    assert (again["status"], again["attempts"]) == ("pending", 0)
    assert api[ADMIN].post("/api/v1/outbox/999999/retry").status_code == 404
