"""The lockout (tracker/lockout.py) on SQLite and PostgreSQL: parallel guesses, per (name, address),
unknown names like known ones, expiry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session

from tracker import users
from tracker.config import get_settings
from tracker.db import session_scope, utcnow
from tracker.errors import Forbidden

PASSWORD = "Right-password-123"
WRONG = "wrong-password-xyz"
LOCKED = "登录失败次数过多"
BAD = "用户名或密码错误"


@pytest.fixture
def admin(engine):
    with session_scope(engine) as s:
        users.create_user(s, name="管理员甲", role="county_admin", password=PASSWORD)
    return "管理员甲"


@pytest.fixture
def checks(monkeypatch):
    """How many passwords were actually checked (argon2 runs): real or dummy hash alike."""
    counter = {"n": 0}
    lock = threading.Lock()
    hasher = users._hasher
    real_verify, real_update = hasher.verify, hasher.verify_and_update

    def count():
        with lock:
            counter["n"] += 1

    monkeypatch.setattr(hasher, "verify", lambda *a, **k: (count(), real_verify(*a, **k))[1])
    monkeypatch.setattr(hasher, "verify_and_update", lambda *a, **k: (count(), real_update(*a, **k))[1])
    return counter


def attempt(engine, name: str, password: str, address: str = "10.0.0.1", now=None) -> str:
    """'ok' or the refusal's message."""
    with Session(engine) as s:
        try:
            users.authenticate(s, name=name, password=password, address=address, now=now)
            s.commit()
            return "ok"
        except Forbidden as exc:
            return exc.message


def test_twenty_parallel_wrong_guesses_check_at_most_five_passwords(engine, admin, checks):
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: attempt(engine, admin, WRONG), range(20)))
    limit = get_settings().login_max_failures
    assert checks["n"] <= limit, f"{checks['n']} passwords checked, the limit is {limit}"
    assert sum(BAD in a for a in answers) <= limit - 1
    assert sum(LOCKED in a for a in answers) >= 20 - limit
    assert "ok" not in answers
    # Locked for this address even with the right password, without checking it.
    before = checks["n"]
    assert LOCKED in attempt(engine, admin, PASSWORD)
    assert checks["n"] == before


def test_a_lock_from_one_address_does_not_lock_another(engine, admin):
    for _ in range(get_settings().login_max_failures):
        attempt(engine, admin, WRONG, address="203.0.113.9")
    assert LOCKED in attempt(engine, admin, PASSWORD, address="203.0.113.9")
    assert attempt(engine, admin, PASSWORD, address="10.1.2.3") == "ok"
    with session_scope(engine) as s:  # the admin's list shows the lock
        row = next(u for u in users.list_users(s) if u.name == admin)
        assert row.locked_until is not None and row.locked_until > utcnow()


def test_unknown_names_are_answered_like_known_ones(engine, admin, checks):
    known = [attempt(engine, admin, WRONG) for _ in range(6)]
    checked_known = checks["n"]
    unknown = [attempt(engine, "不存在的用户", WRONG) for _ in range(6)]
    assert [a.split("，")[0] for a in unknown] == [a.split("，")[0] for a in known]
    assert known[0] == unknown[0] == BAD and LOCKED in unknown[-1]
    assert checks["n"] - checked_known == checked_known  # one hash per checked attempt either way


def test_the_lock_ends_after_its_time_and_a_right_password_clears_the_count(engine, admin):
    now = utcnow()
    for _ in range(get_settings().login_max_failures):
        attempt(engine, admin, WRONG, now=now)
    assert LOCKED in attempt(engine, admin, PASSWORD, now=now + timedelta(minutes=14))
    later = now + timedelta(minutes=get_settings().login_lock_minutes, seconds=1)
    assert attempt(engine, admin, PASSWORD, now=later) == "ok"
    # cleared: four more mistakes do not lock
    for _ in range(get_settings().login_max_failures - 1):
        assert attempt(engine, admin, WRONG, now=later) == BAD
    assert attempt(engine, admin, PASSWORD, now=later) == "ok"


def test_old_mistakes_do_not_add_up_to_a_lock(engine, admin):
    now = utcnow()
    for _ in range(get_settings().login_max_failures - 1):
        attempt(engine, admin, WRONG, now=now)
    later = now + timedelta(minutes=get_settings().login_lock_minutes + 1)
    assert attempt(engine, admin, WRONG, now=later) == BAD  # counted from 1 again


def test_a_password_reset_lifts_the_lock(engine, admin):
    for _ in range(get_settings().login_max_failures):
        attempt(engine, admin, WRONG)
    with session_scope(engine) as s:
        users.set_password(s, name=admin, password="Another-password-456")
    assert attempt(engine, admin, "Another-password-456") == "ok"
