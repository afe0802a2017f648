"""How times, delivery states and attachments read on the dashboard (Jinja filters)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask

from bot.conversations import Priority, Status
from bot.models import Message, utcnow
from bot.reasons import reason
from bot.runtime import runtime

PRIORITY_LABELS = {Priority.CRISIS: "Crisi", Priority.HIGH: "Alta", Priority.NORMAL: "Normale"}
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "sms": "SMS", "email": "E-mail", "web": "Simulatore"}
STATUS_LABELS = {
    Status.BOT: "con il bot",
    Status.WAITING: "in coda",
    Status.LISTENER: "in carico",
    Status.CLOSED: "chiusa",
}
MAIL_KINDS = {
    "auto_reply": "risposta automatica",
    "bounce": "mancato recapito",
    "list": "mailing list",
    "bulk": "invio di massa",
    "no_reply": "indirizzo no-reply",
    "own": "dalla nostra casella",
    "report": "rapporto automatico",
    "unreadable": "non interpretabile",
    "unknown_sender": "mittente sconosciuto",
}
# symbol, words for screen readers and the tooltip, css class
TICKS = {
    "queued": ("…", "in coda di invio", "tick-queued"),
    "sending": ("…", "invio in corso", "tick-queued"),
    "sent": ("✓", "inviato", "tick-sent"),
    "delivered": ("✓✓", "consegnato", "tick-delivered"),
    "read": ("✓✓", "letto", "tick-read"),
    "failed": ("⚠", "non inviato", "tick-failed"),
    "undelivered": ("⚠", "non consegnato", "tick-failed"),
}


def _zone() -> ZoneInfo:
    return ZoneInfo(runtime().settings.service.timezone)


def clock(moment: datetime | None) -> str:
    """Local time: 14:05 today, 12/11 14:05 another day."""
    if moment is None:
        return ""
    local = moment.astimezone(_zone())
    today = utcnow().astimezone(_zone()).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%d/%m %H:%M")


def iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "meno di 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} g {hours} h"


def ago(moment: datetime | None) -> str:
    return duration(utcnow() - moment) if moment else ""


def until(moment: datetime | None) -> str:
    return duration(moment - utcnow()) if moment else ""


def tick(message: Message) -> tuple[str, str, str]:
    symbol, words, css = TICKS.get(message.status, ("", message.status, ""))
    if message.status == "queued" and message.attempts:
        words = "nuovo tentativo in attesa"
    return symbol, words, css


def link(url: Any) -> str | None:
    """An attachment address safe to put in href (http and https only), else None."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def size(value: Any) -> str:
    if not isinstance(value, int) or value < 0:
        return ""
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.0f} kB"
    return f"{value / 1024 / 1024:.1f} MB"


def init_app(app: Flask) -> None:
    app.add_template_filter(clock)
    app.add_template_filter(iso)
    app.add_template_filter(ago)
    app.add_template_filter(until)
    app.add_template_filter(tick)
    app.add_template_filter(link)
    app.add_template_filter(size)
    app.add_template_filter(reason)
    app.jinja_env.globals.update(
        PRIORITY_LABELS=PRIORITY_LABELS,
        CHANNEL_LABELS=CHANNEL_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        MAIL_KINDS=MAIL_KINDS,
        Status=Status,
    )
