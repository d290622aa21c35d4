"""Logging: one configuration (tracker/logs.py) and a line for every flow run (with its counts),
every failed delivery and every refused login."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from notifications.outbox import deliver
from notifications.reminders import enqueue_reminders
from tests.test_notify_support import add_channel, add_task, notify_settings, recorder, recorder_server  # noqa: F401
from tests.web_helpers import PASSWORD, login, web_env
from tracker import users
from tracker.db import session_scope
from workflows import flows

AS_OF = date(2024, 7, 10)


def _messages(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_a_flow_run_logs_its_counts(engine, caplog):
    caplog.set_level(logging.INFO, logger="rectify.flows")
    with session_scope(engine) as s:
        add_task(s, deadline=AS_OF - timedelta(days=3), last_progress_at=datetime(2024, 7, 1, tzinfo=UTC))
        add_channel(s)
    flows.check_progress.fn(as_of=AS_OF, engine=engine)
    [line] = _messages(caplog, "rectify.flows")
    assert line.startswith("flow check_progress done in ") and "as_of=2024-07-10" in line
    assert "queued=(" in line and "overdue=1" in line and "red=1" in line, line


def test_a_failed_delivery_is_logged(engine, recorder, caplog):
    caplog.set_level(logging.INFO, logger="rectify.delivery")
    with session_scope(engine) as s:
        add_task(s, deadline=AS_OF + timedelta(days=3), last_progress_at=datetime(2024, 7, 1, tzinfo=UTC))
        channel = add_channel(s, target=recorder.url("/down"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    recorder.mode = "500"
    deliver(engine=engine, settings=notify_settings(max_attempts=1))
    [record] = [r for r in caplog.records if r.name == "rectify.delivery"]
    assert record.levelno == logging.ERROR  # gave up: max_attempts reached
    message = record.getMessage()
    assert f"delivery failed on channel {channel.id} for 1 message(s)" in message and "HTTP 500" in message


def test_a_refused_login_is_logged(tmp_path, caplog):
    from tracker.web.app import create_app

    caplog.set_level(logging.INFO, logger="rectify.auth")
    with web_env(tmp_path / "data") as engine:
        with session_scope(engine) as s:
            users.create_user(s, name="县管理员", role="county_admin", password=PASSWORD)
        client = TestClient(create_app(engine=engine))
        assert login(client, "县管理员", "wrong-password").status_code == 403
        assert login(client, "无此人", "wrong-password").status_code == 403
        assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert login(client, "县管理员").url.path == "/dashboard"
    lines = _messages(caplog, "rectify.auth")
    assert len(lines) == 3, lines
    assert lines[0].startswith("login refused for '县管理员' from ") and "用户名或密码错误" in lines[0]
    assert lines[1].startswith("login refused for '无此人'") and lines[2].startswith("API token refused")
    assert all("wrong-password" not in line for line in lines)


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("RECTIFY_")}
    return subprocess.run([sys.executable, "-c", code], env=clean | env, capture_output=True, text=True, timeout=60)


def test_one_configuration_to_stderr_at_the_configured_level(tmp_path):
    code = (
        "import logging; from tracker.logs import configure_logging; configure_logging(); configure_logging(); "
        "logging.getLogger('rectify.x').info('hello'); logging.getLogger('httpx').info('noise'); "
        "logging.getLogger('rectify.x').debug('detail'); print('out')"
    )
    out = _python(code, RECTIFY_DATA_DIR=str(tmp_path))
    assert out.stdout == "out\n"
    assert [line.split(" ", 2)[2] for line in out.stderr.splitlines()] == ["INFO rectify.x: hello"]
    quiet = _python(code, RECTIFY_DATA_DIR=str(tmp_path), RECTIFY_LOG_LEVEL="warning")
    assert quiet.stderr == ""
    loud = _python(code, RECTIFY_DATA_DIR=str(tmp_path), RECTIFY_LOG_LEVEL="DEBUG")
    assert "DEBUG rectify.x: detail" in loud.stderr and "INFO httpx: noise" in loud.stderr
