"""Settings: typed and checked at start-up. A bad value stops any `rectify` command (and `rectify
serve`) before it does anything: one Chinese line naming the variable, its value and what is
accepted, exit status 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import config

RECTIFY = Path(sys.executable).with_name("rectify")


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RECTIFY_")}
    return env | {"RECTIFY_DATA_DIR": str(tmp_path / "data"), **values}


def _rectify(tmp_path: Path, *args: str, **values: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RECTIFY), *args], env=_env(tmp_path, **values), capture_output=True, text=True, timeout=120
    )


BAD = [
    ("RECTIFY_YELLOW_DAYS", "abc", "应为 1 到 365 之间的整数"),  # not an integer
    ("RECTIFY_STALE_DAYS", "0", "应为 1 到 365 之间的整数"),  # out of range
    ("RECTIFY_SMTP_PORT", "70000", "应为 1 到 65535 之间的整数"),
    ("RECTIFY_SMTP_SECURITY", "tls", "可选值：none、starttls、ssl"),  # the typo that used to send in plain text
    ("RECTIFY_LOG_LEVEL", "verbose", "可选值：DEBUG、INFO、WARNING、ERROR、CRITICAL"),
    ("RECTIFY_SCHEDULER", "maybe", "应为 1 或 0"),
    ("RECTIFY_CHECK_CRON", "0 25 * * *", "crontab"),  # hour 25
    ("RECTIFY_DIGEST_CRON", "every monday", "crontab"),
    ("RECTIFY_DATABASE_URL", "mysql://u@h/db", "postgresql+psycopg://"),  # no such driver here
    ("RECTIFY_BASE_URL", "127.0.0.1:8000", "http:// 或 https://"),
    ("RECTIFY_DUE_DAYS", "30;7;1", "逗号分隔"),
    ("RECTIFY_NOTIFY_TIMEOUT", "-1", "应为大于 0、不超过 600 的数"),
]


def _refused(out: subprocess.CompletedProcess, tmp_path: Path, name: str, value: str, accepted: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"配置错误：{name}={value} 无效，") and accepted in lines[0], lines[0]
    assert not (tmp_path / "data").exists()  # nothing was done: not even the data folder


@pytest.mark.parametrize("name,value,accepted", BAD, ids=[b[0] for b in BAD])
def test_bad_value_stops_a_command_that_does_not_use_it(tmp_path, name, value, accepted):
    _refused(_rectify(tmp_path, "db", "current", **{name: value}), tmp_path, name, value, accepted)


@pytest.mark.parametrize("name,value,accepted", [BAD[3], BAD[6]], ids=["choice", "cron"])
def test_bad_value_stops_serve_before_it_serves(tmp_path, name, value, accepted):
    _refused(_rectify(tmp_path, "serve", "--no-demo", "--port", "9", **{name: value}), tmp_path, name, value, accepted)


def test_every_bad_value_is_named_in_the_one_line(tmp_path):
    out = _rectify(tmp_path, "db", "current", RECTIFY_YELLOW_DAYS="x", RECTIFY_SMTP_SECURITY="tls")
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
    assert "RECTIFY_YELLOW_DAYS=x" in out.stderr and "RECTIFY_SMTP_SECURITY=tls" in out.stderr


def test_good_values_are_accepted(tmp_path):
    out = _rectify(
        tmp_path,
        "db",
        "current",
        RECTIFY_SMTP_SECURITY="STARTTLS",
        RECTIFY_DUE_DAYS="14, 3",
        RECTIFY_CHECK_CRON="0 7 * * mon-fri",
        RECTIFY_BASE_URL="https://rectify.example.gov.cn/",
        RECTIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
        RECTIFY_LOG_LEVEL="warning",
        RECTIFY_NOTIFY_TIMEOUT="2.5",
        RECTIFY_SCHEDULER="off",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "base" and "Traceback" not in out.stderr


@pytest.fixture
def environ(monkeypatch):
    """Set RECTIFY_* variables for load_settings() in this process, with only the defaults otherwise."""
    for key in list(os.environ):
        if key.upper().startswith("RECTIFY_"):
            monkeypatch.delenv(key)
    return monkeypatch.setenv


def test_defaults_keep_their_meaning(environ):
    s = config.load_settings()
    assert s.data_dir == config.ROOT / "var" and s.database_url == f"sqlite:///{config.ROOT / 'var' / 'rectify.db'}"
    assert (s.yellow_days, s.stale_days, s.log_level, s.access_log) == (15, 30, "INFO", True)
    n = s.notify
    assert (n.base_url, n.smtp_host, n.smtp_port, n.smtp_user, n.smtp_password, n.smtp_security, n.smtp_from) == (
        "http://127.0.0.1:8000",
        "127.0.0.1",
        25,
        "",
        "",
        "none",
        "rectify@localhost",
    )
    assert (n.timeout, n.due_days, n.overdue_repeat_days, n.escalate_days) == (10.0, (30, 7, 1), 7, 30)
    assert (n.max_attempts, n.backoff_seconds, n.concurrency, n.scheduler) == (8, 60, 8, True)
    assert (n.check_cron, n.digest_cron, n.yearend_cron) == ("0 8 * * *", "30 8 * * mon", "0 9 1 12 *")
    assert (n.notify_minutes, n.misfire_grace_hours, n.lease_seconds) == (5, 168.0, 60)


def test_values_are_parsed(environ, tmp_path):
    environ("RECTIFY_DATA_DIR", str(tmp_path))
    environ("RECTIFY_DATABASE_URL", "")  # empty: the SQLite file in the data dir, as before
    environ("RECTIFY_DUE_DAYS", " 1,30 ,7,7")
    environ("RECTIFY_BASE_URL", "https://h.example/")
    environ("RECTIFY_NOTIFY_MAX_ATTEMPTS", "3")
    environ("RECTIFY_SCHEDULER", "0")
    s = config.load_settings()
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'rectify.db'}"
    assert s.notify.due_days == (30, 7, 1) and s.notify.base_url == "https://h.example"
    assert s.notify.max_attempts == 3 and s.notify.scheduler is False
    environ("RECTIFY_DUE_DAYS", "")  # no due-soon reminders at all, as before
    assert config.load_settings().notify.due_days == ()


def test_get_settings_is_cached_and_reset_by_cache_clear(environ, tmp_path):
    environ("RECTIFY_DATA_DIR", str(tmp_path / "a"))
    config.get_settings.cache_clear()
    try:
        first = config.get_settings()
        environ("RECTIFY_DATA_DIR", str(tmp_path / "b"))
        assert config.get_settings() is first
        config.get_settings.cache_clear()
        assert config.get_settings().data_dir == (tmp_path / "b").resolve()
        environ("RECTIFY_SMTP_SECURITY", "tls")
        config.get_settings.cache_clear()
        with pytest.raises(config.ConfigError, match="RECTIFY_SMTP_SECURITY=tls"):
            config.get_settings()
    finally:
        config.get_settings.cache_clear()
