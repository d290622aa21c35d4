"""Login, session cookie flags, CSRF, lockout, logout and 401s, over HTTP (TestClient)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web_helpers import ADMIN, OWN, PASSWORD, csrf_from, login, seed, web_env
from tracker import users
from tracker.config import get_settings
from tracker.db import session_scope
from tracker.models import Task
from tracker.web.app import SESSION_COOKIE, create_app


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("web")) as engine:
        seed(engine)
        yield create_app(engine=engine), engine


@pytest.fixture
def engine(web):
    return web[1]


@pytest.fixture
def client(web):
    return TestClient(web[0])


def _new_township_user(engine, name: str) -> str:
    with session_scope(engine) as s:
        users.create_user(s, name=name, role="township", password=PASSWORD, township=OWN)
    return name


def _task_versions(engine) -> list[int]:
    with session_scope(engine) as s:
        return list(s.execute(select(Task.version).order_by(Task.id)).scalars())


def test_login_sets_httponly_samesite_cookie_and_redirects_to_next(client):
    token = csrf_from(client.get("/login?next=/tasks").text)
    r = client.post(
        "/login",
        data={"name": ADMIN, "password": PASSWORD, "csrf_token": token, "next": "/tasks"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/tasks"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert client.get("/tasks").status_code == 200


def test_login_never_redirects_off_site(client):
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login",
        data={"name": ADMIN, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/steal"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_every_form_carries_the_session_csrf_token(client):
    login(client, ADMIN)
    for path in ("/tasks", "/tasks/1", "/users", "/reports", "/tasks/import"):
        html = client.get(path).text
        assert html.count('name="csrf_token"') >= 1, path
        assert html.count("<form") - html.count('method="get"') <= html.count('name="csrf_token"'), path


def test_unsafe_request_without_or_with_wrong_csrf_is_refused_and_changes_nothing(client, engine):
    login(client, ADMIN)
    before = _task_versions(engine)
    form = {
        "version": str(before[0]),
        "owner_unit": "司法所",
        "owner_person": "张三",
        "deadline": "2030-06-30",
        "category": "限期整改",
    }
    for extra in ({}, {"csrf_token": "forged"}, {"csrf_token": "伪造的令牌"}):  # non-ASCII: 403, not a 500
        r = client.post("/tasks/1/assign", data=form | extra, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
    assert _task_versions(engine) == before
    token = csrf_from(client.get("/tasks/1").text)
    assert client.post("/tasks/1/assign", data=form | {"csrf_token": token}, follow_redirects=False).status_code == 303
    assert _task_versions(engine)[0] == before[0] + 1


def test_api_with_cookie_needs_csrf_header_but_bearer_token_does_not(client, engine):
    login(client, ADMIN)
    body = {
        "task_ids": [1],
        "owner_unit": "司法所",
        "owner_person": "张三",
        "deadline": "2030-06-30",
        "category": "限期整改",
    }
    assert client.post("/api/v1/tasks/assign", json=body).status_code == 403
    token = csrf_from(client.get("/tasks").text)
    r = client.post("/api/v1/tasks/assign", json=body | {"owner_unit": "综治办"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    version = r.json()[0]["version"]
    with session_scope(engine) as s:
        api_token = users.issue_token(s, name=ADMIN)
    bare = TestClient(client.app)
    r = bare.post(
        "/api/v1/tasks/assign", json=body | {"owner_person": "李四"}, headers={"Authorization": f"Bearer {api_token}"}
    )
    assert r.status_code == 200 and r.json()[0]["version"] == version + 1


def test_login_form_itself_needs_csrf(client):
    r = client.post("/login", data={"name": ADMIN, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/tasks", follow_redirects=False).status_code == 303  # still not logged in


def test_lockout_after_repeated_failures_is_shown_and_holds_even_for_the_right_password(client, engine):
    name = _new_township_user(engine, "锁定测试")
    for _ in range(get_settings().login_max_failures - 1):
        r = login(client, name, "wrong-password")
        assert r.status_code == 403 and "用户名或密码错误" in r.text
    r = login(client, name, "wrong-password")
    assert r.status_code == 403 and "登录失败次数过多" in r.text and "已锁定" in r.text
    r = login(client, name, PASSWORD)
    assert r.status_code == 403 and "已锁定" in r.text
    assert client.get("/tasks", follow_redirects=False).status_code == 303


def test_not_logged_in_pages_redirect_and_api_answers_401_in_chinese(client):
    r = client.get("/tasks?status=整改中", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Ftasks%3Fstatus")
    r = client.get("/api/v1/tasks")
    assert r.status_code == 401 and r.json() == {"detail": "未登录或令牌无效，请先登录"}
    r = client.get("/api/v1/tasks", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert client.post("/api/v1/tasks/1/submit", json={"version": 1}).status_code == 401


def test_logout_ends_the_session(client):
    login(client, ADMIN)
    token = csrf_from(client.get("/tasks").text)
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/tasks", follow_redirects=False).status_code == 303


def test_deactivated_user_loses_session_and_token(client, engine):
    name = _new_township_user(engine, "停用测试")
    login(client, name)
    assert client.get("/tasks", follow_redirects=False).status_code == 200
    with session_scope(engine) as s:
        token = users.issue_token(s, name=name)
        users.set_active(s, name=name, active=False)
    assert client.get("/tasks", follow_redirects=False).status_code == 303
    assert TestClient(client.app).get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_other_modules_add_navigation_links_by_role(client, monkeypatch):
    from tracker.web import templating

    monkeypatch.setattr(templating, "NAV_LINKS", [])
    monkeypatch.setitem(templating.env.globals, "NAV_LINKS", templating.NAV_LINKS)
    templating.add_nav_link("/yearend", "年终总结", roles=("county_admin", "township"))
    templating.add_nav_link("/notifications/outbox", "提醒记录", roles=("county_staff",))
    login(client, ADMIN)
    nav = client.get("/tasks").text.split('<nav class="nav">', 1)[1].split("</nav>", 1)[0]
    assert 'href="/yearend"' in nav and "年终总结" in nav and "/notifications/outbox" not in nav
