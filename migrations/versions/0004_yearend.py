"""year end: task themes, plan-to-shortcoming links, recurrences across years, rectification claims

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasktheme",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("theme", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("tasktheme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasktheme_theme"), ["theme"], unique=False)

    op.create_table(
        "itemlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("shortcoming_item_id", sa.Integer(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["item.id"],
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shortcoming_item_id"],
            ["item.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shortcoming_item_id", "plan_item_id", name="uq_itemlink_pair"),
    )
    with op.batch_alter_table("itemlink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_itemlink_plan_item_id"), ["plan_item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_itemlink_report_id"), ["report_id"], unique=False)

    op.create_table(
        "recurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("earlier_task_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["earlier_task_id"],
            ["task.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "earlier_task_id", name="uq_recurrence_pair"),
    )
    with op.batch_alter_table("recurrence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recurrence_earlier_task_id"), ["earlier_task_id"], unique=False)

    op.create_table(
        "rectificationclaim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("claim", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["item.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id"),
    )
    with op.batch_alter_table("rectificationclaim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectificationclaim_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rectificationclaim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rectificationclaim_task_id"))
    op.drop_table("rectificationclaim")
    with op.batch_alter_table("recurrence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recurrence_earlier_task_id"))
    op.drop_table("recurrence")
    with op.batch_alter_table("itemlink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_itemlink_report_id"))
        batch_op.drop_index(batch_op.f("ix_itemlink_plan_item_id"))
    op.drop_table("itemlink")
    with op.batch_alter_table("tasktheme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasktheme_theme"))
    op.drop_table("tasktheme")
