"""logins as rows (logout ends them) and login attempts counted atomically

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loginthrottle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "operatorsession",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("operator_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operatorsession", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operatorsession_operator_id"), ["operator_id"], unique=False
        )
    # Failures counted the old way are forgotten: the limit starts afresh.
    with op.batch_alter_table("loginfailure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loginfailure_key"))
    op.drop_table("loginfailure")


def downgrade() -> None:
    op.create_table(
        "loginfailure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("loginfailure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loginfailure_key"), ["key"], unique=False)
    with op.batch_alter_table("operatorsession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operatorsession_operator_id"))
    op.drop_table("operatorsession")
    op.drop_table("loginthrottle")
