"""Realistic synthetic history for a first look, the screenshots and the benchmarks.

`sos-bot demo-data --conversations N` spreads N closed conversations over the last twelve
months, with the shapes a listening line sees: evenings and weekdays busier, school topics in
term time, a few crises, waits longer out of hours, referrals, feedback, triage corrections.
Rows go in with bulk inserts. Nothing in them is personal: the few contacts are "demo-N"
addresses. It refuses a database that holds real conversations.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, func, select

from bot.db import table
from bot.models import (
    AppSetting,
    Contact,
    Conversation,
    Feedback,
    Operator,
    Referral,
    Service,
    TriageCorrection,
    new_id,
    utcnow,
)
from bot.stats.counts import FEEDBACK_ONLY
from bot.stats.period import month_of
from flows.hours import OpeningHours

MARKER = "demo_data"  # an AppSetting: this database holds demo conversations only
BATCH = 2000
LISTENERS = 8
DAYS = 365

TOPICS = {
    "famiglia": 16,
    "scuola": 14,
    "ansia": 13,
    "amicizie": 9,
    "relazioni": 9,
    "umore": 9,
    "solitudine": 7,
    "bullismo": 5,
    "digitale": 4,
    "identita": 3,
    "alimentazione": 3,
    "sostanze": 3,
    "futuro": 3,
    "violenza": 2,
    "sessualita": 2,
    "autolesionismo": 2,
    "altro": 4,
}
CRISIS = {
    "suicide": 30,
    "self_harm": 25,
    "despair": 15,
    "abuse": 12,
    "danger": 8,
    "sexual_violence": 4,
    "sextortion": 3,
    "eating": 2,
    "overdose": 1,
}
OUTCOMES = {
    "ascolto": 50,
    "orientamento": 18,
    "informazioni": 12,
    "nessuna-risposta": 14,
    "non-pertinente": 6,
}
AGES = {"under_14": 4, "14_17": 38, "18_21": 30, "22_25": 12, "over_25": 3, "not_stated": 13}
ZONES = {"cesena": 40, "valle-savio": 18, "cesenatico": 10, "altro": 7, "not_stated": 25}
HOURS = [
    1,
    1,
    0.5,
    0.3,
    0.2,
    0.2,
    0.4,
    1,
    2,
    2,
    2.5,
    3,
    3.5,
    4,
    5,
    6,
    7,
    7,
    6.5,
    6,
    6.5,
    6,
    4.5,
    2.5,
]
WEEKDAYS = [1.1, 1.1, 1.05, 1.0, 0.9, 0.8, 0.95]


class DemoError(Exception):
    """Demo data cannot be added here; the message says why."""


@dataclass(frozen=True)
class Added:
    conversations: int
    contacts: int
    referrals: int
    feedback: int
    corrections: int


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def check(session: Session) -> None:
    """Refuse a database with conversations that are not demo data."""
    held = session.exec(select(func.count()).select_from(Conversation)).one()
    if held and session.get(AppSetting, MARKER) is None:
        raise DemoError(
            f"this database holds {held} real conversations: demo data goes only "
            "into an empty database (or one that holds demo data alone)"
        )


def _listeners(session: Session) -> list[str]:
    found = list(session.exec(select(Operator.id).where(Operator.username.startswith("demo-"))))
    if found:
        return found
    rows = [
        {
            "id": new_id(),
            "username": f"demo-volontario-{i}",
            "password_hash": "!",
            "role": "listener",
            "display_name": f"Volontario demo {i}",
            "active": False,
            "created_at": utcnow(),
            "alert_phone": "",
            "alert_email": "",
            "rota": "",
        }
        for i in range(1, LISTENERS + 1)
    ]
    session.execute(insert(table(Operator)), rows)
    return [str(r["id"]) for r in rows]


def _services(session: Session, pack_services: Sequence[tuple[str, str]]) -> list[str]:
    found = list(session.exec(select(Service.id)))
    if found:
        return found
    now = utcnow()
    rows = [
        {
            "id": sid,
            "name": name,
            "about_it": "",
            "about_en": "",
            "topics": [],
            "zones": [],
            "languages": [],
            "phone": "",
            "email": "",
            "address": "",
            "web": "",
            "hours": "",
            "network": True,
            "active": True,
            "position": i,
            "checked_by": "",
            "created_at": now,
            "updated_at": now,
        }
        for i, (sid, name) in enumerate(pack_services)
    ]
    if rows:
        session.execute(insert(table(Service)), rows)
    return [str(r["id"]) for r in rows]


def _moment(rng: random.Random, now: datetime, zone: ZoneInfo) -> datetime:
    """A moment of the last year, busier in the evening and on weekdays, growing over time."""
    while True:
        day = (now - timedelta(days=DAYS * rng.random() ** 1.25)).astimezone(zone)
        if rng.random() < WEEKDAYS[day.weekday()] / 1.1:
            break
    hour = rng.choices(range(24), weights=HOURS)[0]
    local = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
    return local.astimezone(now.tzinfo)


def _topics(rng: random.Random, at: datetime) -> list[str]:
    weights: dict[str, float] = dict(TOPICS)
    if at.month in (7, 8):  # no school in summer
        weights["scuola"] = 3
    if at.month in (1, 5, 6):  # exams
        weights["ansia"] = 20
    first = _pick(rng, weights)
    if rng.random() < 0.35:
        second = _pick(rng, weights)
        return [first] if second == first else [first, second]
    return [first]


def _wait(rng: random.Random, at: datetime, hours: OpeningHours, crisis: bool) -> timedelta:
    """Minutes to a listener's first reply: short in opening hours, until they open otherwise."""
    if hours.is_open(at) or rng.random() < 0.3:
        minutes = rng.lognormvariate(math.log(2.5 if crisis else 7), 0.8)
        return timedelta(minutes=minutes)
    opening = hours.next_opening(at) or at + timedelta(hours=12)
    return opening - at + timedelta(minutes=rng.lognormvariate(math.log(10), 0.6))


