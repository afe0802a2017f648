"""the services directory, referrals, the anonymous profile at close

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _text(length: int | None = None) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "service",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("about_it", _text(), nullable=False),
        sa.Column("about_en", _text(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("phone", _text(64), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("address", _text(300), nullable=False),
        sa.Column("web", _text(300), nullable=False),
        sa.Column("hours", _text(500), nullable=False),
        sa.Column("network", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("checked_at", _TS, nullable=True),
        sa.Column("checked_by", _text(100), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", _text(64), nullable=False),
        sa.Column("conversation_id", _text(32), nullable=True),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("by", _text(16), nullable=False),
        sa.Column("topic", _text(64), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_service_id"), ["service_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referral_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referral_at"), ["at"], unique=False)
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("age_band", _text(16), nullable=False, server_default="not_stated")
        )
        batch_op.add_column(
            sa.Column("zone", _text(64), nullable=False, server_default="not_stated")
        )
        batch_op.add_column(sa.Column("returning_contact", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("returning_contact")
        batch_op.drop_column("zone")
        batch_op.drop_column("age_band")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_at"))
        batch_op.drop_index(batch_op.f("ix_referral_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_referral_service_id"))
    op.drop_table("referral")
    op.drop_table("service")
