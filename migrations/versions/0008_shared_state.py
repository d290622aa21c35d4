"""shared state: uploads waiting for review and evidence content in the database (several web processes)

Uploads pending review used to be JSON files in data_dir/uploads, visible only to the process that
received them; they are not carried over (an upload not yet confirmed is uploaded again).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pendingupload",
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_at", tracker.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("source_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("report_year", sa.Integer(), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("extraction", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"],
            ["county.id"],
        ),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("pendingupload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pendingupload_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pendingupload_uploaded_at"), ["uploaded_at"], unique=False)

    op.create_table(
        "evidenceblob",
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", tracker.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # PDFs, JPEGs, PNGs and zipped Office files do not compress: TOAST stores them out of line as they are
        op.execute("ALTER TABLE evidenceblob ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("evidenceblob")
    with op.batch_alter_table("pendingupload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pendingupload_uploaded_at"))
        batch_op.drop_index(batch_op.f("ix_pendingupload_county_id"))
    op.drop_table("pendingupload")
