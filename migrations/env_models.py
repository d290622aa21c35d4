"""Every module that defines tables; Alembic and the schema tests import this one list."""
import tracker.models  # noqa: F401
import notifications.models  # noqa: F401
import tracker.ledger  # noqa: F401  (indexes serving the ledger's queries)
import tracker.themes, tracker.linking, tracker.recurrence  # noqa: E401,F401  (year end: themes, links, recurrence)
