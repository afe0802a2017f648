"""Opening hours of the listeners: parsing and "is it open now?" (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = {
    "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_PART = re.compile(r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(.+?)\s*$")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class HoursError(ValueError):
    pass


@dataclass(frozen=True)
class OpeningHours:
    """Weekly schedule: for each weekday (0 = Monday) a tuple of (start, end) local times."""

    timezone: str
    week: tuple[tuple[tuple[time, time], ...], ...]

    @classmethod
    def parse(cls, spec: str, timezone: str = "Europe/Rome") -> OpeningHours:
        """Parse "mon-fri 15:00-20:00; sat 10:00-13:00, 16:00-19:00" (empty = never open)."""
        try:
            ZoneInfo(timezone)
        except Exception as exc:
            raise HoursError(f"unknown timezone {timezone!r}") from exc
        week: list[list[tuple[time, time]]] = [[] for _ in DAYS]
        for part in filter(None, (p.strip() for p in spec.lower().split(";"))):
            m = _PART.match(part)
            if not m or m.group(1) not in DAYS or (m.group(2) and m.group(2) not in DAYS):
                raise HoursError(f"cannot read {part!r}: expected e.g. 'mon-fri 15:00-20:00'")
            first = DAYS.index(m.group(1))
            last = DAYS.index(m.group(2)) if m.group(2) else first
            if last < first:
                raise HoursError(f"day range {part!r} goes backwards")
            for rng in m.group(3).split(","):
                r = _RANGE.match(rng)
                if not r:
                    raise HoursError(f"cannot read time range {rng.strip()!r} (use HH:MM-HH:MM)")
                h1, m1, h2, m2 = (int(x) for x in r.groups())
                if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
                    raise HoursError(f"impossible time in {rng.strip()!r}")
                start = time(h1, m1)
                end = time(23, 59, 59) if (h2, m2) == (24, 0) else time(h2, m2)
                if end <= start:
                    raise HoursError(f"time range {rng.strip()!r} ends before it starts")
                for day in range(first, last + 1):
                    week[day].append((start, end))
        return cls(timezone, tuple(tuple(sorted(d)) for d in week))

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        t = local.time()
        return any(s <= t < e for s, e in self.week[local.weekday()])

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment the listeners are back (local time), or None if never open."""
        tz = ZoneInfo(self.timezone)
        local = now.astimezone(tz)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for start, _end in self.week[day.weekday()]:
                at = datetime.combine(day, start, tz)
                if at > local:
                    return at
        return None

    def describe(self, lang: str = "it") -> str:
        """Human text of the schedule, e.g. "lunedì-venerdì 15:00-20:00; sabato 10:00-13:00"."""
        names = DAY_NAMES.get(lang, DAY_NAMES["it"])
        out: list[str] = []
        day = 0
        while day < 7:
            ranges = self.week[day]
            last = day
            while last + 1 < 7 and self.week[last + 1] == ranges:
                last += 1
            if ranges:
                spans = ", ".join(f"{s:%H:%M}-{_end(e)}" for s, e in ranges)
                days = names[day] if last == day else f"{names[day]}-{names[last]}"
                out.append(f"{days} {spans}")
            day = last + 1
        return "; ".join(out)


def _end(t: time) -> str:
    return "24:00" if t == time(23, 59, 59) else f"{t:%H:%M}"
