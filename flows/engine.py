"""The pure flow engine: (pack, state, inbound text, context) -> (new state, events).

No database, no network, no clock of its own. The caller (bot.inbox) stores the state and
applies the events. CONTRACT (used by bot.inbox, bot.worker, the CLI and the tests):

    step(pack, state, text, ctx, *, media=0) -> Step
    timeout(pack, state, ctx) -> Step      # called when the young person has not answered
                                           # for pack.no_response_minutes while with the bot
    fallback(pack, state, ctx) -> Step     # step() raised: hand over to a listener, safely

`state` is a FlowState (flows.state: typed, versioned, stored as JSON by the core; None for a
new conversation); `Step.state` replaces it. A state pointing at a node or FAQ the pack no
longer has is first sent back to the start node (FlowState.fitted): content edits never make
a message fail.
ctx.status (a Holder; the core maps its conversation statuses onto it) says who answers:
  BOT       the bot answers (menu, FAQ, services, hand-over...)
  WAITING   in the listeners' queue: no menu; crisis still answered with the numbers;
  LISTENER  a volunteer holds it: the bot stays silent, but a crisis still yields
             Escalate(CRISIS, ...) so the dashboard is alerted, and the young person's
             commands still act and are answered: STOP, CANCELLA (and its confirmation),
             OPERATORE ("a volunteer is reading you already").

ctx.verified says whether the channel proved the sender (a signed webhook, an e-mail whose
provider vouches for its From address). Without it STOP and CANCELLA never act: the bot says
why instead. On e-mail (ctx.erase_code set) CANCELLA is confirmed with a one-time code sent to
the address, which only its owner can read; the state keeps only the code's HMAC, its expiry
and the tries left.

What runs, in order, for every message (the fallbacks apply in every state, before the flow):
  1. crisis (flows.triage): the numbers and "a volunteer writes as soon as possible" at once,
     Escalate("crisis"); with a volunteer: only the Escalate. On first contact the privacy
     notice follows the crisis answer.
  2. first contact: welcome + privacy notice (+ the menu, unless the message asks for a person).
  3. attachments: once per conversation, "I only read text for now".
  4. a pending CANCELLA: "sì"/"yes" (or the code) erases, anything else cancels (and is then
     handled).
  5. waiting in the queue: STOP, CANCELLA; one reminder at most (always, to OPERATORE); a
     personal difficulty raises the priority.
  6. STOP, CANCELLA, a person (OPERATORE), a cry for help or a personal message, MENU/greetings.
     A personal message that also asks a service question gets the answer, then a listener.
  7. a number picks an option of the node on screen (or of the main menu).
  8. second look: after a FAQ or menu answer, a message with a distress signal goes to a
     listener, never to another FAQ or menu.
  9. FAQ: a clear match is answered; close runners-up are offered as a numbered choice.
 10. anything else: "I did not understand" + the menu and the way to a person.

Presence (ctx.presence, counted by the core; None = unknown, go by the opening hours): in
opening hours with nobody on shift, crisis and hand-over answers are the "*_nobody" texts (the
numbers, no promise of a quick answer); when every listener on shift is busy, "queue_place"
(place N, about M minutes) follows them; someone on shift outside the hours counts as open.

A personal difficulty (family, school, loneliness, bullying, anxiety...) is escalated at once
with priority "high", without waiting for a "yes": on a listening line the young person has
already asked to be listened to, and a question back would cost a turn when they may not
answer. The bot never advises: every text it sends comes from the pack.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from flows import directory, feedback, render
from flows import presence as presence_of
from flows.directory import Service
from flows.events import (
    Closed,
    ConsentShown,
    EraseRequested,
    Escalate,
    Event,
    FaqMatched,
    LanguageSet,
    OptedOut,
    Priority,
    Refer,
    Reply,
)
from flows.hours import OpeningHours
from flows.pack import Node, Option, Pack
from flows.presence import Counted, Presence
from flows.state import ErasureCode, FlowState
from flows.triage import UNRECOGNISED, Triage, language, triage


class Holder(StrEnum):
    """Who answers the next message: what the engine knows of a conversation's status."""

    BOT = "bot"
    WAITING = "waiting"  # in the listeners' queue
    LISTENER = "listener"  # a volunteer holds it


