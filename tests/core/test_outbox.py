"""The outbox: split, claim once, deliver, retry with backoff, fail clearly, never go backwards."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from bot import outbox
from bot.channels.base import PermanentFailure, Sent, TemporaryFailure
from bot.db import write_session
from bot.inbox import receive
from bot.models import Contact, Conversation, Message, utcnow
from bot.runtime import Runtime
from bot.worker import Worker, deliver, deliver_due
from tests.core.helpers import inbound, outbound, rows


@dataclass
class FakeChannel:
    """A channel whose provider answers as each test says (the real ones have their own suites)."""

    channel: str = "whatsapp"
    script: list[Exception | None] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def send(self, message: Message, contact: Contact, conversation: Conversation) -> Sent:
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.sent.append(message.body)
        return Sent(external_id=f"SM-{message.id}")


def test_split_body_at_word_boundaries() -> None:
    text = " ".join(["parola"] * 600)  # 4,199 characters
    parts = outbox.split_body(text, 1600)
    assert all(len(p) <= 1600 for p in parts) and len(parts) == 3
    assert " ".join(parts) == text
    assert outbox.split_body("corto", 1600) == ["corto"]
    assert outbox.split_body("x" * 3500, 1600) == ["x" * 1600, "x" * 1600, "x" * 300]


def test_long_whatsapp_messages_are_queued_in_order(rt: Runtime) -> None:
    receipt = receive(rt, inbound("ciao"))
    with write_session(rt.db) as session:
        conv = session.get(Conversation, receipt.conversation_id)
        assert conv is not None
        parts = outbox.enqueue(session, conv, "ciao " * 700, author="listener")
    assert len(parts) == 3
    fake = FakeChannel()
    rt.senders["whatsapp"] = fake
    deliver_due(rt)
    assert fake.sent[-3:] == [p.body for p in parts]


def test_delivered_once_with_the_provider_id(rt: Runtime) -> None:
    fake = FakeChannel()
    rt.senders["whatsapp"] = fake
    receipt = receive(rt, inbound("ciao"))
    assert deliver_due(rt) == len(receipt.replies)
    assert deliver_due(rt) == 0
    assert len(fake.sent) == len(receipt.replies)
    for m in outbound(rt):
        assert m.status == "sent" and m.external_id == f"SM-{m.id}" and m.attempts == 1


def test_temporary_failure_is_retried_later_then_sent(rt: Runtime) -> None:
    fake = FakeChannel(script=[TemporaryFailure("HTTP 500")])
    rt.senders["whatsapp"] = fake
    receipt = receive(rt, inbound("ciao"))
    first = receipt.replies[0]
    assert deliver(rt, first) == "queued"
    row = rows(rt, Message, Message.id == first)[0]
    assert row.next_attempt_at is not None and row.next_attempt_at.replace(
        tzinfo=None
    ) > utcnow().replace(tzinfo=None)
    assert "HTTP 500" in (row.error_message or "")
    assert deliver(rt, first) is None  # not due yet: nobody may take it
    later = utcnow() + timedelta(minutes=5)
    assert deliver(rt, first, later) == "sent"
    assert rows(rt, Message, Message.id == first)[0].attempts == 2


def test_retry_after_is_respected(rt: Runtime) -> None:
    rt.senders["whatsapp"] = FakeChannel(script=[TemporaryFailure("429", retry_after=120)])
    first = receive(rt, inbound("ciao")).replies[0]
    deliver(rt, first)
    row = rows(rt, Message, Message.id == first)[0]
    wait = row.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert wait > timedelta(seconds=100)


def test_permanent_failure_is_final_and_explained(rt: Runtime) -> None:
    fake = FakeChannel(script=[PermanentFailure("numero non valido", code="21211")])
    rt.senders["whatsapp"] = fake
    first = receive(rt, inbound("ciao")).replies[0]
    assert deliver(rt, first) == "failed"
    row = rows(rt, Message, Message.id == first)[0]
    assert (row.status, row.error_code, row.error_message) == (
        "failed",
        "21211",
        "numero non valido",
    )
    assert deliver(rt, first, utcnow() + timedelta(days=1)) is None


def test_gives_up_after_max_attempts(rt: Runtime) -> None:
    rt.settings.worker.max_attempts = 2
    rt.senders["whatsapp"] = FakeChannel(script=[TemporaryFailure("down")] * 5)
    first = receive(rt, inbound("ciao")).replies[0]
    assert deliver(rt, first) == "queued"
    assert deliver(rt, first, utcnow() + timedelta(hours=1)) == "failed"
    assert rows(rt, Message, Message.id == first)[0].error_code == "gave_up"


def test_unexpected_error_keeps_the_message(rt: Runtime) -> None:
    rt.senders["whatsapp"] = FakeChannel(script=[RuntimeError("bug")])
    first = receive(rt, inbound("ciao")).replies[0]
    assert deliver(rt, first) == "queued"


def test_unconfigured_channel_waits_instead_of_dropping(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao")).replies[0]
    assert deliver(rt, first) == "queued"
    rt.senders["whatsapp"] = FakeChannel()
    assert deliver(rt, first, utcnow() + timedelta(hours=1)) == "sent"


def test_a_worker_that_died_while_sending_is_replaced_after_the_lease(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao")).replies[0]
    now = utcnow()
    with write_session(rt.db) as session:
        assert outbox.claim(session, first, now)  # a worker took it, then died
    rt.senders["whatsapp"] = fake = FakeChannel()
    assert deliver(rt, first, now + timedelta(seconds=10)) is None
    assert deliver(rt, first, now + outbox.LEASE + timedelta(seconds=1)) == "sent"
    assert len(fake.sent) == 1


def test_only_one_worker_claims_a_row(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao")).replies[0]
    now = utcnow()
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        with write_session(rt.db) as session:
            wins.append(outbox.claim(session, first, now))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(wins) == [False, False, False, True]


def test_delivery_state_only_moves_forward(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao")).replies[0]
    with write_session(rt.db) as session:
        m = session.get(Message, first)
        assert m is not None
        assert outbox.advance(session, m, "delivered")
        assert not outbox.advance(session, m, "sent")
        assert outbox.advance(session, m, "read")
        assert not outbox.advance(session, m, "failed")
        assert not outbox.advance(session, m, "queued")
    with write_session(rt.db) as session:
        m = session.get(Message, first)
        assert m is not None and m.status == "read"
        m.status = "sent"
        assert outbox.advance(session, m, "undelivered", error_code="63016")
        assert not outbox.advance(session, m, "delivered")
        assert m.error_code == "63016"


def test_web_simulator_messages_need_no_provider(rt: Runtime) -> None:
    receipt = receive(rt, inbound("ciao", channel="web", address="sim:1"))
    deliver_due(rt)
    assert {m.status for m in outbound(rt, receipt.conversation_id)} == {"delivered"}


def test_worker_wakes_at_once_when_a_reply_is_queued(rt: Runtime) -> None:
    rt.settings.worker.poll_seconds = 30  # only the wake-up can make it fast
    fake = FakeChannel()
    rt.senders["whatsapp"] = fake
    worker = Worker(rt)
    thread = worker.start()
    try:
        worker.rt.outbox_ready.clear()
        receive(rt, inbound("ciao"))
        for _ in range(200):
            if fake.sent:
                break
            threading.Event().wait(0.05)
        assert fake.sent
    finally:
        worker.stop()
        thread.join(10)
