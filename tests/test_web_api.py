"""The JSON API with Bearer tokens: the task life, the list's shape, users, and errors as {"detail": "<中文>"}."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web_helpers import ADMIN, MINIMAL_PDF, OTHER, OWN, STAFF, seed, web_env
from tracker import users
from tracker.db import session_scope
from tracker.web.app import create_app

REQUIRED = {
    "id",
    "township",
    "report_year",
    "kind",
    "title",
    "status",
    "deadline",
    "version",
    "owner_unit",
    "owner_person",
    "category",
    "light",
}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("api")) as engine:
        seed(engine)
        app = create_app(engine=engine)
        with session_scope(engine) as s:
            tokens = {n: users.issue_token(s, name=n) for n in (ADMIN, STAFF, OWN, OTHER)}
        yield {n: TestClient(app, headers={"Authorization": f"Bearer {t}"}) for n, t in tokens.items()}


def test_task_list_shape_and_scope(api):
    body = api[ADMIN].get("/api/v1/tasks", params={"per_page": 5}).json()
    assert set(body) == {"items", "total", "page", "per_page"} and body["per_page"] == 5
    assert len(body["items"]) == 5 and body["total"] == 14
    assert all(REQUIRED <= set(item) for item in body["items"])
    mine = api[OWN].get("/api/v1/tasks", params={"per_page": 500}).json()
    assert mine["total"] == 8 and {i["township"] for i in mine["items"]} == {OWN}
    assert api[OWN].get("/api/v1/tasks", params={"township": OTHER}).json()["total"] == 0
    plans = api[ADMIN].get("/api/v1/tasks", params={"kind": "plan", "township": OTHER}).json()
    assert plans["total"] > 0 and {i["kind"] for i in plans["items"]} == {"plan"}


def test_one_task_and_not_found(api):
    task = api[OWN].get("/api/v1/tasks/1").json()
    assert REQUIRED <= set(task) and task["township"] == OWN and task["description"]
    assert task["source_end"] > task["source_start"]
    r = api[OTHER].get("/api/v1/tasks/1")
    assert r.status_code == 404 and r.json() == {"detail": "任务 1 不存在"}


def test_bad_parameters_answer_422_in_chinese(api):
    r = api[ADMIN].get("/api/v1/tasks", params={"per_page": 0, "light": "purple"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "每页条数" in detail and "预警灯" in detail
    r = api[ADMIN].post(
        "/api/v1/tasks/assign",
        json={
            "task_ids": [1],
            "owner_unit": "司法所",
            "owner_person": "张三",
            "deadline": "明年",
            "category": "限期整改",
        },
    )
    assert r.status_code == 422 and "整改时限" in r.json()["detail"]


def test_task_life_through_the_api(api):
    county, township = api[STAFF], api[OWN]
    r = county.post(
        "/api/v1/tasks/assign",
        json={
            "task_ids": [2],
            "owner_unit": "司法所",
            "owner_person": "张三",
            "deadline": "2031-06-30",
            "category": "限期整改",
        },
    )
    assert r.status_code == 200 and r.json()[0]["status"] == "整改中"
    version = r.json()[0]["version"]
    r = township.post(
        "/api/v1/tasks/2/progress",
        data={"version": version, "note": "已完成自查", "percent": 50},
        files=[("files", ("自查报告.pdf", MINIMAL_PDF, "application/pdf"))],
    )
    assert r.status_code == 200
    task = r.json()
    assert task["progress_percent"] == 50 and task["evidence"][0]["filename"] == "自查报告.pdf"
    assert township.get(task["evidence"][0]["download_url"]).content == MINIMAL_PDF
    r = township.post("/api/v1/tasks/2/submit", json={"version": task["version"]})
    assert r.status_code == 200 and r.json()["status"] == "待审核"
    r = township.post("/api/v1/tasks/2/verify", json={"version": r.json()["version"]})
    assert r.status_code == 403 and r.json() == {"detail": "无权执行此操作"}
    version = county.get("/api/v1/tasks/2").json()["version"]
    r = county.post("/api/v1/tasks/2/verify", json={"version": version - 1})
    assert r.status_code == 409 and "请刷新后重试" in r.json()["detail"]
    r = county.post("/api/v1/tasks/2/verify", json={"version": version})
    assert r.status_code == 200 and r.json()["status"] == "已销号" and r.json()["light"] is None
    r = county.post("/api/v1/tasks/2/verify", json={"version": version + 1})
    assert r.status_code == 409 and "不能审核销号" in r.json()["detail"]
    journal = township.get("/api/v1/tasks/2/journal").json()
    assert [e["action"] for e in journal] == ["生成任务", "分派", "填报进展", "提交审核", "销号"]
    assert {"field": "责任人", "old": "", "new": "张三"} in journal[1]["changes"]
    assert api[OTHER].get("/api/v1/tasks/2/journal").status_code == 404


def test_users_api_for_admins_only(api):
    r = api[ADMIN].post(
        "/api/v1/users", json={"name": "西里镇二号", "role": "township", "township": OWN, "password": "long-enough-1"}
    )
    assert r.status_code == 201 and r.json()["township"] == OWN and r.json()["active"] is True
    again = api[ADMIN].post(
        "/api/v1/users", json={"name": "西里镇二号", "role": "township", "township": OWN, "password": "long-enough-1"}
    )
    assert again.status_code == 422 and again.json()["detail"] == "用户名 西里镇二号 已存在"
    r = api[ADMIN].patch(f"/api/v1/users/{r.json()['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert api[STAFF].get("/api/v1/users").status_code == 403
    assert (
        api[STAFF]
        .post("/api/v1/users", json={"name": "x", "role": "county_admin", "password": "long-enough-1"})
        .status_code
        == 403
    )
    names = {u["name"] for u in api[ADMIN].get("/api/v1/users").json()}
    assert {ADMIN, STAFF, OWN, "西里镇二号"} <= names


def test_openapi_schema_lists_the_api_only(api):
    schema = api[ADMIN].get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/assign",
        "/api/v1/tasks/{task_id}/progress",
        "/api/v1/tasks/{task_id}/submit",
        "/api/v1/tasks/{task_id}/verify",
        "/api/v1/tasks/{task_id}/journal",
        "/api/v1/evidence/{evidence_id}",
        "/api/v1/reports",
        "/api/v1/users",
    } <= paths
    assert all(p.startswith("/api/v1/") for p in paths)
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