def fill(
    session: Session,
    *,
    conversations: int,
    now: datetime,
    hours: OpeningHours,
    retention_days: int,
    services: Sequence[tuple[str, str]] = (),
    seed: int = 7,
) -> Added:
    """Add `conversations` closed demo conversations over the last year, and what goes with them."""
    check(session)
    rng = random.Random(seed)
    zone = ZoneInfo(hours.timezone)
    listeners = _listeners(session)
    service_ids = _services(session, services)
    keep_after = now - timedelta(days=retention_days)
    pools: dict[str, list[str]] = {"whatsapp": [], "email": []}
    contacts: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    referrals: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    fixes: list[dict[str, Any]] = []
    for _ in range(conversations):
        row, contact = _conversation(rng, now, zone, hours, listeners, keep_after, pools)
        if contact is not None:
            contacts.append(contact)
        rows.append(row)
        _extras(rng, row, service_ids, referrals, feedback, fixes, zone)
    for chunk in range(0, len(contacts), BATCH):
        session.execute(insert(table(Contact)), contacts[chunk : chunk + BATCH])
    for chunk in range(0, len(rows), BATCH):
        session.execute(insert(table(Conversation)), rows[chunk : chunk + BATCH])
    for model, found in ((Referral, referrals), (Feedback, feedback), (TriageCorrection, fixes)):
        for chunk in range(0, len(found), BATCH):
            session.execute(insert(table(model)), found[chunk : chunk + BATCH])
    if session.get(AppSetting, MARKER) is None:
        session.add(AppSetting(key=MARKER, value="1"))
    return Added(len(rows), len(contacts), len(referrals), len(feedback), len(fixes))


