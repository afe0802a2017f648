"""arrivals: the webhook commits a young person's message and answers; a worker reads it

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "arrival",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("inbound", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "external_id"),
    )
    op.create_index("ix_arrival_writer", "arrival", ["channel", "address", "id"])
    if op.get_bind().dialect.name == "postgresql":  # wake the workers, as for the outbox
        op.execute(
            "CREATE TRIGGER arrival_accepted AFTER INSERT ON arrival FOR EACH STATEMENT "
            "EXECUTE FUNCTION sos_notify_outbox()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS arrival_accepted ON arrival")
    op.drop_index("ix_arrival_writer", table_name="arrival")
    op.drop_table("arrival")
