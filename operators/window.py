"""WhatsApp's 24-hour customer-service window, as the dashboard shows it.

Free-form replies are allowed for 24 hours after the young person's last message; after that only
an approved template may be sent. The WhatsApp channel owns the rule
(bot.channels.whatsapp.window_open / window_closes_at / queue_reengagement); this module only
adds what the screens need.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.channels.whatsapp import window_closes_at, window_open
from bot.models import Conversation


def applies(conversation: Conversation) -> bool:
    return conversation.channel == "whatsapp"


def closes_at(conversation: Conversation) -> datetime | None:
    """When free-form replies stop being allowed (None: the young person never wrote)."""
    return window_closes_at(conversation)


def is_open(conversation: Conversation, now: datetime) -> bool:
    return window_open(conversation, now)


def closing_soon(conversation: Conversation, now: datetime, warning: timedelta) -> bool:
    closing = closes_at(conversation)
    return closing is not None and now < closing <= now + warning
