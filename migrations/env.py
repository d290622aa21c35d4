"""Alembic environment: the engine comes from tracker.db (or RECTIFY_DATABASE_URL)."""

from alembic import context
from sqlmodel import SQLModel

import migrations.env_models  # noqa: F401  (registers every table on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:
        from tracker.config import get_settings
        from tracker.db import make_engine

        engine = make_engine(get_settings().database_url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # One migrating process at a time (PostgreSQL: tracker.db's advisory lock). SQLite's write lock,
            # taken before Alembic reads the version table: a second process waits (busy_timeout), then
            # finds the schema current. The DDL runs in this transaction, so a failed upgrade leaves nothing.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