_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
_CODE = re.compile(r"(?<!\d)(\d{3})[ .-]?(\d{3})(?!\d)")  # a one-time code: "123456", "123 456"
CODE_MINUTES = 30  # how long a one-time code is valid (the pack's erase_code_sent says so)
CODE_TRIES = 3  # wrong codes accepted before the request is dropped


@dataclass(frozen=True)
class EmergencyNumber:
    name: str
    number: str
    note: str = ""


@dataclass(frozen=True)
class Context:
    now: datetime  # timezone-aware
    hours: OpeningHours
    emergency: tuple[EmergencyNumber, ...]
    status: Holder = Holder.BOT
    first_contact: bool = False  # no consent notice shown to this contact yet
    lang: str | None = None  # the contact's known language, if any
    presence: Counted = None  # listeners on shift now (or how to count them); None: by the hours
    verified: bool = True  # the channel proved the sender: else STOP and CANCELLA never act
    erase_code: str = ""  # a fresh one-time code: CANCELLA is confirmed with it (e-mail)
    code_key: bytes = b""  # the key of the code's HMAC (only the HMAC is kept in the state)
    directory: tuple[Service, ...] = ()  # the local services, in order (bot.directory loads it)


def code_digest(key: bytes, code: str) -> str:
    """What the state keeps of a one-time code."""
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Step:
    state: FlowState
    events: list[Event] = field(default_factory=list)