def _conversation(
    rng: random.Random,
    now: datetime,
    zone: ZoneInfo,
    hours: OpeningHours,
    listeners: list[str],
    keep_after: datetime,
    pools: dict[str, list[str]],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    opened = _moment(rng, now, zone)
    channel = "whatsapp" if rng.random() < 0.8 else "email"
    contact: dict[str, Any] | None = None
    contact_id = None
    returning = rng.random() < 0.3
    if opened >= keep_after:  # still within retention: a contact, sometimes one seen before
        pool = pools[channel]
        if pool and returning:
            contact_id = rng.choice(pool)
        else:
            contact_id = new_id()
            pool.append(contact_id)
            contact = {
                "id": contact_id,
                "channel": channel,
                "address": f"demo-{contact_id}",
                "pseudonym": f"Demo {len(pool)}",
                "created_at": opened,
                "consent_at": opened,
            }
    row: dict[str, Any] = {
        "id": new_id(),
        "contact_id": contact_id,
        "channel": channel,
        "status": "closed",
        "priority": None,
        "priority_rank": 0,
        "escalation_reason": None,
        "out_of_hours": not hours.is_open(opened),
        "flow_state": {},
        "channel_data": {"demo": True},
        "listener_id": None,
        "opened_at": opened,
        "escalated_at": None,
        "claimed_at": None,
        "closed_at": None,
        "last_activity_at": opened,
        "outcome": None,
        "topics": [],
        "crisis_at": None,
        "crisis_reply_at": None,
        "first_reply_at": None,
        "age_band": "not_stated",
        "zone": "not_stated",
        "returning_contact": rng.choice((returning, returning, None)),
    }
    crisis = rng.random() < 0.03
    if not crisis and rng.random() < 0.4:  # the bot alone: FAQ, services, no answer
        row["outcome"] = rng.choice(("bot:no_response", "bot:no_response", "stopped"))
        row["closed_at"] = opened + timedelta(minutes=rng.randint(30, 90))
        return row, contact
    escalated = opened + timedelta(seconds=rng.randint(5, 240))
    row.update(
        escalated_at=escalated,
        out_of_hours=not hours.is_open(escalated),
        priority="crisis" if crisis else rng.choice(("high", "high", "normal")),
    )
    row["priority_rank"] = {"crisis": 3, "high": 2, "normal": 1}[row["priority"]]
    row["escalation_reason"] = (
        f"crisis:{_pick(rng, CRISIS)}"
        if crisis
        else rng.choice(
            ("personal:family", "personal:school", "asked_for_person", "personal:distress")
        )
    )
    if crisis:
        row["crisis_at"] = escalated
    if not crisis and rng.random() < 0.08:  # left before a listener answered
        row["outcome"] = rng.choice(("bot:no_response", "stopped"))
        row["closed_at"] = escalated + timedelta(minutes=rng.randint(5, 120))
        return row, contact
    reply = escalated + _wait(rng, escalated, hours, crisis)
    row.update(
        first_reply_at=reply,
        claimed_at=reply - timedelta(seconds=rng.randint(10, 90)),
        listener_id=rng.choice(listeners),
        closed_at=reply + timedelta(minutes=rng.lognormvariate(math.log(25), 0.7)),
    )
    if crisis:
        row["crisis_reply_at"] = reply
    row["last_activity_at"] = row["closed_at"]
    row["outcome"] = (
        "emergenza"
        if crisis and rng.random() < 0.4
        else "ascolto"
        if crisis
        else _pick(rng, OUTCOMES)
    )
    topics = _topics(rng, opened.astimezone(zone))
    if crisis:
        topics = [
            {
                "suicide": "suicidio",
                "self_harm": "autolesionismo",
                "abuse": "violenza",
                "sexual_violence": "violenza",
            }.get(row["escalation_reason"][7:], "umore"),
            *topics[:1],
        ]
    row["topics"] = list(dict.fromkeys(topics))
    row["age_band"] = _pick(rng, AGES)
    row["zone"] = _pick(rng, ZONES)
    return row, contact


def _extras(
    rng: random.Random,
    row: dict[str, Any],
    services: list[str],
    referrals: list[dict[str, Any]],
    feedback: list[dict[str, Any]],
    fixes: list[dict[str, Any]],
    zone: ZoneInfo,
) -> None:
    """Referrals, the feedback answer and a triage correction that go with a conversation."""
    closed = row["closed_at"]
    if services and (row["outcome"] == "orientamento" or rng.random() < 0.05):
        referrals.append(
            {
                "service_id": rng.choice(services),
                "conversation_id": row["id"] if row["contact_id"] else None,
                "channel": row["channel"],
                "by": "listener" if row["listener_id"] else "bot",
                "topic": row["topics"][0] if row["topics"] else None,
                "at": closed or row["opened_at"],
            }
        )
    if (
        row["listener_id"]
        and row["outcome"] not in ("emergenza", FEEDBACK_ONLY)
        and not row["crisis_at"]
        and rng.random() < 0.3
    ):
        score = rng.choices(range(1, 6), weights=(3, 4, 12, 35, 46))[0]
        again = rng.random() < (0.9 if score >= 4 else 0.5) if rng.random() < 0.8 else None
        feedback.append(
            {
                "month": month_of(closed, zone),
                "outcome": row["outcome"],
                "score": score,
                "again": again,
            }
        )
    if rng.random() < 0.012:
        category = rng.choice(
            ("should_be_listener", "should_be_listener", "not_crisis", "should_be_crisis")
        )
        fixes.append(
            {
                "created_at": closed or row["opened_at"],
                "category": category,
                "reading": "bot" if category != "not_crisis" else "crisis:danger",
            }
        )
