"""WhatsApp's window counted per conversation: last_inbound_at moves from contact to conversation

The webhook then updates one row (the conversation) instead of two. Each conversation takes the
time of the last message its young person wrote in it.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LAST_IN = (
    "SELECT max(message.created_at) FROM message "
    "WHERE message.conversation_id = conversation.id "
    "AND message.direction = 'in' AND message.author = 'contact'"
)


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE conversation SET last_inbound_at = ({_LAST_IN})")
    # SQLite drops the column in place (3.35+): the contact table, referred to by others, is
    # never copied
    with op.batch_alter_table("contact", recreate="never") as batch:
        batch.drop_column("last_inbound_at")


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE contact SET last_inbound_at = (SELECT max(conversation.last_inbound_at) "
        "FROM conversation WHERE conversation.contact_id = contact.id)"
    )
    with op.batch_alter_table("conversation", recreate="never") as batch:
        batch.drop_column("last_inbound_at")
