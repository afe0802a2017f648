"""WhatsApp through Twilio (placeholder: webhook and sender come with the channel)."""

from __future__ import annotations

from flask import Blueprint

from bot.channels.base import Sent
from bot.config import Twilio
from bot.models import Contact, Conversation, Message

bp = Blueprint("whatsapp", __name__, url_prefix="/twilio")


class TwilioSender:
    channel = "whatsapp"

    def __init__(self, settings: Twilio) -> None:
        self.settings = settings

    def send(self, message: Message, contact: Contact, conversation: Conversation) -> Sent:
        raise NotImplementedError
