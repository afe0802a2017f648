"""The emerging-needs statistics: known rows in, the expected counts out; small counts and the
cells that would give them away hidden; months counted in the service's time zone across the
changes to and from summer time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import stats
from bot.db import read_session, write_session
from bot.models import Conversation, Feedback, Referral, Service, TriageCorrection
from bot.runtime import Runtime
from bot.stats import period
from bot.stats.counts import Counts, count
from bot.stats.suppress import hidden_cells
from bot.stats.tables import Statistics, Table
from flows.hours import OpeningHours

ROME = ZoneInfo("Europe/Rome")
NOVEMBER = period.month("2026-11", ROME)
HOURS = OpeningHours.parse("mon-fri 15:00-20:00", "Europe/Rome")


def at(text: str) -> datetime:
    """A local time in Rome, e.g. "2026-11-03 16:00", as an aware moment."""
    return datetime.fromisoformat(text).replace(tzinfo=ROME)


def add(rt: Runtime, *rows: dict[str, Any]) -> None:
    with write_session(rt.db) as session:
        for row in rows:
            session.add(Conversation(**{"channel": "whatsapp", "status": "closed", **row}))


def counted(rt: Runtime, chosen: period.Period = NOVEMBER) -> Counts:
    with read_session(rt.db) as session:
        return count(session, chosen)


def collected(rt: Runtime, chosen: period.Period = NOVEMBER) -> Statistics:
    with read_session(rt.db) as session:
        return stats.collect(session, chosen, HOURS, stats.Labels())


def table(found: Statistics, key: str) -> Table:
    return next(t for t in found.tables() if t.key == key)


def cells(t: Table) -> dict[str, list[str]]:
    return {row[0].text: [c.text for c in row[1:]] for row in t.rows}


def many(n: int, **row: Any) -> list[dict[str, Any]]:
    return [dict(row) for _ in range(n)]


# counting ------------------------------------------------------------------------------------


def test_known_rows_give_the_expected_counts(rt: Runtime) -> None:
    tuesday = at("2026-11-03 16:00")  # in opening hours
    night = at("2026-11-04 23:30")  # out of hours
    add(
        rt,
        *many(
            6,
            opened_at=tuesday,
            topics=["scuola"],
            outcome="ascolto",
            age_band="14_17",
            zone="cesena",
            returning=False,
        ),
        *many(
            3,
            opened_at=night,
            channel="email",
            topics=["scuola", "ansia"],
            outcome="orientamento",
            returning=True,
        ),
        # outside November, and a conversation that only answered the feedback question
        {"opened_at": at("2026-10-31 23:59"), "topics": ["scuola"]},
        {"opened_at": tuesday, "outcome": "bot:feedback"},
    )
    c = counted(rt)
    assert c.conversations == 9 and c.young_people == 9  # anonymised: one person each
    assert c.channels == {"whatsapp": 6, "email": 3}
    assert c.topics == {"scuola": 9, "ansia": 3}
    assert c.outcomes == {"ascolto": 6, "orientamento": 3}
    assert c.age_bands == {"14_17": 6, "not_stated": 3}
    assert c.zones == {"cesena": 6, "not_stated": 3}
    assert c.returning == {"first": 6, "returning": 3}
    found = collected(rt)
    volume = cells(table(found, "volume"))
    assert volume["Conversazioni"][0] == "9"
    assert volume["Aperte fuori orario"][0] == "<5"
    heat = cells(table(found, "weekday_hour"))
    assert heat["martedì"][16] == "6"  # 16:00 local on a Tuesday
    assert heat["mercoledì"][23] == "<5"


def test_safety_and_service_figures(rt: Runtime) -> None:
    start = at("2026-11-10 16:00")
    crises = [
        {
            "opened_at": start,
            "escalated_at": start,
            "crisis_at": start,
            "escalation_reason": "crisis:suicide",
            "priority": "crisis",
            "crisis_reply_at": start + timedelta(minutes=m),
            "first_reply_at": start + timedelta(minutes=m),
        }
        for m in (1, 2, 3, 4, 5, 6, 20)
    ]
    night = at("2026-11-11 02:00")
    crises.append(
        {
            "opened_at": night,
            "escalated_at": night,
            "crisis_at": night,
            "escalation_reason": "crisis:self_harm",
            "priority": "crisis",
        }
    )
    abandoned = many(2, opened_at=start, escalated_at=start, outcome="bot:no_response")
    add(rt, *crises, *abandoned)
    with write_session(rt.db) as session:
        session.add(TriageCorrection(created_at=start, category="not_crisis"))
    c = counted(rt)
    assert c.crisis_categories == {"suicide": 7, "self_harm": 1}
    assert sorted(w for w in c.crisis_waits if w is not None) == pytest.approx(
        [1, 2, 3, 4, 5, 6, 20]
    )
    assert c.crisis_waits.count(None) == 1
    assert c.escalated == 10 and c.abandoned == 3  # the night crisis closed unanswered too
    assert c.corrections == {"not_crisis": 1}
    found = collected(rt)
    waits = cells(table(found, "crisis_wait"))
    assert waits["Periodo"] == ["7", "<5", "4", "20", "20"]  # median, 90th percentile, worst
    out_of_hours = cells(table(found, "crisis_out_of_hours"))
    # one crisis out of hours: hidden, and the count it is part of with it
    assert out_of_hours["Crisi"][0] == "<5" and out_of_hours["di cui fuori orario"][0] == "<5"


def test_referrals_and_feedback(rt: Runtime) -> None:
    with write_session(rt.db) as session:
        session.add(Service(id="progetto-giovani", name="Progetto Giovani"))
        session.flush()
        for _ in range(6):
            session.add(
                Referral(
                    service_id="progetto-giovani",
                    channel="whatsapp",
                    by="listener",
                    topic="famiglia",
                    at=at("2026-11-05 17:00"),
                )
            )
        session.add(
            Referral(
                service_id="progetto-giovani",
                channel="whatsapp",
                by="bot",
                at=at("2026-12-01 00:30"),
            )
        )  # December in Rome
        for score in (5, 5, 4, 4, 4, 3):
            session.add(Feedback(month="2026-11", outcome="ascolto", score=score, again=True))
        session.add(Feedback(month="2026-10", outcome="ascolto", score=1, again=False))
    c = counted(rt)
    assert c.referrals_by_service == {"progetto-giovani": 6}
    assert c.referrals_by_topic == {"famiglia": 6}
    assert sum(c.feedback.values()) == 6
    found = collected(rt)
    assert cells(table(found, "referrals_services"))["Progetto Giovani"][0] == "6"
    useful = cells(table(found, "feedback_useful"))
    # 1, 2 are 0; 3 is 1 (hidden), and its complement in the row (4: three) hidden too
    assert useful["Ascolto"] == ["0", "0", "<5", "<5", "<5", "6", "4,2"]


# suppression ---------------------------------------------------------------------------------


def test_counts_under_five_are_hidden_but_zero_is_shown() -> None:
    assert hidden_cells([[0], [4], [5], [1]]) == {(1, 0), (3, 0)}


def test_a_single_hidden_count_in_a_column_with_a_total_hides_the_next_smallest() -> None:
    # 10 + 3 + 20 = 33: with 3 alone hidden it would be 33 - 10 - 20
    assert hidden_cells([[10], [3], [20], [33]], total_row=True) == {(1, 0), (0, 0)}


def test_complements_are_hidden_across_rows_and_columns_until_none_is_alone() -> None:
    grid = [[10, 2, 12], [30, 40, 70], [40, 42, 82]]  # last row and column: totals
    hidden = hidden_cells(grid, total_row=True, total_col=True)
    assert hidden == {(0, 0), (0, 1), (1, 0), (1, 1)}
    for i in range(3):  # no row or column is left with a single hidden cell
        assert sum((i, j) in hidden for j in range(3)) != 1
        assert sum((j, i) in hidden for j in range(3)) != 1


def test_the_total_is_hidden_when_nothing_else_can_be() -> None:
    assert hidden_cells([[3], [3]], total_row=True) == {(0, 0), (1, 0)}
    assert hidden_cells([[7], [2], [9]], total_row=True) == {(0, 0), (1, 0)}
    assert hidden_cells([[2], [0], [2]], total_row=True) == {(0, 0), (2, 0)}


def test_tables_hide_small_counts_their_complements_and_derived_figures(rt: Runtime) -> None:
    day = at("2026-11-12 16:00")
    add(
        rt,
        *many(20, opened_at=day, channel="whatsapp"),
        *many(3, opened_at=day, channel="email"),
        *many(12, opened_at=at("2026-10-12 16:00"), channel="whatsapp"),
    )
    channels = cells(table(collected(rt), "channels"))
    assert channels["E-mail"] == ["<5", "0", "—"]
    assert channels["WhatsApp"] == ["<5", "12", "—"]  # else 23 - 20 gives the 3 away
    assert channels["Totale"] == ["23", "12", "+11 (+92%)"]


def test_nothing_shown_can_be_worked_back_to_a_hidden_count(rt: Runtime) -> None:
    """Every column of every table: a hidden cell never stands alone."""
    day = at("2026-11-12 16:00")
    add(
        rt,
        *many(17, opened_at=day, outcome="ascolto", topics=["famiglia"], zone="cesena"),
        *many(2, opened_at=day, outcome="orientamento", topics=["scuola"], zone="costa"),
        *many(6, opened_at=day, outcome="informazioni", age_band="18_21"),
    )
    for t in collected(rt).tables():
        counts = [i for i, h in enumerate(t.header) if h in ("Periodo", "Precedente")]
        for j in counts:
            column = [row[j] for row in t.rows]
            assert sum(c.hidden for c in column) != 1, (t.key, j)


# periods, time zone, summer time --------------------------------------------------------------


def test_a_month_runs_from_local_midnight_to_local_midnight() -> None:
    october = period.month("2026-10", ROME)  # summer time ends on 25 October
    assert october.since == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert october.until == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert (october.until - october.since) == timedelta(days=31, hours=1)
    march = period.month("2026-03", ROME)  # summer time starts on 29 March
    assert march.until == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert march.previous() == period.month("2026-02", ROME)
    assert period.month("2026-01", ROME).previous().label == "dicembre 2025"


def test_conversations_near_midnight_fall_in_their_local_month(rt: Runtime) -> None:
    add(
        rt,
        {"opened_at": datetime(2026, 10, 31, 23, 30, tzinfo=UTC)},  # 1 Nov 00:30 in Rome
        {"opened_at": datetime(2026, 10, 31, 22, 30, tzinfo=UTC)},  # 31 Oct 23:30
        {"opened_at": datetime(2026, 3, 31, 22, 30, tzinfo=UTC)},  # 1 Apr 00:30 (summer time)
        {"opened_at": datetime(2026, 3, 31, 21, 30, tzinfo=UTC)},
    )  # 31 Mar 23:30
    assert counted(rt, period.month("2026-11", ROME)).conversations == 1
    assert counted(rt, period.month("2026-10", ROME)).conversations == 1
    assert counted(rt, period.month("2026-04", ROME)).conversations == 1
    assert counted(rt, period.month("2026-03", ROME)).conversations == 1


def test_hours_are_local_on_both_sides_of_the_change_of_time(rt: Runtime) -> None:
    add(
        rt,
        *many(5, opened_at=datetime(2026, 10, 24, 14, 0, tzinfo=UTC)),  # Sat, 16:00 CEST
        *many(5, opened_at=datetime(2026, 10, 26, 14, 0, tzinfo=UTC)),
    )  # Mon, 15:00 CET
    heat = cells(table(collected(rt, period.month("2026-10", ROME)), "weekday_hour"))
    assert heat["sabato"][16] == "5" and heat["lunedì"][15] == "5"


def test_a_range_of_days_and_the_period_before_it() -> None:
    chosen = period.days("2026-11-03", "2026-11-16", ROME)
    assert chosen.days == 14 and chosen.label == "03/11/2026 – 16/11/2026"
    assert chosen.previous() == period.Period(date(2026, 10, 20), date(2026, 11, 3), ROME)
    assert chosen.months() == []
    assert period.days("2026-10-01", "2026-11-30", ROME).months() == ["2026-10", "2026-11"]
    with pytest.raises(period.PeriodError):
        period.days("2026-11-16", "2026-11-03", ROME)
    with pytest.raises(period.PeriodError):
        period.month("2026-13", ROME)


def test_the_default_is_the_last_full_month_in_rome() -> None:
    # 1 December 00:30 in Rome is still 30 November in UTC
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert period.last_full_month(now, ROME) == NOVEMBER
