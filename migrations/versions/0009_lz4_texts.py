"""lz4 for the large text columns on PostgreSQL (a report's whole text, an item's text, a pending upload)

TOAST compresses values over about 2 KB; with the default pglz, writing the report texts took most
of the COPY time of ingest (5,000 report texts: 2.8 s with pglz, 0.8–1.0 s with lz4). Only values
written from now on use lz4; older ones stay pglz and read as before. A no-op on SQLite, and on a
PostgreSQL server built without lz4.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = [("report", "text"), ("item", "text"), ("pendingupload", "extraction")]


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    values = bind.execute(sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
    return bool(values) and "lz4" in values


def upgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4')


def downgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION DEFAULT')
