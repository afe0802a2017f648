"""Alerts to coordinators outside the dashboard: a crisis nobody answered, a call for support.

Who: the coordinators on call by their weekly rota (in service.timezone); when nobody's rota
covers the moment, every coordinator inside the opening hours and nobody outside them (the
alert goes out once someone is reachable). The second call, a period later, goes to every
coordinator inside the opening hours, and to the ones on call again outside them.
How: SMS or WhatsApp (the account's alert phone) and e-mail (its alert e-mail), as outbox
rows of kind "alert" that the worker delivers and retries like every message. What: the
pseudonym, the category, the waiting time and a link to the alert's page in the dashboard;
never the message text nor the young person's number or address.

Every alert is in the audit log ("alert_sent"), and so is who acknowledged it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from bot import activity, audit, presence
from bot.conversations import ACTIVE
from bot.db import read_session, write_session
from bot.models import Alert, Contact, Conversation, Message, Operator, new_id, utcnow
from bot.reasons import reason
from bot.runtime import Runtime
from flows.hours import HoursError, OpeningHours

log = logging.getLogger(__name__)

UNANSWERED = "unanswered"
SUPPORT = "support"
KIND = "alert"  # Message.kind of the outbox rows that carry an alert
_UNANSWERED_CRISES = select(Conversation.id).where(
    col(Conversation.crisis_at).is_not(None),
    col(Conversation.crisis_reply_at).is_(None),
    col(Conversation.status).in_(ACTIVE),
)


def rota(operator: Operator, timezone: str) -> OpeningHours | None:
    """The coordinator's on-call week (None if not set or unreadable)."""
    if not operator.rota.strip():
        return None
    try:
        return OpeningHours.parse(operator.rota, timezone)
    except HoursError:
        return None


def coordinators(session: Session) -> list[Operator]:
    query = select(Operator).where(Operator.role == "coordinator", col(Operator.active).is_(True))
    return list(session.exec(query.order_by(col(Operator.username))))


def on_call(session: Session, rt: Runtime, now: datetime) -> list[Operator]:
    """The coordinators whose rota covers this moment."""
    zone = rt.settings.service.timezone
    found = []
    for person in coordinators(session):
        week = rota(person, zone)
        if week is not None and week.is_open(now):
            found.append(person)
    return found


def recipients(session: Session, rt: Runtime, now: datetime, *, level: int) -> list[Operator]:
    """Who this alert calls (see the module's docstring)."""
    found = on_call(session, rt, now)
    if (not found or level > 1) and rt.hours.is_open(now):
        return coordinators(session)
    return found


def addresses(operator: Operator) -> list[tuple[str, str]]:
    """(channel, address) pairs an alert reaches the person on."""
    found = []
    phone = operator.alert_phone.strip()
    if phone:
        found.append(("whatsapp" if phone.startswith("whatsapp:") else "sms", phone))
    if operator.alert_email.strip():
        found.append(("email", operator.alert_email.strip()))
    return found


def link(rt: Runtime, alert_id: str) -> str:
    server = rt.settings.server
    base = server.public_url.rstrip("/") or f"http://{server.host}:{server.port}"
    return f"{base}/alerts/{alert_id}"


