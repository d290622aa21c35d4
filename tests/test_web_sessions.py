"""Sessions that end (tracker/sessions.py): replaying a cookie after logout, a password reset, a
disable and re-enable or a role change gets nowhere; idle timeout and lifetime (by time travel); a new
API token travels in a server-side message, never in the cookie; the cookie is Secure under https."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from tests.web_helpers import csrf_from, web_env
from tracker import config, users
from tracker.db import session_scope, utcnow
from tracker.web.app import SESSION_COOKIE, create_app

PASSWORD = "Session-test-123"
ADMIN, STAFF = "会话管理员", "会话工作人员"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("sessions")) as engine:
        with session_scope(engine) as s:
            users.create_user(s, name=ADMIN, role="county_admin", password=PASSWORD)
        yield create_app(engine=engine), engine


@pytest.fixture
def app(web):
    return web[0]


@pytest.fixture
def engine(web):
    return web[1]


_n = iter(range(10_000))


@pytest.fixture
def staff(engine) -> str:
    """A fresh county staff user per test (so one test's changes never leak into another's)."""
    name = f"{STAFF}{next(_n)}"
    with session_scope(engine) as s:
        users.create_user(s, name=name, role="county_staff", password=PASSWORD)
    return name


def login(app, name: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"name": name, "password": password, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return client


def cookie(client: TestClient) -> str:
    return client.cookies[SESSION_COOKIE]


def logged_in(app, cookie_value: str) -> bool:
    """Whether a bare client presenting just this cookie is let in (a replay)."""
    r = TestClient(app).get("/", headers={"Cookie": f"{SESSION_COOKIE}={cookie_value}"}, follow_redirects=False)
    return r.status_code == 303 and not r.headers["location"].startswith("/login")


def test_logout_ends_the_session_and_its_cookie_cannot_be_replayed(app, staff):
    client = login(app, staff)
    old = cookie(client)
    assert logged_in(app, old)
    token = csrf_from(client.get("/login").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert not logged_in(app, old)


def test_logout_ends_only_that_session(app, staff):
    first, second = login(app, staff), login(app, staff)
    token = csrf_from(first.get("/login").text)
    first.post("/logout", data={"csrf_token": token})
    assert logged_in(app, cookie(second))


def test_a_password_reset_ends_every_session_and_the_api_token(app, engine, staff):
    a, b = login(app, staff), login(app, staff)
    with session_scope(engine) as s:
        api_token = users.issue_token(s, name=staff)
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert TestClient(app).get("/api/v1/tasks", headers=bearer).status_code == 200
    with session_scope(engine) as s:
        users.set_password(s, name=staff, password="Brand-new-pass-456")
    assert not logged_in(app, cookie(a)) and not logged_in(app, cookie(b))
    assert TestClient(app).get("/api/v1/tasks", headers=bearer).status_code == 401


def test_disable_then_enable_does_not_revive_old_cookies(app, engine, staff):
    client = login(app, staff)
    old = cookie(client)
    with session_scope(engine) as s:
        users.set_active(s, name=staff, active=False)
    assert not logged_in(app, old)
    with session_scope(engine) as s:
        users.set_active(s, name=staff, active=True)
    assert not logged_in(app, old)
    assert logged_in(app, cookie(login(app, staff)))  # a new login works


def test_a_role_change_ends_the_sessions(app, engine, staff):
    client = login(app, staff)
    with session_scope(engine) as s:
        users.set_role(s, name=staff, role="county_admin")
    assert not logged_in(app, cookie(client))


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(app, engine, staff):
    here, elsewhere = login(app, staff), login(app, staff)
    token = csrf_from(here.get("/account/password").text)
    r = here.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "Changed-pass-789",
            "confirm_password": "Changed-pass-789",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    assert logged_in(app, cookie(here))
    assert not logged_in(app, cookie(elsewhere))


def test_an_idle_session_ends_and_a_used_one_lives_until_its_lifetime(app, staff):
    settings = config.get_settings()
    idle = timedelta(minutes=settings.session_idle_minutes)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        active, idle_client = login(app, staff), login(app, staff)
        kept, dropped = cookie(active), cookie(idle_client)
        step = idle - timedelta(minutes=1)
        for _ in range(3):  # used every (idle - 1) minutes: stays
            clock.shift(step)
            assert logged_in(app, kept)
        assert not logged_in(app, dropped)  # not used for longer than the idle timeout
        while utcnow() + step < start + timedelta(hours=settings.session_hours):
            clock.shift(step)
            assert logged_in(app, kept)
        clock.shift(step)  # past the lifetime, however busy
        assert not logged_in(app, kept)


def _cookie_data(value: str) -> dict:
    payload = value.split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_new_api_token_is_shown_once_from_the_server_never_in_the_cookie(app, engine, staff):
    admin = login(app, ADMIN)
    with session_scope(engine) as s:
        staff_id = users.get_user(s, name=staff).id
    token = csrf_from(admin.get("/users").text)
    r = admin.post(f"/users/{staff_id}/token", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    for header in r.headers.get_list("set-cookie"):
        assert "flash" not in json.dumps(_cookie_data(header.split("=", 1)[1].split(";")[0]))
    assert "flash" not in _cookie_data(cookie(admin))
    page = admin.get("/users").text
    shown = page.split("新 API 令牌", 1)[1].split("：", 1)[1].split("<", 1)[0].strip()
    assert len(shown) > 30
    assert TestClient(app).get("/api/v1/tasks", headers={"Authorization": f"Bearer {shown}"}).status_code == 200
    assert shown not in admin.get("/users").text  # once


def test_the_cookie_is_secure_when_the_site_is_https(engine, monkeypatch):
    monkeypatch.setenv("RECTIFY_BASE_URL", "https://rectify.example.gov.cn")
    config.get_settings.cache_clear()
    try:
        app = create_app(engine=engine)
        client = TestClient(app, base_url="https://testserver")
        token = csrf_from(client.get("/login").text)
        r = client.post(
            "/login", data={"name": ADMIN, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
        )
        header = next(h for h in r.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
        flags = {p.strip().lower() for p in header.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax"} <= flags
        assert r.headers["strict-transport-security"].startswith("max-age=")
    finally:
        monkeypatch.delenv("RECTIFY_BASE_URL")
        config.get_settings.cache_clear()
    r = TestClient(create_app(engine=engine)).get("/login")
    assert "secure" not in r.headers["set-cookie"].lower()
