"""Every migration upgrades to head and downgrades back to base, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL
from tracker.db import current_heads, downgrade, make_engine, upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    request.getfixturevalue("pg_url")  # skips or fails when no server answers
    name = f"rectify_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_to_head_and_down_to_base(empty_url):
    from sqlmodel import SQLModel

    engine = make_engine(empty_url)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"township", "report", "item", "task", "auditevent"} <= tables
    assert set(SQLModel.metadata.tables) <= tables, "a model table has no migration"
    assert current_heads(engine)
    upgrade(engine)  # idempotent
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_heads(engine) == set()
    upgrade(engine)
    assert "task" in inspect(engine).get_table_names()
    engine.dispose()


def test_models_match_migrations(tmp_path):
    """Autogenerate against a migrated database finds nothing: no model change lacks a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import migrations.env_models  # noqa: F401  (the same model imports Alembic uses)

    engine = make_engine(f"sqlite:///{tmp_path / 'drift.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