def text(
    rt: Runtime, alert: Alert, pseudonym: str, waited: timedelta, requester: str | None
) -> str:
    """What the coordinator's phone shows: no message text, no number or address."""
    minutes = max(0, int(waited.total_seconds() // 60))
    name = rt.settings.service.name
    category = reason(alert.category) or "non indicata"
    if alert.kind == SUPPORT:
        head = f"{name}: {requester or 'un volontario'} chiede supporto in una conversazione."
    else:
        again = " (2° avviso)" if alert.level > 1 else ""
        head = f"{name}: ALLERTA{again}, crisi senza risposta da {minutes} min."
    return f"{head}\nPersona: {pseudonym} · {category}\nApri: {link(rt, alert.id)}"


def raise_alert(
    rt: Runtime,
    session: Session,
    conversation: Conversation,
    *,
    kind: str,
    level: int,
    episode_at: datetime,
    now: datetime,
    requested_by: Operator | None = None,
) -> Alert | None:
    """Record an alert and queue it for whoever it calls (None: a crisis with nobody to call
    now, tried again later).

    A support request reaches by phone or e-mail only the coordinators with no dashboard open;
    an unanswered crisis reaches every one of them outside the dashboard. A support request is
    recorded even with nobody to call: the open dashboards still hear it.
    """
    people = recipients(session, rt, now, level=level)
    if not people and kind != SUPPORT:
        return None
    alert = Alert(
        conversation_id=conversation.id,
        kind=kind,
        level=level,
        episode_at=episode_at,
        created_at=now,
        requested_by=requested_by.id if requested_by else None,
        category=conversation.escalation_reason or "",
    )
    contact = session.get(Contact, conversation.contact_id) if conversation.contact_id else None
    pseudonym = contact.pseudonym if contact else "anonimo"
    requester = (requested_by.display_name or requested_by.username) if requested_by else None
    body = text(rt, alert, pseudonym, now - episode_at, requester)
    outside = [
        p for p in people if kind != SUPPORT or not presence.on_dashboard(p, rt.settings, now)
    ]
    for person in outside:
        for channel, address in addresses(person):
            session.add(
                Message(
                    id=new_id(),
                    conversation_id=conversation.id,
                    channel=channel,
                    direction="out",
                    author="system",
                    operator_id=person.id,
                    body=body,
                    kind=KIND,
                    status="queued",
                    next_attempt_at=now,
                    created_at=now,
                    meta={"alert": alert.id, "to": address},
                )
            )
    alert.notified = [p.id for p in outside if addresses(p)]
    session.add(alert)
    audit.record(
        session,
        "alert_sent",
        conversation_id=conversation.id,
        alert=alert.id,
        kind=kind,
        level=level,
        called=[p.id for p in people],
        notified=alert.notified,
    )
    activity.publish(
        session, "alert" if kind == UNANSWERED else SUPPORT, conversation.id, conversation.priority
    )
    if not alert.notified:
        log.warning(
            "alert %s: no coordinator called has an alert phone or e-mail (or all have "
            "the dashboard open)",
            alert.id,
        )
    return alert


def due_level(waited: timedelta, after: timedelta, again: timedelta) -> int:
    """0 before the first period, 1 after it, 2 after the second."""
    if waited < after:
        return 0
    return 2 if waited >= after + again else 1


def check(rt: Runtime, now: datetime | None = None) -> int:
    """Alert about every crisis no listener has answered in time (one alert per period)."""
    now = now or utcnow()
    cfg = rt.settings.safety
    after = timedelta(minutes=cfg.alert_after_minutes)
    again = timedelta(minutes=cfg.alert_again_minutes)
    with read_session(rt.db) as session:
        ids = list(session.exec(_UNANSWERED_CRISES))
    raised = 0
    for conversation_id in ids:
        with write_session(rt.db) as session:
            conversation = session.exec(
                select(Conversation).where(Conversation.id == conversation_id).with_for_update()
            ).first()
            if (
                conversation is None
                or conversation.crisis_at is None
                or conversation.crisis_reply_at is not None
                or conversation.status not in ACTIVE
            ):
                continue  # answered, closed or handed back meanwhile
            episode = conversation.crisis_at
            level = due_level(now - episode, after, again)
            if level == 0:
                continue
            sent = session.exec(
                select(func.max(Alert.level)).where(  # crisis_at is set once
                    Alert.conversation_id == conversation.id, Alert.kind == UNANSWERED
                )
            ).one()
            if sent is not None and sent >= level:
                continue
            if (
                raise_alert(
                    rt,
                    session,
                    conversation,
                    kind=UNANSWERED,
                    level=level,
                    episode_at=episode,
                    now=now,
                )
                is not None
            ):
                raised += 1
    if raised:
        rt.wake_outbox()
    return raised


def request_support(
    rt: Runtime, session: Session, conversation: Conversation, listener: Operator, now: datetime
) -> Alert:
    """A listener asks for a coordinator's support: the dashboards ring, absent ones are called.

    Nobody on call outside the opening hours: the request still reaches open dashboards.
    """
    alert = raise_alert(
        rt,
        session,
        conversation,
        kind=SUPPORT,
        level=1,
        episode_at=now,
        now=now,
        requested_by=listener,
    )
    assert alert is not None  # a support request is always recorded
    audit.record(
        session,
        "support_requested",
        operator_id=listener.id,
        conversation_id=conversation.id,
        alert=alert.id,
    )
    return alert


def acknowledge(session: Session, alert: Alert, operator: Operator, now: datetime) -> bool:
    """A coordinator takes the alert in hand (False: someone did already)."""
    if alert.acknowledged_at is not None:
        return False
    alert.acknowledged_at = now
    alert.acknowledged_by = operator.id
    session.add(alert)
    audit.record(
        session,
        "alert_acknowledged",
        operator_id=operator.id,
        conversation_id=alert.conversation_id,
        alert=alert.id,
        kind=alert.kind,
        level=alert.level,
    )
    activity.publish(session, "acknowledged", alert.conversation_id)
    return True


def addressee(message: Message) -> tuple[Contact, Conversation]:
    """Stand-ins for a channel sender: the coordinator's address, a thread of its own.

    Not stored. The WhatsApp window is the coordinator's own business with Twilio: marked open
    here, so Twilio decides (SMS has no window; docs/dashboard.md says which to choose).
    """
    address = str(message.meta.get("to") or "")
    contact = Contact(channel=message.channel, address=address, pseudonym="")
    conversation = Conversation(
        id=message.conversation_id,
        channel=message.channel,
        channel_data={},
        last_inbound_at=utcnow(),
    )
    return contact, conversation
