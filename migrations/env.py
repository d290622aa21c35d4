"""Alembic environment: the engine comes from tracker.db (or RECTIFY_DATABASE_URL)."""
from alembic import context
from sqlmodel import SQLModel

import migrations.env_models  # noqa: F401  (registers every table on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:
        from tracker.db import make_engine
        from tracker.config import get_settings

        engine = make_engine(get_settings().database_url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
