"""presence, on-call rota, alerts, time to a first reply

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("operator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_shift_since", _TS, nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("dashboard_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("alert_phone", _text(40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("alert_email", _text(320), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("rota", _text(500), nullable=False, server_default=""))
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crisis_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("crisis_reply_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("first_reply_at", _TS, nullable=True))
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.add_column(sa.Column("for_operator_id", _text(32), nullable=True))
        batch_op.create_foreign_key(
            "fk_note_for_operator_id_operator", "operator", ["for_operator_id"], ["id"]
        )
    op.create_table(
        "alert",
        sa.Column("id", _text(32), nullable=False),
        sa.Column("conversation_id", _text(32), nullable=False),
        sa.Column("kind", _text(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("episode_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("requested_by", _text(32), nullable=True),
        sa.Column("category", _text(64), nullable=False),
        sa.Column("notified", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", _TS, nullable=True),
        sa.Column("acknowledged_by", _text(32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "kind", "episode_at", "level"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_conversation_id"))
    op.drop_table("alert")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_constraint("fk_note_for_operator_id_operator", type_="foreignkey")
        batch_op.drop_column("for_operator_id")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("first_reply_at")
        batch_op.drop_column("crisis_reply_at")
        batch_op.drop_column("crisis_at")
    with op.batch_alter_table("operator", schema=None) as batch_op:
        for column in (
            "rota",
            "alert_email",
            "alert_phone",
            "dashboard_at",
            "last_seen_at",
            "on_shift_since",
        ):
            batch_op.drop_column(column)
