"""Shared fixtures: the data layer runs on SQLite and on PostgreSQL.

PostgreSQL tests use a throw-away database per test session. They skip only when no server
answers, and fail instead when RECTIFY_REQUIRE_PG=1 (set by .ci/run). Tests that read ../shared
(the real reports, their gold files, the scorer) carry `needs_shared(...)`: they skip when it is
missing, and fail instead under either of CI's require flags.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tracker.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECTIFY_SHARED_DIR") or ROOT.parent / "shared")
PG_ADMIN_URL = os.environ.get("RECTIFY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

os.environ.setdefault("PREFECT_HOME", str(ROOT / "var" / "test-prefect"))
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/: Prefect warns
# The tests' receivers (HTTP recorder, SMTP) listen on 127.0.0.1, which channels refuse by default;
# tests of the refusal itself pass settings with channel_allow_private=False.
os.environ.setdefault("RECTIFY_CHANNEL_ALLOW_PRIVATE", "1")
# Web apps on PostgreSQL need a shared session key (`create_app` refuses to start without one); the
# tests that check that refusal remove it themselves.
os.environ.setdefault("RECTIFY_SECRET_KEY", "tests-only-session-key-" + "0" * 32)


@pytest.fixture(autouse=True)
def _fresh_robot_minutes():
    """Every test starts with the group robots' minutes empty: the recorder's URLs repeat across tests,
    and the pacing (20 a minute by default) would otherwise carry one test's messages into the next."""
    from notifications import outbox

    outbox._robot_windows.clear()


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return None
    except Exception as exc:  # any connection failure means "no server here"
        return str(exc).splitlines()[0]


def _skip_or_fail_pg(reason: str) -> None:
    if os.environ.get("RECTIFY_REQUIRE_PG") == "1":
        pytest.fail(f"PostgreSQL required (RECTIFY_REQUIRE_PG=1) but unavailable: {reason}")
    pytest.skip(f"no PostgreSQL server answers: {reason}")


def ci_requires() -> bool:
    """CI (.ci/run) sets the require flags: there a missing prerequisite fails a test, never skips it."""
    return os.environ.get("RECTIFY_REQUIRE_PG") == "1" or os.environ.get("RECTIFY_REQUIRE_BROWSER") == "1"


def needs_shared(*patterns: str) -> pytest.MarkDecorator:
    """Mark a test (or a module, as `pytestmark`) that reads ../shared: each glob, relative to SHARED,
    must match a file. Otherwise the test skips, or fails when `ci_requires()`."""
    return pytest.mark.needs_shared(*patterns)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "needs_shared(*globs): reads files of ../shared (tests/conftest.py)")


@pytest.hookimpl(tryfirst=True)  # before the skipping plugin, so an empty parameter set from SHARED fails too
def pytest_runtest_setup(item) -> None:
    missing = [p for m in item.iter_markers("needs_shared") for p in m.args if not any(SHARED.glob(p))]
    if not missing:
        return
    reason = f"../shared is not complete here ({SHARED}): nothing matches {', '.join(missing)}"
    if ci_requires():
        pytest.fail(f"{reason}; required when RECTIFY_REQUIRE_PG=1 or RECTIFY_REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url():
    """URL of a fresh PostgreSQL database for this test session (dropped at the end)."""
    reason = _pg_available()
    if reason:
        _skip_or_fail_pg(reason)
    name = f"rectify_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'rectify.db'}"


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request):
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(scope="session")
def _migrated(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_migrated):
    """A migrated database emptied before each test."""
    _truncate(_migrated)
    return _migrated


def _truncate(engine) -> None:
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
            conn.commit()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        # as the migrations leave it: the default county (tracker.counties)
        conn.execute(
            text("INSERT INTO county (name, created_at) VALUES (:name, :at)"), {"name": "本县", "at": datetime.now(UTC)}
        )
        conn.commit()


@pytest.fixture
def cli_env(tmp_path, monkeypatch, engine):
    """Point the CLI (in-process) at the test database and a temporary data dir."""
    from tracker import config, db

    monkeypatch.setenv("RECTIFY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECTIFY_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    config.get_settings.cache_clear()
    db._engine_for.cache_clear()
    yield tmp_path
    config.get_settings.cache_clear()
    db._engine_for.cache_clear()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module (tests/browser.py)."""
    from tests.browser import launched_chromium

    yield from launched_chromium()
