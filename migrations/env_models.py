"""Every module that defines tables: only the packages' `models` modules (tests/test_migrations.py
checks that importing everything else adds no table or index). Alembic and the schema tests import it."""

import notifications.models  # noqa: F401
import tracker.models  # noqa: F401
