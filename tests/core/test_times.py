"""Times are stored and read back as aware UTC, whatever the database and its session zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.models import Contact, Conversation
from tests.conftest import PG_TIMEZONE

ROME_SUMMER = timezone(timedelta(hours=2))


def test_a_time_comes_back_aware_utc_and_equal(engine: Engine) -> None:
    moment = datetime(2026, 7, 1, 23, 30, tzinfo=ROME_SUMMER)  # 21:30 UTC
    with Session(engine) as session:
        session.add(Contact(id="c1", channel="web", address="a", pseudonym="p", consent_at=moment))
        session.commit()
    with Session(engine) as session:
        stored = session.get(Contact, "c1")
        assert stored is not None and stored.consent_at is not None
        assert stored.consent_at.tzinfo is not None
        assert stored.consent_at.utcoffset() == timedelta(0)
        assert stored.consent_at == moment
        assert stored.consent_at.hour == 21


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Conversation(channel="web", escalated_at=datetime(2026, 1, 1, 12)))
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


def test_comparisons_in_queries_use_utc(engine: Engine) -> None:
    moment = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    with Session(engine) as session:
        session.add(Conversation(id="x", channel="web", escalated_at=moment))
        session.commit()
    with Session(engine) as session:
        before = datetime(2026, 1, 15, 10, 30, tzinfo=ROME_SUMMER)  # 08:30 UTC: earlier
        found = session.exec(
            select(Conversation.id).where(col(Conversation.escalated_at) > before)
        ).all()
    assert found == ["x"]


def test_postgresql_tests_run_in_a_session_zone_that_is_not_utc(
    database: str, engine: Engine
) -> None:
    if database == "sqlite":
        pytest.skip("PostgreSQL only: SQLite keeps no session zone")
    with engine.connect() as conn:
        assert conn.execute(text("SHOW TimeZone")).scalar() == PG_TIMEZONE
