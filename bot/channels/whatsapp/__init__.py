"""WhatsApp (and SMS) through Twilio: signed webhooks in, the outbox out.

- `bp`: the blueprint with `POST /twilio/whatsapp` (messages in) and `POST /twilio/status`
  (delivery state), both checked against Twilio's signature.
- `TwilioSender`: sends outbox rows with the real twilio client.
- `window_open`, `window_closes_at`, `queue_reengagement`: WhatsApp's 24-hour window, for the
  dashboard.
"""

from __future__ import annotations

from bot.channels.whatsapp.sender import TwilioSender
from bot.channels.whatsapp.webhook import bp
from bot.channels.whatsapp.window import (
    ReengageError,
    queue_reengagement,
    window_closes_at,
    window_open,
)

__all__ = [
    "ReengageError",
    "TwilioSender",
    "bp",
    "queue_reengagement",
    "window_closes_at",
    "window_open",
]
