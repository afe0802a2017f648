"""statistics: young people's feedback, the feedback question's state, indexes for the counts

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("again", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_month"), ["month"], unique=False)
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("feedback_asked_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "feedback_outcome", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_opened_at", ["opened_at"], unique=False)
        batch_op.create_index("ix_conversation_escalated_at", ["escalated_at"], unique=False)
        batch_op.create_index("ix_conversation_crisis_at", ["crisis_at"], unique=False)
        batch_op.create_index("ix_conversation_claimed_at", ["claimed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_claimed_at")
        batch_op.drop_index("ix_conversation_crisis_at")
        batch_op.drop_index("ix_conversation_escalated_at")
        batch_op.drop_index("ix_conversation_opened_at")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("feedback_outcome")
        batch_op.drop_column("feedback_asked_at")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_month"))
    op.drop_table("feedback")
