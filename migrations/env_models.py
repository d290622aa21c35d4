"""Every module that defines tables; Alembic and the schema tests import this one list."""
import tracker.models  # noqa: F401
