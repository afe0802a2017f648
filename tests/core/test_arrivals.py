"""Answer first: what a webhook accepts is read once, in order for each writer, and never lost."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from bot import arrivals, inbox
from bot.channel import UNCONFIRMED, Sent
from bot.db import write_session
from bot.models import Message, utcnow
from bot.runtime import Runtime
from bot.worker import deliver, deliver_due, receive_due
from tests.core.helpers import inbound, outbound, rows


def test_a_message_is_kept_once_while_it_waits(rt: Runtime) -> None:
    message = inbound("ciao", external_id="SM-wait")
    assert arrivals.accept(rt, message)
    assert not arrivals.accept(rt, message)  # the provider's retry: kept once
    assert arrivals.count(rt) == 1
    assert rows(rt, Message) == []  # nothing read yet: the webhook only kept it
    assert receive_due(rt) == 1
    assert arrivals.count(rt) == 0
    (stored,) = rows(rt, Message, Message.direction == "in")
    assert stored.body == "ciao" and stored.external_id == "SM-wait"
    assert outbound(rt)  # ...and answered


def test_the_message_is_dated_when_it_came_not_when_it_was_read(rt: Runtime) -> None:
    came = utcnow() - timedelta(minutes=3)  # e.g. the worker was down
    arrivals.accept(rt, inbound("ciao"), now=came)
    receive_due(rt)
    (stored,) = rows(rt, Message, Message.direction == "in")
    assert stored.created_at == came


def test_a_later_message_of_the_same_person_waits_for_the_earlier_one(rt: Runtime) -> None:
    arrivals.accept(rt, inbound("primo"))
    arrivals.accept(rt, inbound("secondo"))
    arrivals.accept(rt, inbound("altro", address="whatsapp:+393330000002"))
    first, second, other = arrivals.waiting(rt)
    with write_session(rt.db) as session:
        assert arrivals.claim(session, second) is None  # "primo" goes first
        assert arrivals.claim(session, other) is not None  # someone else's: no need to wait
    assert inbox.receive_arrival(rt, second) is None and arrivals.count(rt) == 3
    assert inbox.receive_arrival(rt, first) is not None
    assert inbox.receive_arrival(rt, second) is not None
    assert inbox.receive_arrival(rt, second) is None  # read already: never twice
    texts = [m.body for m in rows(rt, Message, Message.direction == "in")]
    assert texts == ["primo", "secondo"]


def test_a_fault_while_reading_keeps_the_arrival_for_the_next_round(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    arrivals.accept(rt, inbound("mi sento solo", address="whatsapp:+393471112233"))
    real = inbox._receive
    calls = {"n": 0}

    def fails_once(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database went away")
        return real(*args, **kw)

    monkeypatch.setattr(inbox, "_receive", fails_once)
    assert receive_due(rt) == 0
    assert arrivals.count(rt) == 1 and rows(rt, Message) == []  # rolled back, still kept
    assert "RuntimeError" in caplog.text and "3471112233" not in caplog.text
    assert receive_due(rt) == 1
    assert len(rows(rt, Message, Message.direction == "in")) == 1


def test_two_workers_read_every_arrival_once_and_in_order(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [f"whatsapp:+3933300001{i:02d}" for i in range(6)]
    for n in range(8):
        for person in people:
            arrivals.accept(rt, inbound(f"messaggio {n}", address=person))
    writer = {i: people[k % len(people)] for k, i in enumerate(arrivals.waiting(rt, 1000))}
    read: list[int] = []  # in the order the reads were committed (done() is their last step)
    guard = threading.Lock()
    real = arrivals.done

    def done(session: Any, arrival_id: int) -> None:
        real(session, arrival_id)
        with guard:
            read.append(arrival_id)

    monkeypatch.setattr(arrivals, "done", done)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            while arrivals.count(rt):
                receive_due(rt)
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(read) == sorted(writer)  # every one, once
    for person in people:
        theirs = [i for i in read if writer[i] == person]
        assert theirs == sorted(theirs), person  # each person's in the order they came
    assert len(rows(rt, Message, Message.direction == "in")) == len(writer)
    assert arrivals.count(rt) == 0


def test_the_reader_sends_its_replies_and_a_dead_reader_s_are_taken_after_the_lease(
    rt: Runtime,
) -> None:
    arrivals.accept(rt, inbound("come funziona il servizio?", channel="web", address="web:a"))
    receive_due(rt)
    replies = outbound(rt)
    assert replies and all(m.status == "sending" and m.attempts == 0 for m in replies)
    assert list(rt.held) == [m.id for m in replies]  # taken when read: no claim needed
    rt.held.clear()  # the reader died before sending them
    assert deliver_due(rt) == 0  # nobody else takes them while the lease runs
    later = utcnow() + timedelta(seconds=rt.settings.worker.lease_seconds + 1)
    assert deliver_due(rt, later) == len(replies)  # then any worker does, once
    # never begun, so taken as a first try: nothing to ask the provider about
    assert all(m.status == "delivered" and m.attempts == 1 for m in outbound(rt))
    assert all(m.error_code is None for m in outbound(rt))
    assert deliver(rt, replies[0].id, held=True) is None  # a late reader: no longer its own


def test_a_held_reply_begun_by_a_reader_that_died_is_taken_over_as_unconfirmed(
    rt: Runtime,
) -> None:
    """The reader renewed its lease and began the send, then died: the provider may have the
    reply. The worker that takes it over after the lease marks it so (the sender asks first)."""
    arrivals.accept(rt, inbound("come funziona il servizio?", channel="web", address="web:a"))
    receive_due(rt)
    held = rt.held.popleft()
    rt.held.clear()
    seen: list[tuple[int, str | None]] = []

    class Dies:
        channel = "web"

        def send(self, message: Message, contact: Any, conversation: Any) -> Sent:
            seen.append((message.attempts, message.error_code))
            if len(seen) == 1:
                raise KeyboardInterrupt  # the worker process dies in the middle of the send
            return Sent(external_id=f"SM-{message.id}")

    rt.senders["web"] = Dies()
    with pytest.raises(KeyboardInterrupt):
        deliver(rt, held, held=True)
    later = utcnow() + timedelta(seconds=rt.settings.worker.lease_seconds + 1)
    assert deliver(rt, held, later) == "sent"
    assert seen == [(1, None), (2, UNCONFIRMED)]


@pytest.mark.parametrize("waited", [0.9, 1.1], ids=["within-the-lease", "past-the-lease"])
def test_a_reader_that_sends_late_keeps_its_replies_from_other_workers(
    rt: Runtime, waited: float
) -> None:
    """A busy reader reaches its held replies late; while it sends one, another worker looks
    for rows whose lease ran out. The reply leaves once: the reader's lease started again when
    it began (or, past the lease, the reader claimed the row as any worker would)."""
    arrivals.accept(rt, inbound("come funziona il servizio?", channel="web", address="web:a"))
    receive_due(rt)
    held = list(rt.held)
    rt.held.clear()
    lease = rt.settings.worker.lease_seconds
    start = utcnow() + timedelta(seconds=lease * waited)
    meanwhile = start + timedelta(seconds=lease * 0.5)  # the reader's old lease has run out

    class Racing:
        """Another worker's pass runs while the provider holds the reader's send."""

        channel = "web"
        sent: list[str] = []
        others: list[int] = []

        def send(self, message: Message, contact: Any, conversation: Any) -> Sent:
            self.sent.append(message.id)
            if len(self.sent) == 1:  # the reader's send: the other worker's pass runs now
                self.others.append(deliver_due(rt, meanwhile))
            return Sent(external_id=f"SM-{message.id}")

    racing = Racing()
    rt.senders["web"] = racing
    assert deliver(rt, held[0], start, held=True) == "sent"
    assert len(racing.others) == 1  # the other worker's pass ran (it may take the other replies)
    assert racing.sent.count(held[0]) == 1  # the reader's reply left once
