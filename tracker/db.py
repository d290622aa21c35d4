"""Engine, sessions and schema upgrades for SQLite (embedded) and PostgreSQL (scale)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import DateTime, event, types
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from tracker.config import ROOT, get_settings


class UTCDateTime(types.TypeDecorator):
    """Timezone-aware datetimes everywhere: stored as UTC, read back aware.

    SQLite keeps no offset, so naive values read from it are UTC by construction.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    _wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _wal(cur, tries: int = 300) -> None:
    """WAL mode, which the file keeps once set. Switching to it can answer "database is locked" at once,
    without waiting out busy_timeout, while another process switches or migrates a new database (several
    processes starting together): read the mode again and retry."""
    for attempt in range(tries):
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.1)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def get_engine() -> Engine:
    """The configured database, upgraded to the newest schema on first use."""
    return _engine_for(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def current_heads(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


# Key of the PostgreSQL advisory lock held while migrating (any constant; "rect" in ASCII).
MIGRATION_LOCK_KEY = 0x72656374


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, one migrating process at a time: the others wait, then find the schema current.

    A session-level advisory lock on its own autocommit connection, so it spans Alembic's transaction
    and is released even if that fails (or with the connection, if the process dies). SQLite has one
    writer at a time already.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine, target: str = "head") -> None:
    """Bring the schema up to date; a no-op (one cheap query) when it already is.

    Safe for several processes starting together on one PostgreSQL database: the upgrade runs under
    an advisory lock and Alembic re-reads the version table once it holds it.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine)
    if target == "head" and current_heads(engine) == {ScriptDirectory.from_config(cfg).get_current_head()}:
        return
    with _migration_lock(engine):
        command.upgrade(cfg, target)


def downgrade(engine: Engine, target: str = "base") -> None:
    from alembic import command

    with _migration_lock(engine):
        command.downgrade(alembic_config(engine), target)