class _Turn:
    """One inbound message being answered: the state being changed and the events so far."""

    def __init__(self, pack: Pack, state: FlowState | None, ctx: Context) -> None:
        self.pack, self.ctx = pack, ctx
        known = (state or FlowState()).fitted(pack)  # never a node or FAQ that is gone
        self.state = replace(known, closed=False, choices=list(known.choices))  # a copy
        self.events: list[Event] = []
        self.lang = "it"

    @cached_property
    def presence(self) -> Presence | None:
        """Who can answer now: counted at most once per message, and only if needed."""
        return presence_of.read(self.ctx.presence)

    # saying things ------------------------------------------------------------------------

    def text(self, text_id: str) -> str:
        return render.fill(self.pack, text_id, self.ctx, self.lang)

    def say(self, *parts: str) -> None:
        self.events.append(Reply("\n\n".join(p for p in parts if p)))

    def menu(self, node_id: str | None = None) -> str:
        node = self.pack.nodes[node_id or self.pack.start]
        self.state.node = node.id
        return render.menu(self.pack, node, self.ctx, self.lang)

    @property
    def open(self) -> bool:
        """Listeners can answer: opening hours, or someone on shift outside them."""
        presence = self.presence
        return self.ctx.hours.is_open(self.ctx.now) or bool(presence and presence.on_shift)

    @property
    def nobody(self) -> bool:
        """Opening hours, but no listener on shift."""
        presence = self.presence
        return presence is not None and not presence.on_shift and self.open

    def queue_place(self, priority: str) -> str:
        """ "You are in the queue, place N, about M minutes", when every listener is busy."""
        presence = self.presence
        if presence is None or not presence.on_shift or not presence.queued(priority):
            return ""
        position, minutes = presence.position(priority), presence.wait_minutes(priority)
        if minutes is None:
            return render.fill(
                self.pack, "queue_place_unsure", self.ctx, self.lang, position=str(position)
            )
        return render.fill(
            self.pack,
            "queue_place",
            self.ctx,
            self.lang,
            position=str(position),
            minutes=str(minutes),
        )

    # the steps ----------------------------------------------------------------------------

    def choose_language(self, text: str) -> None:
        known = self.ctx.lang or self.state.lang
        if known in render.LANGUAGES:
            self.lang = known
            return
        found = language(self.pack, text)
        if found:
            self.lang = self.state.lang = found
            self.events.append(LanguageSet(found))

    def crisis(self, t: Triage) -> None:
        told = self.state.crisis
        if told:
            self.say(self.text("crisis_again"))
        elif self.nobody:
            self.say(self.text("crisis_nobody"))
        elif self.open:
            self.say(self.text("crisis"), self.queue_place("crisis"))
        else:
            self.say(self.text("crisis_closed"))
        self.events.append(Escalate(Priority.CRISIS, t.reason or "crisis"))
        self.state.crisis = told + 1
        self.forget_choices()

    def welcome(self, *, with_menu: bool) -> None:
        self.say(self.text("welcome"), self.menu() if with_menu else "")
        self.events.append(ConsentShown())

    def forget_choices(self) -> None:
        self.state.node = None
        self.state.choices = []

    def handover(self, t: Triage) -> None:
        self.forget_choices()
        personal = t.priority == "high" or (t.reason or "").startswith("personal:")
        priority = Priority(t.priority or "high") if personal else Priority.NORMAL
        unrecognised = not personal and t.reason == UNRECOGNISED
        kind = "personal" if personal else "unrecognised" if unrecognised else "handover"
        if self.nobody:
            self.say(self.text(f"{kind}_nobody"))
        elif self.open:
            self.say(self.text(f"{kind}_open"), self.queue_place(priority))
        else:
            self.say(self.text(f"{kind}_closed"))
        if personal:
            self.events.append(Escalate(priority, t.reason or "personal"))
        elif unrecognised:
            self.events.append(Escalate(Priority(t.priority or "normal"), UNRECOGNISED))
        else:
            self.events.append(Escalate(Priority.NORMAL, "asked_for_person"))

    def stop(self) -> None:
        self.forget_choices()
        if not self.ctx.verified:
            self.say(self.text("stop_unverified"))
            return
        self.events.append(OptedOut())
        self.say(self.text("stopped"))

    def ask_erase(self) -> None:
        if not self.ctx.verified:
            self.say(self.text("erase_unverified"))
            return
        code = self.ctx.erase_code
        if not code:
            self.state.confirm = "erase"
            self.say(self.text("erase_confirm"))
            return
        until = self.ctx.now + timedelta(minutes=CODE_MINUTES)
        self.state.confirm = "erase_code"
        self.state.code = ErasureCode(code_digest(self.ctx.code_key, code), until)
        text = render.fill(self.pack, "erase_code_sent", self.ctx, self.lang, code=code)
        self.events.append(Reply(text, secret=code))

    def forget_erase(self) -> None:
        self.state.confirm = None
        self.state.code = None

    def pending(self, text: str, t: Triage) -> bool:
        """An answer to a pending CANCELLA; True when nothing else is left to do."""
        confirm, code = self.state.confirm, self.state.code
        self.forget_erase()
        if confirm == "erase":
            return self.confirm_erase(text) or t.intent == "unknown"
        if confirm == "erase_code" and code is not None:
            return self.check_code(text, code, t)
        return False

    def confirm_erase(self, text: str) -> bool:
        """Handle the answer to "are you sure?"; True when nothing else is left to do."""
        if self.pack.normalize.text(text) in self.pack.commands.yes:
            if self.ctx.verified:
                self.erase()
            else:
                self.say(self.text("erase_unverified"))
            return True
        self.say(self.text("erase_cancelled"))
        return False

    def check_code(self, text: str, code: ErasureCode, t: Triage) -> bool:
        """Handle a message while a one-time code is pending; True when nothing else is left."""
        found = _CODE.search(text)
        if found is None:
            self.say(self.text("erase_cancelled"))
            return t.intent == "unknown"
        if self.ctx.now > code.until:
            self.say(self.text("erase_code_expired"))
        elif not self.ctx.verified:
            self.say(self.text("erase_unverified"))
        elif hmac.compare_digest(
            code_digest(self.ctx.code_key, found.group(1) + found.group(2)), code.digest
        ):
            self.erase()
        elif code.tries + 1 >= CODE_TRIES:
            self.say(self.text("erase_code_failed"))
        else:
            self.state.confirm = "erase_code"
            self.state.code = replace(code, tries=code.tries + 1)
            self.say(self.text("erase_code_wrong"))
        return True

    def erase(self) -> None:
        self.events.extend([EraseRequested(), Reply(self.text("erase_done"))])
        self.state = FlowState(lang=self.state.lang)

    def waiting(self, t: Triage) -> None:
        if t.intent == "human" and t.priority == "high" and not self.state.raised:
            self.state.raised = True
            self.events.append(Escalate(Priority.HIGH, t.reason or "personal"))
        if not self.state.reminded or t.reason == "asked_for_person":
            self.state.reminded = True
            presence = self.presence
            priority = (presence.priority if presence else None) or "normal"
            self.say(self.text("waiting_reminder"), self.queue_place(priority))

    def held(self, t: Triage, text: str) -> None:
        """A volunteer holds the conversation: silent but for a crisis and the commands."""
        if t.intent == "crisis":
            self.forget_erase()
            self.events.append(Escalate(Priority.CRISIS, t.reason or "crisis"))
            return
        asked = t.intent in ("stop", "erase") or t.reason == "asked_for_person"
        if asked or self.state.confirm:  # the bot answers: in the young person's language
            self.choose_language(text)
        if self.pending(text, t):
            return
        if t.intent == "stop":
            self.stop()
        elif t.intent == "erase":
            self.ask_erase()
        elif t.intent == "human" and t.reason == "asked_for_person":
            self.say(self.text("with_listener"))

    def answer(self, faq_id: str, score: float, *, then_person: bool = False) -> None:
        """Answer a FAQ; then_person: a listener follows, so no menu or footer."""
        faq = self.pack.faqs[faq_id]
        self.forget_choices()
        self.state.answered = True
        body = render.format_text(self.pack, faq.answer[self.lang], self.ctx, self.lang)
        if then_person:
            self.say(body)
        elif faq.next:
            self.say(body, self.menu(faq.next))
        else:
            self.say(body, self.text("faq_footer"))
        self.events.append(FaqMatched(faq_id, score))

    def offer_choice(self, t: Triage) -> None:
        assert t.faq_id is not None and t.score is not None
        choices = [(t.faq_id, t.score), *t.alternatives[:2]]
        self.forget_choices()
        self.state.choices = choices
        self.say_choices("choose_faq")

    def say_choices(self, text_id: str) -> None:
        titles = [self.pack.faqs[faq_id].title[self.lang] for faq_id, _ in self.state.choices]
        lines = [self.text(text_id)] + [f"*{i}* {t}" for i, t in enumerate(titles, 1)]
        self.say("\n".join(lines))

    def pick(self, number: str) -> None:
        """A number: one of the offered FAQ, or an option of the node on screen."""
        choices = self.state.choices
        if choices:
            index = int(number) - 1
            if 0 <= index < len(choices):
                faq_id, score = choices[index]
                self.answer(faq_id, score)
            else:
                self.say_choices("choice_invalid")
            return
        node = self.pack.nodes[self.state.node or self.pack.start]
        if node.services:
            listed = directory.on_topics(self.ctx.directory, node.services)
            index = int(number) - 1
            if 0 <= index < len(listed):
                self.refer(node, listed[index])
            else:
                self.say(self.text("choice_invalid"), self.menu(node.id))
            return
        option = node.option(str(int(number)))
        if option is None:
            self.say(self.text("choice_invalid"), self.menu(node.id))
        else:
            self.follow(node, option)

    def refer(self, node: Node, service: Service) -> None:
        """A service's card; the referral is counted under the node's topic it helps with."""
        self.state.node = node.id  # another number picks another service
        self.say(render.service_card(self.pack, service, self.lang))
        self.events.append(Refer(service.id, directory.first_topic(service, node.services)))

    def follow(self, node: Node, option: Option) -> None:
        if option.goto:
            self.say(self.menu(option.goto))
        elif option.faq:
            self.answer(option.faq, 100.0)
        elif option.action == "handover":
            self.handover(Triage("human", priority="normal", reason="asked_for_person"))
        elif option.action == "erase":
            self.ask_erase()
        else:
            self.say(self.menu())


