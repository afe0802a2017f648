"""push on PostgreSQL: triggers that NOTIFY workers and live streams when a transaction commits

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Notifications are sent at commit, repeated ones in one transaction only once (bot/notify.py).
_FUNCTIONS = {
    "sos_notify_outbox": "sos_outbox",
    "sos_notify_activity": "sos_activity",
}
_TRIGGERS = [
    # an outbound message queued: wake the workers
    "CREATE TRIGGER message_queued AFTER INSERT ON message FOR EACH ROW "
    "WHEN (NEW.direction = 'out' AND NEW.status = 'queued') "
    "EXECUTE FUNCTION sos_notify_outbox()",
    # the change feed grew: wake the dashboards' live streams
    "CREATE TRIGGER activity_published AFTER INSERT ON activity FOR EACH STATEMENT "
    "EXECUTE FUNCTION sos_notify_activity()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the worker is woken in-process, and polls
    for function, channel in _FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END $$"
        )
    for trigger in _TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS activity_published ON activity")
    op.execute("DROP TRIGGER IF EXISTS message_queued ON message")
    for function in _FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
