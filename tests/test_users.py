"""Users: validation, argon2 login with lockout, API tokens, visibility rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests.test_lifecycle import add_tasks
from tracker import users
from tracker.counties import can_see_township
from tracker.db import session_scope
from tracker.errors import Forbidden, NotFound, ValidationFailed
from tracker.models import LoginAttempt, User

NOW = datetime(2024, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai


@pytest.fixture
def people(engine):
    with session_scope(engine) as s:
        add_tasks(s, township="西里镇", n=1)
        users.create_user(s, name="admin", role="county_admin", password="correct-horse-1")
        users.create_user(s, name="xili", role="township", password="xili-pass-1", township="西里镇")
    return engine


BAD_USERS = [
    (dict(name="a", role="boss", password="12345678"), "角色“boss”无效"),
    (dict(name="a", role="township", password="12345678"), "乡镇用户必须指定所属乡镇"),
    (dict(name="a", role="township", password="12345678", township="无名镇"), "乡镇“无名镇”不存在"),
    (dict(name="a", role="county_staff", password="12345678", township="西里镇"), "县级用户不属于某个乡镇"),
    (dict(name="a", role="county_staff", password="1234567"), "密码不符合要求：长度至少 10 位"),
    (dict(name="admin", role="county_staff", password="Password-123"), "用户名 admin 已存在"),
    (dict(name=" ", role="county_staff", password="12345678"), "用户名不能为空"),
]


def test_create_user_refuses_bad_input(people):
    with Session(people) as s:
        for kw, message in BAD_USERS:
            with pytest.raises(ValidationFailed, match=message):
                users.create_user(s, **kw)


def test_create_and_authenticate(people):
    with session_scope(people) as s:
        u = users.authenticate(s, name="xili", password="xili-pass-1")
        assert (u.role, u.township_id is not None) == ("township", True)
        assert "xili-pass-1" not in u.password_hash and u.password_hash.startswith("$argon2")
        assert [x.name for x in users.list_users(s)] == ["admin", "xili"]
        assert can_see_township(s, u, u.township_id) and not can_see_township(s, u, u.township_id + 1)
        admin = users.get_user(s, name="admin")
        assert can_see_township(s, admin, u.township_id) and not can_see_township(s, admin, 12345)
        users.require_role(admin, "county_admin")
        with pytest.raises(Forbidden, match="无权执行此操作"):
            users.require_role(u, "county_admin", "county_staff")
        with pytest.raises(Forbidden, match="用户名或密码错误"):
            users.authenticate(s, name="nobody", password="whatever1")


def test_lockout_after_five_failures_and_reset_on_success(people):
    for i in range(4):
        with pytest.raises(Forbidden, match="^用户名或密码错误$"):
            with session_scope(people) as s:  # the caller rolls back: the failure must still count
                users.authenticate(s, name="admin", password="wrong", now=NOW + timedelta(seconds=i))
    with pytest.raises(Forbidden, match="登录失败次数过多，账号已锁定至 09:15，请稍后再试"):
        with session_scope(people) as s:
            users.authenticate(s, name="admin", password="wrong", now=NOW)
    with pytest.raises(Forbidden, match="锁定至 09:15"):  # even the right password waits
        with session_scope(people) as s:
            users.authenticate(s, name="admin", password="correct-horse-1", now=NOW + timedelta(minutes=14))
    with session_scope(people) as s:
        users.authenticate(s, name="admin", password="correct-horse-1", now=NOW + timedelta(minutes=15, seconds=1))
    with Session(people) as s:
        assert s.execute(select(LoginAttempt)).all() == []
    with pytest.raises(Forbidden, match="用户名或密码错误"):  # counting starts again after a success
        with session_scope(people) as s:
            users.authenticate(s, name="admin", password="wrong", now=NOW + timedelta(minutes=20))
    with Session(people) as s:
        assert s.execute(select(LoginAttempt.failures)).scalars().all() == [1]


def test_password_change_and_deactivation(people):
    with session_scope(people) as s:
        users.set_password(s, name="xili", password="new-password-1")
        with pytest.raises(ValidationFailed):
            users.set_password(s, name="xili", password="short")
        with pytest.raises(NotFound, match="用户 ghost 不存在"):
            users.set_password(s, name="ghost", password="whatever1")
    with session_scope(people) as s:
        users.authenticate(s, name="xili", password="new-password-1")
        token = users.issue_token(s, name="xili")
        users.set_active(s, name="xili", active=False)
    with session_scope(people) as s:
        with pytest.raises(Forbidden, match="账号已停用"):
            users.authenticate(s, name="xili", password="new-password-1")
        assert users.user_for_token(s, token=token) is None
        with pytest.raises(Forbidden, match="用户 xili 已停用"):
            users.get_user(s, name="xili")


def test_api_token_is_stored_hashed_and_replaced_on_reissue(people):
    with session_scope(people) as s:
        first = users.issue_token(s, name="admin")
    with session_scope(people) as s:
        u = users.user_for_token(s, token=first)
        assert u is not None and u.name == "admin"
        assert u.token_hash != first and first not in u.token_hash and len(u.token_hash) == 64
        second = users.issue_token(s, name="admin")
    assert second != first and len(second) >= 40
    with Session(people) as s:
        assert users.user_for_token(s, token=first) is None
        assert users.user_for_token(s, token=second).name == "admin"
        assert users.user_for_token(s, token="") is None
        with pytest.raises(NotFound):
            users.issue_token(s, name="ghost")
        assert isinstance(users.get_user(s, name="admin"), User)