def step(
    pack: Pack,
    state: FlowState | None,
    text: str,
    ctx: Context,
    *,
    media: int = 0,
    reading: Triage | None = None,
) -> Step:
    """Advance the conversation by one inbound message.

    reading: the message's triage, if the caller read it already (triage(pack, text) depends on
    the text and the pack only: the core reads it before taking any lock).
    """
    turn = _Turn(pack, state, ctx)
    t = reading if reading is not None else triage(pack, text)
    if ctx.status == Holder.LISTENER:
        turn.held(t, text)
        return Step(turn.state, turn.events)
    if ctx.status == Holder.BOT:
        turn.state.reminded = turn.state.raised = False
    turn.choose_language(text)
    if t.intent == "crisis":
        turn.forget_erase()
        turn.events.extend(feedback.drop(turn.state))
        turn.crisis(t)
        if ctx.first_contact:
            turn.welcome(with_menu=False)
        return Step(turn.state, turn.events)
    answered, given = feedback.answer(pack, turn.state, text, ctx, turn.lang)
    turn.events.extend(given)
    if answered:
        return Step(turn.state, turn.events)
    if ctx.first_contact:
        turn.welcome(with_menu=ctx.status == Holder.BOT and t.intent != "human")
    if media and not turn.state.media:
        turn.state.media = True
        turn.say(turn.text("media_note"))
        if not text.strip():
            return Step(turn.state, turn.events)
    if turn.pending(text, t):
        return Step(turn.state, turn.events)
    if ctx.status == Holder.WAITING:
        if t.intent == "stop":
            turn.stop()
        elif t.intent == "erase":
            turn.ask_erase()
        else:
            turn.waiting(t)
        return Step(turn.state, turn.events)
    _in_bot(turn, t, text)
    return Step(turn.state, turn.events)


