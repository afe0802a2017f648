"""Twilio's message form → Inbound. Every field is untrusted, even on a signed request."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from bot.channel import Inbound

MAX_MEDIA = 10  # Twilio sends at most 10 media per message
MAX_TEXT = 10_000  # WhatsApp allows 4,096 characters; anything longer is cut, not refused
MAX_NAME = 100
MAX_URL = 2048
ZWJ = "\u200d"  # joins emoji sequences: kept
ADDRESS = re.compile(r"(whatsapp:)?\+[1-9][0-9]{5,15}")
SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]{0,63}/[\w.+-]{1,100}")


class BadWebhook(ValueError):
    """The form lacks what a message needs; the text says which field."""


def parse(form: Mapping[str, str]) -> Inbound:
    """Turn a (signature-checked) Twilio message webhook into an Inbound."""
    sender = form.get("From", "").strip()
    if not ADDRESS.fullmatch(sender):
        raise BadWebhook("From: expected whatsapp:+<number> or +<number>")
    sid = form.get("MessageSid", "").strip()
    if not SID.fullmatch(sid):
        raise BadWebhook("MessageSid: expected a Twilio message SID")
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    text = _text(form.get("Body", ""))
    meta: dict[str, Any] = {"provider": "twilio"}
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
        meta["truncated"] = True
    replied = form.get("OriginalRepliedMessageSid", "").strip()
    if SID.fullmatch(replied):
        meta["in_reply_to"] = replied
    thread: dict[str, Any] = {}
    ours = form.get("To", "").strip()
    if ADDRESS.fullmatch(ours) and ours.startswith("whatsapp:") == (channel == "whatsapp"):
        thread["twilio_from"] = ours  # replies leave from the number the young person wrote to
    return Inbound(
        channel=channel,
        address=sender,
        text=text,
        external_id=sid,
        media=media(form),
        display_name=display_name(form.get("ProfileName", "")),
        meta=meta,
        thread=thread,
    )


def media(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """References to the attachments (never downloaded) and a shared location, if any."""
    found: list[dict[str, Any]] = []
    try:
        count = max(0, min(MAX_MEDIA, int(form.get("NumMedia", "0") or "0")))
    except ValueError:
        count = MAX_MEDIA  # a broken count: look at what is there
    for i in range(count):
        url = form.get(f"MediaUrl{i}", "").strip()
        if not url.startswith(("https://", "http://")) or len(url) > MAX_URL:
            continue
        kind = form.get(f"MediaContentType{i}", "").strip()
        found.append(
            {
                "url": url,
                "type": kind if CONTENT_TYPE.fullmatch(kind) else "application/octet-stream",
            }
        )
    place = _location(form)
    if place:
        found.append(place)
    return found


def display_name(raw: str) -> str | None:
    """A WhatsApp profile name made harmless: no control characters, one line, short."""
    kept = []
    for c in raw:
        kind = unicodedata.category(c)
        if c.isspace():
            kept.append(" ")
        elif kind[0] != "C" or c == ZWJ:  # drop direction overrides, invisible characters
            kept.append(c)
    name = " ".join("".join(kept).split())[:MAX_NAME]
    return name or None


def _text(raw: str) -> str:
    """Message text without NUL and other control characters (newlines and tabs stay)."""
    return "".join(c for c in raw if c in "\n\t" or unicodedata.category(c) != "Cc").strip()


def _location(form: Mapping[str, str]) -> dict[str, Any] | None:
    try:
        lat, lon = float(form["Latitude"]), float(form["Longitude"])
    except (KeyError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    place: dict[str, Any] = {"type": "location", "latitude": lat, "longitude": lon}
    label = display_name(form.get("Label", "") or form.get("Address", ""))
    if label:
        place["label"] = label
    return place
