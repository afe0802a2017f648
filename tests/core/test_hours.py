"""Opening hours: parsing, is it open now, when are listeners back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.hours import HoursError, OpeningHours

HOURS = OpeningHours.parse("mon-fri 15:00-20:00; sat 10:00-13:00, 16:00-19:00", "Europe/Rome")


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        ("2026-11-23T14:30", True),  # Monday 15:30 in Rome (UTC+1)
        ("2026-11-23T13:59", False),  # Monday 14:59
        ("2026-11-23T19:00", False),  # Monday 20:00: closed at the end minute
        ("2026-11-28T12:30", False),  # Saturday 13:30: between the two ranges
        ("2026-11-28T15:30", True),  # Saturday 16:30
        ("2026-11-29T15:30", False),  # Sunday
        ("2026-07-06T13:30", True),  # Monday 15:30 in summer time (UTC+2)
    ],
)
def test_is_open_in_local_time(utc: str, open_: bool) -> None:
    assert HOURS.is_open(datetime.fromisoformat(utc).replace(tzinfo=UTC)) is open_


def test_next_opening_skips_closed_days() -> None:
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    nxt = HOURS.next_opening(sunday)
    assert nxt is not None and (nxt.weekday(), nxt.hour, nxt.minute) == (0, 15, 0)
    saturday_gap = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
    nxt = HOURS.next_opening(saturday_gap)
    assert nxt is not None and (nxt.weekday(), nxt.hour) == (5, 16)


def test_never_open_and_all_day() -> None:
    assert OpeningHours.parse("").next_opening(datetime.now(UTC)) is None
    always = OpeningHours.parse("mon-sun 00:00-24:00")
    assert always.is_open(datetime(2026, 1, 1, 23, 30, tzinfo=UTC))


def test_describe_in_both_languages() -> None:
    assert HOURS.describe("it") == "lunedì-venerdì 15:00-20:00; sabato 10:00-13:00, 16:00-19:00"
    assert OpeningHours.parse("mon-sun 00:00-24:00").describe("it") == "lunedì-domenica 00:00-24:00"
    assert "Saturday 10:00-13:00, 16:00-19:00" in HOURS.describe("en")


@pytest.mark.parametrize(
    "spec",
    ["lun 9:00-12:00", "mon 9-12", "mon 12:00-09:00", "fri-mon 09:00-10:00", "mon 25:00-26:00"],
)
def test_bad_specs_are_refused_clearly(spec: str) -> None:
    with pytest.raises(HoursError):
        OpeningHours.parse(spec)


def test_unknown_timezone() -> None:
    with pytest.raises(HoursError, match="timezone"):
        OpeningHours.parse("mon 09:00-10:00", "Europe/Cesena")
