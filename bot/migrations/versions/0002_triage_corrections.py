"""triage corrections

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "triagecorrection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reading", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("operator_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_triagecorrection_category"), "triagecorrection", ["category"], unique=False
    )
    op.create_index(
        op.f("ix_triagecorrection_conversation_id"),
        "triagecorrection",
        ["conversation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_triagecorrection_conversation_id"), table_name="triagecorrection")
    op.drop_index(op.f("ix_triagecorrection_category"), table_name="triagecorrection")
    op.drop_table("triagecorrection")