def _in_bot(turn: _Turn, t: Triage, text: str) -> None:
    """The bot holds the conversation: commands, menu choices, FAQ, or not understood."""
    first = turn.ctx.first_contact
    number = _NUMBER.match(text)
    if t.intent == "stop":
        turn.stop()
    elif t.intent == "erase":
        turn.ask_erase()
    elif t.intent == "human":
        if t.faq_id is not None and t.score is not None:  # the question, then a listener
            turn.answer(t.faq_id, t.score, then_person=True)
        turn.handover(t)
    elif t.intent == "greeting":
        if not first:
            turn.say(turn.text("hello") if t.reason == "hello" else "", turn.menu())
    elif number:
        turn.pick(number.group(1))
    elif t.distress and turn.state.answered:  # second look: not another FAQ or menu
        turn.handover(Triage("human", priority="high", reason="personal:distress"))
    elif t.intent == "faq" and t.faq_id is not None and t.score is not None:
        if t.alternatives or t.score < turn.pack.matching.answer:
            turn.offer_choice(t)
        else:
            turn.answer(t.faq_id, t.score)
    elif t.reason == "thanks":
        turn.say(turn.text("thanks"))
    elif not first:
        turn.state.answered = True
        turn.say(turn.text("not_understood"), turn.menu())


def timeout(pack: Pack, state: FlowState | None, ctx: Context) -> Step:
    """The young person did not answer: a gentle close (only while with the bot, only once)."""
    s = state or FlowState()
    if ctx.status != Holder.BOT or s.closed:
        return Step(s, [])
    if s.feedback is not None:  # only the feedback question was pending: closed without a goodbye
        closed = replace(s, closed=True)
        return Step(closed, [*feedback.drop(closed), Closed("feedback")])
    lang = ctx.lang or s.lang or "it"
    lang = lang if lang in render.LANGUAGES else "it"
    goodbye = render.fill(pack, "goodbye", ctx, lang)
    return Step(FlowState(lang=s.lang, closed=True), [Reply(goodbye), Closed("no_response")])


def fallback(pack: Pack, state: FlowState | None, ctx: Context) -> Step:
    """step() failed on a message (a fault in the content or the code): a listener takes over.

    The message is never dropped: the conversation goes to the listeners' queue with priority
    "high" (the message may be anything, a crisis too), and while with the bot the young person
    is told that a volunteer will write. Only fixed pack texts are used, each guarded: if even
    they fail, the conversation still reaches the queue, silently.
    """
    turn = _Turn(pack, state, ctx)
    turn.forget_choices()
    turn.forget_erase()
    known = ctx.lang or turn.state.lang
    turn.lang = known if known in render.LANGUAGES else "it"
    if ctx.status == Holder.LISTENER:  # a volunteer reads it already
        return Step(turn.state, [Escalate(Priority.HIGH, "bot_error")])
    if ctx.status == Holder.BOT:
        try:
            turn.say(turn.text("handover_open" if turn.open else "handover_closed"))
            if ctx.first_contact:
                turn.welcome(with_menu=False)
        except Exception:  # the hand-over below must happen whatever failed
            turn.events = [e for e in turn.events if not isinstance(e, ConsentShown)]
    turn.events.append(Escalate(Priority.HIGH, "bot_error"))
    return Step(turn.state, turn.events)
