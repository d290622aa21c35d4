"""`rectify serve`: on an empty database it imports samples/ and creates demo users whose printed
passwords work; on a database with data, and with --no-demo, it seeds nothing."""

from __future__ import annotations

import re

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.web_helpers import login, web_env
from tracker.cli import app as cli
from tracker.db import session_scope
from tracker.models import Report, User


@pytest.fixture
def started(tmp_path, monkeypatch):
    """Run `rectify serve ARGS` in-process; instead of serving, record what uvicorn was given."""
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))

    def run(*args):
        result = CliRunner().invoke(cli, ["serve", *args], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output, calls[-1]

    with web_env(tmp_path / "data") as engine:
        yield run, engine


def _counts(engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        return (
            s.execute(select(func.count()).select_from(Report)).scalar_one(),
            s.execute(select(func.count()).select_from(User)).scalar_one(),
        )


def test_empty_database_gets_samples_and_demo_users_once(started):
    run, engine = started
    output, (app, kw) = run("--host", "127.0.0.1", "--port", "8123")
    assert kw == {"host": "127.0.0.1", "port": 8123, "log_config": None, "log_level": "info", "access_log": True}
    accounts = dict(re.findall(r"│ (\S+)\s+│ [^│]+│ [^│]+│ (\S+)\s+│", output))
    reports, user_count = _counts(engine)
    assert reports == 8 and user_count == len(accounts) == 5 and "admin" in accounts
    client = TestClient(app)
    assert login(client, "admin", accounts["admin"]).url.path == "/dashboard"
    assert "北塘街道" in client.get("/dashboard").text
    township = next(n for n in accounts if n != "admin")
    other = TestClient(app)
    login(other, township, accounts[township])
    assert other.get("/api/v1/tasks").json()["total"] > 0
    again, _ = run()
    assert "演示账号" not in again and _counts(engine) == (8, 5)


def test_no_demo_leaves_an_empty_database_empty(started):
    run, engine = started
    output, _ = run("--no-demo")
    assert "演示账号" not in output and _counts(engine) == (0, 0)
