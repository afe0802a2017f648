"""Fill pack texts for one reply: emergency numbers, opening hours, menus, service cards."""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

from flows.directory import CONTACT_FIELDS, Service, on_topics
from flows.hours import DAY_NAMES

if TYPE_CHECKING:
    from flows.engine import Context
    from flows.pack import Node, Option, Pack

LANGUAGES = ("it", "en")

PLACEHOLDERS = {
    "emergency": "every emergency number from the configuration, one a line",
    "emergency_first": "the first number (immediate danger)",
    "hours": "the listeners' opening hours",
    "when_back": "when the listeners are next online",
    "now_status": "whether the listeners are online now",
}

# Texts that take their own values instead (filled by the renderer, not by the author).
TEXT_PLACEHOLDERS = {
    "today_at": {"time"},
    "tomorrow_at": {"time"},
    "day_at": {"day", "time"},
    "queue_place": {"position", "minutes"},
    "queue_place_unsure": {"position"},
    "erase_code_sent": {"code"},
}
# Placeholders a text must use (the one-time code is useless unless the text carries it).
REQUIRED_PLACEHOLDERS = {"erase_code_sent": "code"}

# Texts the engine says on its own (the flow's nodes add theirs).
REQUIRED_TEXTS = (
    "welcome",
    "crisis",
    "crisis_closed",
    "crisis_again",
    "handover_open",
    "handover_closed",
    "personal_open",
    "personal_closed",
    "waiting_reminder",
    "with_listener",
    "stopped",
    "stop_unverified",
    "erase_confirm",
    "erase_code_sent",
    "erase_code_wrong",
    "erase_code_expired",
    "erase_code_failed",
    "erase_unverified",
    "erase_done",
    "erase_cancelled",
    "not_understood",
    "media_note",
    "goodbye",
    "hello",
    "thanks",
    "choose_faq",
    "choice_invalid",
    "faq_footer",
    "service_no_contacts",
    "now_open",
    "now_closed",
    "today_at",
    "tomorrow_at",
    "day_at",
    "when_unknown",
    "contact_phone",
    "contact_email",
    "contact_address",
    "contact_web",
    "contact_hours",
    "crisis_nobody",
    "handover_nobody",
    "personal_nobody",
    "queue_place",
    "queue_place_unsure",
    "unrecognised_open",
    "unrecognised_closed",
    "unrecognised_nobody",
    "services_none",
    "feedback_ask",
    "feedback_again",
    "feedback_thanks",
)


def placeholders(text: str) -> set[str]:
    """The {names} used by a text (raises ValueError on a stray brace)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


class _Values(dict[str, str]):
    def __init__(self, pack: Pack, ctx: Context, lang: str) -> None:
        super().__init__()
        self.pack, self.ctx, self.lang = pack, ctx, lang

    def __missing__(self, key: str) -> str:
        value = self._compute(key)
        self[key] = value
        return value

    def _compute(self, key: str) -> str:
        ctx, lang = self.ctx, self.lang
        if key == "emergency":
            return "\n".join(
                f"• *{n.number}* {n.name}" + (f" ({n.note})" if n.note else "")
                for n in ctx.emergency
            )
        if key == "emergency_first":
            return f"*{ctx.emergency[0].number}*" if ctx.emergency else ""
        if key == "hours":
            return ctx.hours.describe(lang) or self.pack.text("when_unknown", lang)
        if key == "when_back":
            return self._when_back()
        if key == "now_status":
            open_now = ctx.hours.is_open(ctx.now)
            return fill(self.pack, "now_open" if open_now else "now_closed", ctx, lang)
        raise KeyError(key)

    def _when_back(self) -> str:
        back = self.ctx.hours.next_opening(self.ctx.now)
        if back is None:
            return self.pack.text("when_unknown", self.lang)
        days = (back.date() - self.ctx.now.astimezone(back.tzinfo).date()).days
        text_id = "today_at" if days == 0 else "tomorrow_at" if days == 1 else "day_at"
        day = DAY_NAMES[self.lang][back.weekday()]
        return self.pack.text(text_id, self.lang).format(day=day, time=f"{back:%H:%M}")


def fill(pack: Pack, text_id: str, ctx: Context, lang: str, **own: str) -> str:
    """The pack text `text_id` in `lang`, placeholders filled (`own`: the text's own values)."""
    return format_text(pack, pack.text(text_id, lang), ctx, lang, **own)


def format_text(pack: Pack, text: str, ctx: Context, lang: str, **own: str) -> str:
    """Fill the placeholders of a text taken from the pack."""
    values = _Values(pack, ctx, lang)
    values.update(own)
    return text.format_map(values).strip()


def menu(pack: Pack, node: Node, ctx: Context, lang: str) -> str:
    """A node's text followed by its numbered options (or the directory's services)."""
    if node.services:
        listed = on_topics(ctx.directory, node.services)
        if not listed:
            return fill(pack, "services_none", ctx, lang)
        lines = [fill(pack, node.say, ctx, lang)]
        lines.extend(f"*{i}* {service.name}" for i, service in enumerate(listed, 1))
        return "\n".join(lines)
    lines = [fill(pack, node.say, ctx, lang)]
    for option in node.options:
        lines.append(f"*{option.key}* {option_label(pack, option, lang)}")
    return "\n".join(lines)


def option_label(pack: Pack, option: Option, lang: str) -> str:
    if option.label:
        return pack.text(option.label, lang)
    if option.faq:
        return pack.faqs[option.faq].title[lang]
    return option.key


def service_card(pack: Pack, service: Service, lang: str) -> str:
    """Name, what it does and the contacts that are filled in (never an empty contact).

    The same card the bot sends and a listener puts in the reply box; its texts are plain
    (a coordinator's words, no placeholders).
    """
    lines = [f"*{service.name}*", service.about_in(lang)]
    contacts = [
        f"{pack.text('contact_' + field, lang)}: {service.contacts[field]}"
        for field in CONTACT_FIELDS
        if service.contacts.get(field, "").strip()
    ]
    lines.extend(contacts or [pack.text("service_no_contacts", lang).strip()])
    return "\n".join(lines)
