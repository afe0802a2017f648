"""Time to a human: from a crisis message, and from a hand-over, to a listener's first reply.

The moments are columns of the conversation (crisis_at → crisis_reply_at, escalated_at →
first_reply_at), kept when a conversation is anonymised, so the emerging-needs statistics can
use them too. The figures are the median, the 90th percentile and the worst wait, in minutes,
by week and by shift (a range of the opening hours; "fuori orario" outside them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, or_, select

from bot.models import Conversation
from flows.hours import DAY_NAMES, OpeningHours

OUT_OF_HOURS = "fuori orario"


def replied(conversation: Conversation, now: datetime) -> None:
    """A listener wrote to the young person: the first reply after a crisis or a hand-over."""
    if conversation.crisis_at is not None and conversation.crisis_reply_at is None:
        conversation.crisis_reply_at = now
    escalated = conversation.escalated_at
    if escalated is not None and (
        conversation.first_reply_at is None or conversation.first_reply_at < escalated
    ):
        conversation.first_reply_at = now


@dataclass(frozen=True)
class Figure:
    """Waits in minutes: how many were answered, and how long they took."""

    answered: int = 0
    unanswered: int = 0
    median: float | None = None
    p90: float | None = None
    worst: float | None = None


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (the value below which `share` of the waits fall)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(waits: Iterable[float | None]) -> Figure:
    """None is a wait with no reply (yet)."""
    found = list(waits)
    done = [w for w in found if w is not None]
    if not done:
        return Figure(unanswered=len(found))
    ordered = sorted(done)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Figure(
        answered=len(done),
        unanswered=len(found) - len(done),
        median=median,
        p90=percentile(done, 0.9),
        worst=ordered[-1],
    )


@dataclass(frozen=True)
class Row:
    label: str
    crisis: Figure
    handover: Figure


def _wait(start: datetime | None, reply: datetime | None) -> float | None:
    if start is None or reply is None or reply < start:
        return None
    return (reply - start).total_seconds() / 60


Label = tuple[str, str]  # (sort key, words)


def week_of(moment: datetime, zone: ZoneInfo) -> Label:
    """The week a moment falls in, e.g. "2025-S10 (dal 03/03)"."""
    local = moment.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    year, week, _ = local.isocalendar()
    return monday.isoformat(), f"{year}-S{week:02d} (dal {monday:%d/%m})"


def shift_of(moment: datetime, hours: OpeningHours) -> Label:
    """The range of the opening hours the moment falls in, e.g. "lunedì 15:00-20:00"."""
    local = moment.astimezone(ZoneInfo(hours.timezone))
    day = local.weekday()
    for start, end in hours.week[day]:
        if start <= local.time() < end:
            last = "24:00" if end.hour == 23 and end.minute == 59 else f"{end:%H:%M}"
            return f"{day}{start:%H:%M}", f"{DAY_NAMES['it'][day]} {start:%H:%M}-{last}"
    return "9", OUT_OF_HOURS


def _rows(conversations: list[Conversation], label: Callable[[datetime], Label]) -> list[Row]:
    crisis: dict[Label, list[float | None]] = {}
    handover: dict[Label, list[float | None]] = {}
    for c in conversations:
        if c.crisis_at is not None:
            crisis.setdefault(label(c.crisis_at), []).append(_wait(c.crisis_at, c.crisis_reply_at))
        if c.escalated_at is not None:
            handover.setdefault(label(c.escalated_at), []).append(
                _wait(c.escalated_at, c.first_reply_at)
            )
    return [
        Row(name[1], summarise(crisis.get(name, [])), summarise(handover.get(name, [])))
        for name in sorted(set(crisis) | set(handover))
    ]


def recent(session: Session, now: datetime, weeks: int) -> list[Conversation]:
    """Conversations handed over or in crisis during the last `weeks` weeks."""
    since = now - timedelta(weeks=weeks)
    query = select(Conversation).where(
        or_(col(Conversation.escalated_at) >= since, col(Conversation.crisis_at) >= since)
    )
    return list(session.exec(query))


def by_week(conversations: list[Conversation], zone: ZoneInfo) -> list[Row]:
    return list(reversed(_rows(conversations, lambda at: week_of(at, zone))))


def by_shift(conversations: list[Conversation], hours: OpeningHours) -> list[Row]:
    return _rows(conversations, lambda at: shift_of(at, hours))
