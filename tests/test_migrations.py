"""The Alembic history: one linear chain, matching the models, reversible, run once under concurrency.

Each test that migrates gets an empty database of its own, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, Table, create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL
from tracker.db import alembic_config, current_heads, downgrade, make_engine, upgrade

ROOT = Path(__file__).resolve().parents[1]


def _fresh_pg_database(prefix: str):
    """Create an empty PostgreSQL database; returns (url, drop)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    request.getfixturevalue("pg_url")  # skips or fails when no server answers
    url, drop = _fresh_pg_database("rectify_mig")
    yield url
    drop()


def _metadata():
    from sqlmodel import SQLModel

    import migrations.env_models  # noqa: F401  (the same model imports Alembic uses)

    return SQLModel.metadata


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def _missing_from(engine, metadata) -> dict[str, set[str]]:
    """Tables and indexes of `metadata` that the database lacks."""
    insp = inspect(engine)
    present = set(insp.get_table_names())
    missing_tables = set(metadata.tables) - present
    missing_indexes = {
        f"{t.name}.{ix.name}"
        for t in metadata.tables.values()
        if t.name in present
        for ix in t.indexes
        if ix.name not in {i["name"] for i in insp.get_indexes(t.name)}
    }
    return {"tables": missing_tables, "indexes": missing_indexes}


def test_one_linear_history():
    """`alembic revision --autogenerate` needs one head; every revision has one parent (no merges)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(None))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    revisions = list(script.walk_revisions())  # head first
    assert revisions[-1].down_revision is None
    for rev in revisions:
        assert not isinstance(rev.down_revision, (tuple, list)), f"{rev.revision} merges {rev.down_revision}"
        assert not rev.is_branch_point, f"{rev.revision} is a branch point"
    # The files are numbered in chain order, so the history reads top to bottom.
    files = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("[0-9]*.py"))
    assert [Path(r.path).name for r in reversed(revisions)] == files


def test_upgrade_to_head_and_down_to_base(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine)
    assert _missing_from(engine, _metadata()) == {"tables": set(), "indexes": set()}
    head = {_head()}
    assert current_heads(engine) == head
    upgrade(engine)  # idempotent
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_heads(engine) == set()
    upgrade(engine)
    assert current_heads(engine) == head
    assert "task" in inspect(engine).get_table_names()
    engine.dispose()


def test_models_match_migrations(empty_url):
    """Autogenerate against a migrated database finds nothing: no model change lacks a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    metadata = _metadata()
    engine = make_engine(empty_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_a_table_the_migrations_do_not_create_is_caught(tmp_path):
    """The check above has teeth: a table or index added to the metadata without a migration is reported."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    extended = MetaData()
    for table in _metadata().tables.values():
        table.to_metadata(extended)
    Table("not_migrated", extended, Column("id", Integer, primary_key=True))
    Index("ix_not_migrated", extended.tables["task"].c.title)
    assert _missing_from(engine, extended) == {"tables": {"not_migrated"}, "indexes": {"task.ix_not_migrated"}}
    engine.dispose()


_SNAPSHOT = r"""
import importlib, json, pkgutil, sys
from sqlmodel import SQLModel

def snapshot():
    md = SQLModel.metadata
    return {t.name: sorted(ix.name for ix in t.indexes) for t in md.tables.values()}

import migrations.env_models
only_models = snapshot()
for pkg in ("tracker", "notifications", "workflows"):
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
homes = {m.class_.__table__.name: m.class_.__module__ for m in SQLModel._sa_registry.mappers}
print(json.dumps({"env_models": only_models, "everything": snapshot(), "homes": homes}))
"""


def test_tables_live_in_models_modules_and_env_models_sees_them_all(tmp_path):
    """Importing every module registers no table or index that `migrations/env_models.py` misses,
    and every mapped table is declared in a package's `models` module."""
    env = {**os.environ, "RECTIFY_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect")}
    out = subprocess.run(
        [sys.executable, "-c", _SNAPSHOT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["everything"] == found["env_models"]
    misplaced = {t: m for t, m in found["homes"].items() if not m.endswith(".models")}
    assert misplaced == {}


# A worker for the concurrency test: imports, says it is ready, waits for the start signal, upgrades.
_WORKER = r"""
import os, sys, time
from pathlib import Path
from tracker.db import make_engine, upgrade
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
engine = make_engine(os.environ["RECTIFY_DATABASE_URL"])
ready.touch()
while not go.exists():
    time.sleep(0.005)
upgrade(engine)
"""


def test_processes_starting_together_migrate_once(empty_url, tmp_path):
    """4 processes upgrading one empty database at the same moment: all succeed, one schema.

    PostgreSQL: tracker.db's advisory lock; SQLite: migrations/env.py's BEGIN IMMEDIATE. Without them
    three of the four fail on "already exists"."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    go = tmp_path / "go"
    env = {**os.environ, "RECTIFY_DATABASE_URL": empty_url, "RECTIFY_DATA_DIR": str(tmp_path / "data")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path / f"ready{i}"), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    try:
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"ready{i}").exists() for i in range(4)):
            assert time.monotonic() < deadline, "workers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate()[1][-2000:] for p in procs]
            time.sleep(0.01)
        go.touch()
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [rc for rc, _ in results] == [0, 0, 0, 0], [err[-2000:] for _, err in results]

    engine = make_engine(empty_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        diff = compare_metadata(MigrationContext.configure(conn), _metadata())
    engine.dispose()
    assert versions == [_head()]
    assert diff == []
