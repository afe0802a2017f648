"""The emerging-needs statistics: anonymous counts for the coordinators and the network.

period    which days are counted, in the service's time zone (a month by default)
counts    the counting, in SQL (GROUP BY), for one period
tables    the counts as the tables of the page and the bulletin, current against previous
suppress  small counts shown as "<5", and the cells that would give them away
"""

from __future__ import annotations

from sqlmodel import Session

from bot.stats.counts import count
from bot.stats.period import Period
from bot.stats.tables import Labels, Statistics, build

__all__ = ["Labels", "Period", "Statistics", "collect", "count"]
from flows.hours import OpeningHours


def collect(session: Session, period: Period, hours: OpeningHours, labels: Labels) -> Statistics:
    """The statistics of a period, against the one before it, suppressed and ready to show."""
    before = count(session, period.previous(), compared=True)
    return build(count(session, period), before, hours, labels)
