"""The counting, done by the database: one GROUP BY per figure, for one period.

Moments are grouped by the quarter of an hour they fall in (UTC), a few thousand groups a month
at most; the groups are then placed in the service's time zone (week, weekday and hour, shift,
opening hours) here, which every database does the same way. Waits are worked out by the
database too; only the list of waits comes back, for the median and the 90th percentile.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

from bot.models import UtcDateTime
from bot.stats.period import Period

FEEDBACK_ONLY = "bot:feedback"  # a conversation that only answered the feedback question
QUARTER = 900  # seconds: moments are grouped by the quarter of an hour


@dataclass
class Counts:
    """Everything counted for one period (no names, no ids)."""

    period: Period
    conversations: int = 0
    young_people: int = 0  # distinct contacts; an anonymised conversation counts as one
    returning: Counter[str] = field(default_factory=Counter)  # first | returning | not_stated
    channels: Counter[str] = field(default_factory=Counter)
    opened: Counter[datetime] = field(default_factory=Counter)  # quarter hour (UTC) → count
    topics: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    age_bands: Counter[str] = field(default_factory=Counter)
    zones: Counter[str] = field(default_factory=Counter)
    crisis_categories: Counter[str] = field(default_factory=Counter)
    crisis_at: Counter[datetime] = field(default_factory=Counter)
    crisis_waits: list[float | None] = field(default_factory=list)
    corrections: Counter[str] = field(default_factory=Counter)
    escalated: int = 0
    handover_waits: list[float | None] = field(default_factory=list)
    abandoned: int = 0  # handed over, closed before any listener's reply
    load: Counter[tuple[datetime, str]] = field(default_factory=Counter)  # (quarter, listener)
    referrals_by_service: Counter[str] = field(default_factory=Counter)
    referrals_by_topic: Counter[str] = field(default_factory=Counter)
    services: dict[str, str] = field(default_factory=dict)  # id → name
    feedback: Counter[tuple[str, int | None, bool | None]] = field(default_factory=Counter)


def _quarter(dialect: str, column: str) -> str:
    """SQL for the quarter of an hour a moment falls in: whole quarters since 1970 (UTC)."""
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER) / {QUARTER}"
    return f"CAST(floor(extract(epoch from {column}) / {QUARTER}) AS BIGINT)"


def _minutes(dialect: str, start: str, end: str) -> str:
    """SQL for the minutes from one moment to another (NULL when either is missing)."""
    if dialect == "sqlite":
        return f"(julianday({end}) - julianday({start})) * 1440.0"
    return f"extract(epoch from ({end} - {start})) / 60.0"


def _topics(dialect: str) -> str:
    """SQL FROM clause: each conversation once per topic tag, the tag as `tag`."""
    if dialect == "sqlite":
        return "conversation, json_each(conversation.topics) AS t"
    return "conversation, json_array_elements_text(conversation.topics) AS t(value)"


def _moment(quarters: int) -> datetime:
    return datetime.fromtimestamp(int(quarters) * QUARTER, UTC)


class _Query:
    """Runs SQL for a period: :since and :until bound as the moments they are."""

    def __init__(self, session: Session, period: Period) -> None:
        self.session, self.period = session, period
        self.dialect = session.get_bind().dialect.name

    def rows(self, sql: str, **params: Any) -> list[Any]:
        statement = text(sql)
        values = dict(params)
        if ":since" in sql:
            statement = statement.bindparams(
                bindparam("since", type_=UtcDateTime()), bindparam("until", type_=UtcDateTime())
            )
            values.update(since=self.period.since, until=self.period.until)
        return list(self.session.execute(statement, values).all())

    def counter(self, sql: str, **params: Any) -> Counter[Any]:
        return Counter({key: int(n) for key, n in self.rows(sql, **params)})


# conversations opened in the period, but for those that only answered the feedback question
_OPENED = (
    "conversation.opened_at >= :since AND conversation.opened_at < :until "
    f"AND (conversation.outcome IS NULL OR conversation.outcome <> '{FEEDBACK_ONLY}')"
)


def count(session: Session, period: Period, *, compared: bool = False) -> Counts:
    """Count everything the statistics show, for one period (compared: only what the previous
    period's column needs — no listener load, no feedback)."""
    q = _Query(session, period)
    d = q.dialect
    c = Counts(period)
    people = q.rows(
        f"SELECT count(*), count(DISTINCT contact_id), "
        f"sum(CASE WHEN contact_id IS NULL THEN 1 ELSE 0 END) "
        f"FROM conversation WHERE {_OPENED}"
    )[0]
    c.conversations = int(people[0])
    c.young_people = int(people[1]) + int(people[2] or 0)
    names = {None: "not_stated", True: "returning", False: "first"}
    profile = q.rows(
        f"SELECT channel, returning_contact, coalesce(outcome, 'open'), age_band, "
        f"zone, count(*) FROM conversation WHERE {_OPENED} "
        "GROUP BY channel, returning_contact, coalesce(outcome, 'open'), age_band, "
        "zone"
    )
    for channel, returning, outcome, age_band, zone, n in profile:
        c.channels[channel] += n
        c.returning[names[returning]] += n
        c.outcomes[outcome] += n
        c.age_bands[age_band] += n
        c.zones[zone] += n
    quarter = _quarter(d, "opened_at")
    c.opened = Counter(
        {
            _moment(k): n
            for k, n in q.counter(
                f"SELECT {quarter} AS q, count(*) FROM conversation WHERE {_OPENED} GROUP BY q"
            ).items()
        }
    )
    c.topics = q.counter(
        f"SELECT t.value, count(*) FROM {_topics(d)} WHERE {_OPENED} GROUP BY t.value"
    )
    _safety(q, c)
    _service(q, c, load=not compared)
    _referrals(q, c)
    months = [] if compared else period.months()
    if months:
        marks = ", ".join(f":m{i}" for i in range(len(months)))
        found = q.rows(
            f"SELECT outcome, score, again, count(*) FROM feedback "
            f"WHERE month IN ({marks}) GROUP BY outcome, score, again",
            **{f"m{i}": m for i, m in enumerate(months)},
        )
        c.feedback = Counter(
            {(o, s, None if a is None else bool(a)): int(n) for o, s, a, n in found}
        )
    return c


def _safety(q: _Query, c: Counts) -> None:
    d = q.dialect
    crisis = "crisis_at >= :since AND crisis_at < :until"
    c.crisis_categories = q.counter(
        "SELECT CASE WHEN escalation_reason LIKE 'crisis:%' THEN substr(escalation_reason, 8) "
        f"ELSE 'altro' END AS category, count(*) FROM conversation WHERE {crisis} "
        "GROUP BY category"
    )
    quarter = _quarter(d, "crisis_at")
    c.crisis_at = Counter(
        {
            _moment(k): n
            for k, n in q.counter(
                f"SELECT {quarter} AS q, count(*) FROM conversation WHERE {crisis} GROUP BY q"
            ).items()
        }
    )
    waits = _minutes(d, "crisis_at", "crisis_reply_at")
    c.crisis_waits = [
        None if w is None else max(0.0, float(w))
        for (w,) in q.rows(f"SELECT {waits} FROM conversation WHERE {crisis}")
    ]
    c.corrections = q.counter(
        "SELECT category, count(*) FROM triagecorrection "
        "WHERE created_at >= :since AND created_at < :until "
        "GROUP BY category"
    )


def _service(q: _Query, c: Counts, *, load: bool) -> None:
    d = q.dialect
    handed = "escalated_at >= :since AND escalated_at < :until"
    waits = _minutes(d, "escalated_at", "first_reply_at")
    found = list(
        q.rows(
            f"SELECT CASE WHEN first_reply_at >= escalated_at THEN {waits} END, "
            "CASE WHEN status = 'closed' AND (first_reply_at IS NULL "
            "OR first_reply_at < escalated_at) THEN 1 ELSE 0 END "
            f"FROM conversation WHERE {handed}"
        )
    )
    c.escalated = len(found)
    c.handover_waits = [None if w is None else max(0.0, float(w)) for w, _ in found]
    c.abandoned = sum(int(a) for _, a in found)
    if not load:
        return
    quarter = _quarter(d, "claimed_at")
    taken = q.rows(
        f"SELECT {quarter} AS q, listener_id, count(*) FROM conversation "
        "WHERE claimed_at >= :since AND claimed_at < :until "
        "AND listener_id IS NOT NULL GROUP BY q, listener_id"
    )
    c.load = Counter({(_moment(k), listener): int(n) for k, listener, n in taken})


def _referrals(q: _Query, c: Counts) -> None:
    within = "referral.at >= :since AND referral.at < :until"
    c.referrals_by_service = q.counter(
        f"SELECT service_id, count(*) FROM referral WHERE {within} GROUP BY service_id"
    )
    c.referrals_by_topic = q.counter(
        f"SELECT coalesce(topic, 'non indicato'), count(*) FROM referral WHERE {within} "
        "GROUP BY coalesce(topic, 'non indicato')"
    )
    if c.referrals_by_service:
        c.services = dict(q.rows("SELECT id, name FROM service"))
