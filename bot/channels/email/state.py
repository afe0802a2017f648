"""Where the listener is in the IMAP folder: its UIDVALIDITY and the last UID stored.

The UID only moves forward, and only after the mail is stored, so several workers watching the
same folder, or a crash between two steps, cause at most a refetch that the inbox dedupes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.config import Email
from bot.db import read_session, write_session
from bot.models import Mailbox, utcnow


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int
    updated_at: datetime


def mailbox_name(settings: Email) -> str:
    """The key of a watched folder: account, server and folder."""
    return f"{settings.login}@{settings.imap_host}/{settings.imap_folder}"[:255]


def load(engine: Engine, name: str) -> Cursor | None:
    with read_session(engine) as session:
        row = session.get(Mailbox, name)
        if row is None:
            return None
        return Cursor(row.uidvalidity, row.last_uid, row.updated_at)


def start_over(engine: Engine, name: str, uidvalidity: int, last_uid: int) -> None:
    """Record a (new) UIDVALIDITY and where reading starts in it."""
    for attempt in range(2):
        try:
            with write_session(engine) as session:
                row = session.get(Mailbox, name)
                if row is None:
                    row = Mailbox(name=name)
                row.uidvalidity = uidvalidity
                row.last_uid = last_uid
                row.updated_at = utcnow()
                session.add(row)
            return
        except IntegrityError:  # another worker created it at the same moment
            if attempt:
                raise


def advance(engine: Engine, name: str, uidvalidity: int, uid: int) -> None:
    """The mail with this UID is stored: never read it again (forward only)."""
    with write_session(engine) as session:
        session.execute(
            update(Mailbox)
            .where(
                col(Mailbox.name) == name,
                col(Mailbox.uidvalidity) == uidvalidity,
                col(Mailbox.last_uid) < uid,
            )
            .values(last_uid=uid, updated_at=utcnow())
        )
