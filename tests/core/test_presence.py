"""Who is on shift decides what the bot tells a young person, counted at receive time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot import conversations, figures, presence, privacy
from bot.db import read_session, write_session
from bot.inbox import receive
from bot.models import AuditEvent, Conversation, Message, Operator
from bot.runtime import Runtime
from operators import replies
from tests.conftest import make_settings
from tests.core.helpers import conversation
from tests.dashboard.conftest import add_operator, waiting, young

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday, 16:00 in Rome
CRISIS = "non ce la faccio più, voglio morire"
NOBODY = "nessun volontario è collegato"


def on_shift(rt: Runtime, operator: Operator, *, since: datetime, seen: datetime) -> None:
    with write_session(rt.db) as session:
        found = session.get(Operator, operator.id)
        assert found is not None
        presence.start_shift(session, found, since)
        found.last_seen_at = seen


def claim(rt: Runtime, conversation_id: str, operator: Operator, at: datetime) -> None:
    with write_session(rt.db) as session:
        conversations.claim(session, conversation_id, operator, 10, at)


def reply_text(rt: Runtime, text: str, at: datetime, address: str) -> str:
    """The bot's answers to a young person's first message (with the privacy notice)."""
    receipt = receive(rt, young(text, address=address), now=at)
    assert receipt.replies
    with read_session(rt.db) as session:
        found = [session.get(Message, message_id) for message_id in receipt.replies]
        return "\n\n".join(m.body for m in found if m is not None)


def test_a_crisis_in_opening_hours_with_nobody_on_shift_gets_the_numbers_and_no_promise(
    rt: Runtime,
) -> None:
    body = reply_text(rt, CRISIS, T0, "whatsapp:+393330000001")
    assert NOBODY in body and "*112*" in body and "*19696*" in body
    assert "ti scrive qui il prima possibile" not in body


def test_a_listener_on_shift_with_room_gets_the_usual_crisis_answer(rt: Runtime) -> None:
    anna = add_operator(rt, "anna")
    on_shift(rt, anna, since=T0 - timedelta(hours=1), seen=T0 - timedelta(minutes=2))
    body = reply_text(rt, CRISIS, T0, "whatsapp:+393330000002")
    assert NOBODY not in body and "ti scrive qui il prima possibile" in body
    assert "coda al posto" not in body


def test_a_listener_idle_past_the_limit_is_not_counted(rt: Runtime) -> None:
    anna = add_operator(rt, "anna")
    idle = timedelta(minutes=rt.settings.dashboard.shift_idle_minutes)
    on_shift(rt, anna, since=T0 - timedelta(hours=2), seen=T0 - idle - timedelta(seconds=1))
    assert NOBODY in reply_text(rt, CRISIS, T0, "whatsapp:+393330000003")


def test_out_of_hours_nobody_on_shift_says_when_they_are_back(database_url: str) -> None:
    rt = Runtime.create(make_settings(database_url, SOS_SERVICE_HOURS="mon-fri 15:00-20:00"))
    night = datetime(2025, 3, 3, 22, 0, tzinfo=UTC)  # Monday 23:00 in Rome
    body = reply_text(rt, CRISIS, night, "whatsapp:+393330000004")
    assert "tornano domani alle 15:00" in body and NOBODY not in body
    anna = add_operator(rt, "anna")
    on_shift(rt, anna, since=night, seen=night)  # an extra evening: someone is there
    body = reply_text(
        rt,
        "voglio parlare con un operatore",
        night + timedelta(minutes=1),
        "whatsapp:+393330000005",
    )
    assert "tornano" not in body and "Ti passo a un volontario" in body
    rt.db.dispose()


def _history(rt: Runtime, listener: Operator) -> None:
    """Three conversations handled in 20, 30 and 40 minutes, one long ago that no longer counts."""
    for i, (minutes, closed) in enumerate(
        [
            (20, T0 - timedelta(days=1)),
            (40, T0 - timedelta(days=2)),
            (30, T0 - timedelta(days=29)),
            (500, T0 - timedelta(days=31)),
        ]
    ):
        claimed = closed - timedelta(minutes=minutes)
        cid = waiting(rt, at=claimed - timedelta(minutes=1), address=f"whatsapp:+39335000{i:04d}")
        claim(rt, cid, listener, claimed)
        with write_session(rt.db) as session:
            conversations.close_by(session, cid, listener, "listened", [], closed)


def test_everyone_busy_gives_the_place_and_an_estimate_from_recent_handling_times(
    rt: Runtime,
) -> None:
    anna = add_operator(rt, "anna", capacity=1)
    _history(rt, anna)
    with read_session(rt.db) as session:
        assert presence.handling_minutes(session, T0) == 30  # the median; 31 days ago is out
        # with a clock a week later, the 29-day-old one drops out too
        assert presence.handling_minutes(session, T0 + timedelta(days=7)) == 30
        assert presence.handling_minutes(session, T0 + timedelta(days=30)) is None
    held = waiting(rt, at=T0 - timedelta(minutes=30), address="whatsapp:+393360000001")
    claim(rt, held, anna, T0 - timedelta(minutes=25))
    waiting(rt, at=T0 - timedelta(minutes=20), address="whatsapp:+393360000002")
    waiting(rt, at=T0 - timedelta(minutes=10), address="whatsapp:+393360000003", priority="high")
    on_shift(rt, anna, since=T0 - timedelta(hours=1), seen=T0)
    with read_session(rt.db) as session:
        snap = presence.snapshot(session, rt.settings, T0)
    assert (snap.on_shift, snap.free) == (1, 0)
    assert snap.ahead == {"crisis": 0, "high": 1, "normal": 2}
    assert snap.minutes_per_place == 30  # one conversation held: a place every 30 minutes
    body = reply_text(rt, "voglio parlare con un operatore", T0, "whatsapp:+393360000004")
    assert "sei in coda al posto n. 3, tocca a te tra circa 90 minuti ⏳" in body
    body = reply_text(rt, CRISIS, T0, "whatsapp:+393360000005")
    assert "sei in coda al posto n. 1, tocca a te tra circa 30 minuti" in body


def test_a_waiting_conversation_keeps_its_place(rt: Runtime) -> None:
    first = waiting(rt, at=T0 - timedelta(minutes=20), address="whatsapp:+393370000001")
    second = waiting(rt, at=T0 - timedelta(minutes=10), address="whatsapp:+393370000002")
    waiting(rt, at=T0 - timedelta(minutes=5), address="whatsapp:+393370000003")
    with read_session(rt.db) as session:
        assert presence._ahead(session, conversation(rt, first))["normal"] == 0
        assert presence._ahead(session, conversation(rt, second))["normal"] == 1
        assert presence._ahead(session, None)["normal"] == 3


def test_idle_shifts_end_with_a_controlled_clock(rt: Runtime) -> None:
    anna, bruno = add_operator(rt, "anna"), add_operator(rt, "bruno")
    on_shift(rt, anna, since=T0, seen=T0)
    on_shift(rt, bruno, since=T0, seen=T0 + timedelta(minutes=20))
    idle = timedelta(minutes=rt.settings.dashboard.shift_idle_minutes)
    with write_session(rt.db) as session:
        assert presence.end_idle_shifts(session, rt.settings, T0 + idle) == 0
    with write_session(rt.db) as session:
        assert presence.end_idle_shifts(session, rt.settings, T0 + idle + timedelta(seconds=1)) == 1
    with read_session(rt.db) as session:
        people = {o.username: o for o in session.exec(select(Operator))}
        ended = list(session.exec(select(AuditEvent).where(AuditEvent.action == "shift_ended")))
    assert people["anna"].on_shift_since is None
    assert people["bruno"].on_shift_since is not None
    assert [(e.operator_id, e.detail["reason"]) for e in ended] == [(anna.id, "idle")]


def test_first_replies_are_stored_and_kept_when_the_conversation_is_anonymised(rt: Runtime) -> None:
    anna = add_operator(rt, "anna")
    receipt = receive(rt, young(CRISIS, address="whatsapp:+393380000001"), now=T0)
    claim(rt, receipt.conversation_id or "", anna, T0 + timedelta(minutes=3))
    with write_session(rt.db) as session:
        found = session.get(Conversation, receipt.conversation_id)
        assert found is not None
        replies.reply(session, found, anna, "Ciao, sono qui.", T0 + timedelta(minutes=4))
        replies.reply(session, found, anna, "Ci sei?", T0 + timedelta(minutes=9))
    stored = conversation(rt, receipt.conversation_id)
    assert figures._wait(stored.crisis_at, stored.crisis_reply_at) == 4
    assert figures._wait(stored.escalated_at, stored.first_reply_at) == 4
    with write_session(rt.db) as session:
        conversations.close_by(session, stored.id, anna, "listened", [], T0 + timedelta(minutes=30))
    with write_session(rt.db) as session:
        assert privacy.purge(session, T0 + timedelta(days=400), 180) == 1
    kept = conversation(rt, receipt.conversation_id)
    assert kept.contact_id is None
    assert figures._wait(kept.crisis_at, kept.crisis_reply_at) == 4
    assert figures._wait(kept.escalated_at, kept.first_reply_at) == 4
    with read_session(rt.db) as session:
        assert session.exec(
            select(Conversation).where(col(Conversation.first_reply_at).is_not(None))
        ).all()
