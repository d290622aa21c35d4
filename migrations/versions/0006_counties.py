"""counties: the county entity, townships unique per (county, name), county of users and channels

Existing townships, county and township users and channels go into the default county, 本县
(renamed with `rectify counties rename`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DEFAULT_COUNTY = "本县"
# SQLite's batch mode rebuilds tables from reflection: unnamed constraints get these names so they can be dropped
NAMING = {
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


def _township_name_unique() -> str:
    return "township_name_key" if op.get_bind().dialect.name == "postgresql" else "uq_township_name"


def upgrade() -> None:
    county = op.create_table(
        "county",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", tracker.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.bulk_insert(county, [{"id": 1, "name": DEFAULT_COUNTY, "created_at": tracker.db.utcnow()}])
    if op.get_bind().dialect.name == "postgresql":  # the explicit id leaves the sequence behind
        op.execute("SELECT setval(pg_get_serial_sequence('county', 'id'), 1)")

    with op.batch_alter_table("township", schema=None) as batch_op:
        batch_op.add_column(sa.Column("county_id", sa.Integer(), nullable=True))
    op.execute("UPDATE township SET county_id = 1")
    with op.batch_alter_table("township", schema=None, naming_convention=NAMING) as batch_op:
        batch_op.alter_column("county_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index("ix_township_county")
        batch_op.drop_constraint(_township_name_unique(), type_="unique")
        batch_op.create_unique_constraint("uq_township_county_name", ["county_id", "name"])
        batch_op.create_foreign_key("fk_township_county_id_county", "county", ["county_id"], ["id"])

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("county_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_user_county_id_county", "county", ["county_id"], ["id"])
    op.execute('UPDATE "user" SET county_id = 1')

    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("county_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_channel_county_id_county", "county", ["county_id"], ["id"])
    op.execute("UPDATE channel SET county_id = 1")


def downgrade() -> None:
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_constraint("fk_channel_county_id_county", type_="foreignkey")
        batch_op.drop_column("county_id")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("fk_user_county_id_county", type_="foreignkey")
        batch_op.drop_column("county_id")
    # fails if two counties have a township of the same name: merge or rename them first
    with op.batch_alter_table("township", schema=None) as batch_op:
        batch_op.drop_constraint("fk_township_county_id_county", type_="foreignkey")
        batch_op.drop_constraint("uq_township_county_name", type_="unique")
        batch_op.create_unique_constraint(_township_name_unique(), ["name"])
        batch_op.create_index("ix_township_county", ["county"], unique=False)
        batch_op.drop_column("county_id")
    op.drop_table("county")
