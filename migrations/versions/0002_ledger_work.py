"""ledger at work: indexes for the county's views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("township", schema=None) as batch_op:
        batch_op.create_index("ix_township_county", ["county"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("township", schema=None) as batch_op:
        batch_op.drop_index("ix_township_county")
