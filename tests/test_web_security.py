"""Security headers on every response, templates without inline script, login rate limits and the
password-check slots (tracker/web/security.py, tracker/web/throttle.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web_helpers import csrf_from, web_env
from tracker import config, ratelimit, users
from tracker.db import session_scope
from tracker.models import AuditEvent
from tracker.web.app import create_app
from tracker.web.pages import auth as auth_pages

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Headers-test-123"
ADMIN = "头部管理员"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("security")) as engine:
        with session_scope(engine) as s:
            users.create_user(s, name=ADMIN, role="county_admin", password=PASSWORD)
        yield engine


@pytest.fixture
def app(web):
    return create_app(engine=web)  # a new app per test: fresh rate-limit windows


def _login(client: TestClient, name: str = ADMIN, password: str = PASSWORD):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token}, follow_redirects=False)


def _assert_security_headers(r, *, no_store: bool = True) -> None:
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert (r.headers.get("cache-control") == "no-store") is no_store


def test_headers_on_pages_api_errors_and_static(app):
    client = TestClient(app)
    _assert_security_headers(client.get("/login"))
    _assert_security_headers(client.get("/api/v1/tasks"))  # 401
    assert _login(client).status_code == 303
    for path in ("/dashboard", "/users", "/api/v1/tasks", "/tasks/999999", "/api/v1/tasks/999999"):
        r = client.get(path)
        _assert_security_headers(r)
    _assert_security_headers(client.get("/static/app.js"), no_store=False)


def _templates() -> list[Path]:
    folders = [ROOT / "tracker", ROOT / "notifications"]
    return [p for f in folders for p in f.rglob("*") if p.suffix in (".html", ".j2") and "templates" in p.parts]


def test_no_template_has_inline_script_or_event_handler_attributes():
    found = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"<script\b[^>]*>", text, re.I):
            if "src=" not in m.group(0):
                found.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
        for m in re.finditer(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", text):
            found.append(f"{path.relative_to(ROOT)}: {m.group(0)[:80]}")
        if "javascript:" in text.lower():
            found.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert not found, "\n".join(found)
    assert len(_templates()) >= 15


def test_logins_over_the_rate_limit_per_address_get_429_without_a_password_check(web, monkeypatch):
    monkeypatch.setenv("RECTIFY_LOGIN_RATE_PER_ADDRESS", "3")
    monkeypatch.setenv("RECTIFY_LOGIN_RATE_PER_NAME", "100")
    config.get_settings.cache_clear()
    app = create_app(engine=web)
    checked = []
    real = users.authenticate
    monkeypatch.setattr(users, "authenticate", lambda *a, **k: (checked.append(1), real(*a, **k))[1])
    here = TestClient(app, client=("198.51.100.7", 40000))
    for i in range(3):
        assert _login(here, f"某人{i}", "wrong-password").status_code == 403
    r = _login(here, ADMIN)
    assert r.status_code == 429 and "登录尝试过于频繁" in r.text and int(r.headers["retry-after"]) > 0
    _assert_security_headers(r)
    assert [_login(here, ADMIN, "guess-guess").status_code for _ in range(3)] == [429] * 3
    assert len(checked) == 3
    # the audit log has the three refused passwords and the first refusal of the run, not one per attempt
    with session_scope(web) as s:
        events = s.execute(
            select(AuditEvent.actor, AuditEvent.reason)
            .where(AuditEvent.action == "login_failed", AuditEvent.address == "198.51.100.7")
            .order_by(AuditEvent.id)
        ).all()
    assert [a for a, _ in events] == ["某人0", "某人1", "某人2", ADMIN]
    assert events[-1].reason == auth_pages.RATE_LIMITED
    elsewhere = TestClient(app, client=("198.51.100.8", 40000))
    assert _login(elsewhere, ADMIN).status_code == 303  # another address is not limited
    config.get_settings.cache_clear()


def test_logins_over_the_rate_limit_per_name_get_429_from_any_address(web, monkeypatch):
    monkeypatch.setenv("RECTIFY_LOGIN_RATE_PER_NAME", "2")
    config.get_settings.cache_clear()
    app = create_app(engine=web)
    for i in range(2):
        assert _login(TestClient(app, client=(f"192.0.2.{i}", 1)), "被猜的人", "wrong-password").status_code == 403
    r = _login(TestClient(app, client=("192.0.2.99", 1)), "被猜的人", "wrong-password")
    assert r.status_code == 429
    assert _login(TestClient(app, client=("192.0.2.99", 1)), ADMIN).status_code == 303  # other names are not
    config.get_settings.cache_clear()


def test_a_lock_from_one_address_does_not_lock_the_admin_out_elsewhere(app):
    outsider = TestClient(app, client=("203.0.113.50", 1))
    for _ in range(config.get_settings().login_max_failures):
        _login(outsider, ADMIN, "guess-guess")
    r = _login(outsider, ADMIN)
    assert r.status_code == 403 and "已锁定" in r.text
    assert _login(TestClient(app, client=("10.20.30.40", 1)), ADMIN).status_code == 303


def test_sliding_window_counts_hits_within_the_window():
    now = [0.0]
    window = ratelimit.SlidingWindow(3, 60, clock=lambda: now[0])
    assert [window.hit("a") for _ in range(3)] == [0, 0, 0]
    assert window.hit("a") == pytest.approx(60)
    assert window.hit("b") == 0
    now[0] = 30
    assert window.hit("a") == pytest.approx(30)
    now[0] = 60.5
    assert window.hit("a") == 0 and window.hit("a") == 0 and window.hit("a") == 0
    assert window.hit("a") > 0
    assert ratelimit.SlidingWindow(0).hit("x") == 0  # 0: no limit


def test_only_the_first_refusal_of_a_run_is_flagged():
    now = [0.0]
    window = ratelimit.SlidingWindow(1, 60, clock=lambda: now[0])
    assert window.hit("a") == 0
    flags = []
    for _ in range(3):
        assert window.hit("a") > 0
        flags.append(window.first_refusal("a"))
    assert flags == [True, False, False]
    now[0] = 61
    assert window.hit("a") == 0  # accepted again: the next run of refusals is flagged again
    assert window.hit("a") > 0 and window.first_refusal("a")


def test_sliding_window_memory_is_bounded():
    now = [0.0]
    window = ratelimit.SlidingWindow(1, 60, clock=lambda: now[0], max_keys=100)
    for i in range(1000):
        now[0] += 0.001
        window.hit(f"name-{i}")
        assert window.hit(f"name-{i}") and window.first_refusal(f"name-{i}")
    assert len(window._hits) <= 100
    assert window._refused <= window._hits.keys()
