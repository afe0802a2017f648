"""A period of the statistics: whole days in the service's time zone, start included, end not.

Days begin at local midnight, so a month across a change to or from summer time is still the
month a coordinator means (its length in hours is not a whole number of days times 24).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTHS_IT = (
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A period that cannot be read; the message says why, in Italian."""


@dataclass(frozen=True)
class Period:
    start: date  # the first day counted
    end: date  # the day after the last one
    zone: ZoneInfo

    @property
    def since(self) -> datetime:
        """The first moment counted (local midnight), in UTC."""
        return _midnight(self.start, self.zone)

    @property
    def until(self) -> datetime:
        """The first moment not counted (local midnight), in UTC."""
        return _midnight(self.end, self.zone)

    @property
    def whole_month(self) -> bool:
        return self.start.day == 1 and self.end == _next_month(self.start)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        if self.whole_month:
            return f"{MONTHS_IT[self.start.month - 1]} {self.start.year}"
        last = self.end - timedelta(days=1)
        return f"{self.start:%d/%m/%Y} – {last:%d/%m/%Y}"

    @property
    def key(self) -> str:
        """A short name for files: "2026-11", or "2026-11-03_2026-11-16"."""
        if self.whole_month:
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}_{(self.end - timedelta(days=1)).isoformat()}"

    def months(self) -> list[str]:
        """The months ("2026-11") whose first day falls in the period (feedback is by month)."""
        found, day = [], date(self.start.year, self.start.month, 1)
        if day < self.start:
            day = _next_month(day)
        while day < self.end:
            found.append(f"{day:%Y-%m}")
            day = _next_month(day)
        return found

    def previous(self) -> Period:
        """The period just before: the month before a month, else as many days before."""
        if self.whole_month:
            first = _previous_month(self.start)
            return Period(first, self.start, self.zone)
        return Period(self.start - (self.end - self.start), self.start, self.zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of a day, as a UTC moment (midnight is never skipped or doubled in
    Europe/Rome; where it would be, zoneinfo picks the first reading)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def month(text: str, zone: ZoneInfo) -> Period:
    """ "2026-11" → November 2026."""
    found = _MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise PeriodError(f"Mese non valido: {text!r} (scrivi AAAA-MM, per esempio 2026-11).")
    first = date(int(found.group(1)), int(found.group(2)), 1)
    return Period(first, _next_month(first), zone)


def days(start: str, end: str, zone: ZoneInfo) -> Period:
    """From one day to another, both included (ISO dates, as a date field sends them)."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise PeriodError("Date non valide: usa il formato AAAA-MM-GG.") from exc
    if last < first:
        raise PeriodError("La data di fine viene prima di quella di inizio.")
    if (last - first).days > 366 * 2:
        raise PeriodError("Scegli un periodo di al massimo due anni.")
    return Period(first, last + timedelta(days=1), zone)


def last_full_month(now: datetime, zone: ZoneInfo) -> Period:
    """The month before the one `now` falls in (in the service's time zone)."""
    today = now.astimezone(zone).date()
    return Period(
        _previous_month(date(today.year, today.month, 1)), date(today.year, today.month, 1), zone
    )


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    """ "2026-11": the month a moment falls in, locally."""
    return f"{moment.astimezone(zone):%Y-%m}"
