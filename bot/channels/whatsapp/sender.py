"""Sending outbox rows through Twilio's Messages API with the real twilio client.

Outcomes, as the worker needs them:
- accepted → Sent(MessageSid); Twilio's status callbacks then move the row forward.
- 429, 5xx, 401, no connection, no answer in time → TemporaryFailure (retried with backoff,
  honouring Retry-After).
- any other 4xx → PermanentFailure with Twilio's code and a reason listeners can read.
- free text after WhatsApp's 24-hour window → PermanentFailure("window_closed"), not sent.

A try whose outcome we never learnt (no answer in time, a broken connection, a bare 5xx from a
gateway, or the worker died mid-request) is not sent blindly again: the row is marked
UNCONFIRMED and its next try first asks Twilio whether it already holds the message (see
`_accepted_before` and docs/whatsapp.md). A refusal in Twilio's own words (its error JSON, a
429 or 5xx included) means no message was created: the next try sends at once, without paging
through Twilio's list, which during an outage would cost every retry a walk back through
everything sent since.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channel import UNCONFIRMED, PermanentFailure, Sent, TemporaryFailure
from bot.channels.whatsapp import errors
from bot.channels.whatsapp.window import window_open
from bot.config import Twilio
from bot.db import read_session
from bot.models import Contact, Conversation, Message

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
# An earlier, unconfirmed send is looked for among our messages since the row was queued
# (newest first, a page at a time): however many replies left meanwhile, up to this many.
LOOKUP_LIMIT = 20_000
LOOKUP_PAGE = 100
LOOKUP_SLACK = timedelta(seconds=60)  # clocks differ; Twilio stamps whole seconds

# twilio-python logs each request at INFO; our logs stay free of traffic details.
_http_log = logging.getLogger("bot.channels.whatsapp.http")
_http_log.setLevel(logging.WARNING)


class TwilioHttp(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """twilio-python's own HTTP client, pointed at `twilio.api_base_url`.

    twilio-python builds absolute URLs on https://api.twilio.com; this client swaps that origin
    for the configured one (a regional edge, or a local server in tests) and remembers the
    headers of the last answer in this thread (for Retry-After).
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_http_log)
        self.base_url = base_url.rstrip("/")
        self._last = threading.local()

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API) and self.base_url != TWILIO_API:
            url = self.base_url + url[len(TWILIO_API) :]
        self._last.headers = {}
        response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self._last.headers = dict(response.headers or {})
        return response

    def retry_after(self) -> float | None:
        """Seconds from the last answer's Retry-After header, if it gave a number."""
        headers = getattr(self._last, "headers", {}) or {}
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


def _aware(moment: datetime) -> datetime:
    """Twilio's client parses its dates as UTC; an unzoned one is read as UTC too."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TwilioSender:
    """Sends one WhatsApp (or SMS) outbox row; raises TemporaryFailure or PermanentFailure."""

    def __init__(
        self,
        settings: Twilio,
        *,
        channel: str = "whatsapp",
        public_url: str = "",
        db: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.public_url = public_url.rstrip("/")
        self.db = db  # to tell an unconfirmed earlier send from another row's message
        self.http = TwilioHttp(settings.api_base_url, settings.timeout_seconds)
        self.client = Client(settings.account_sid, settings.auth_token, http_client=self.http)
        if not self.public_url and channel == "whatsapp":
            log.warning(
                "server.public_url is not set: Twilio cannot report delivery, "
                "messages will stay 'sent'"
            )

    def send(self, message: Message, contact: Contact, conversation: Conversation) -> Sent:
        if message.external_id:  # Twilio took it on an earlier try (its status callback said so)
            return Sent(external_id=message.external_id)
        sender = self._from(conversation)
        if message.error_code == UNCONFIRMED:  # an earlier try may be at Twilio: never send twice
            earlier = self._accepted_before(message, contact, sender)
            if earlier is not None:
                log.info(
                    "message %s: Twilio already had it from an earlier try (%s)",
                    message.id,
                    earlier,
                )
                return Sent(external_id=earlier)
        if message.kind != "template" and not window_open(conversation):
            raise PermanentFailure(errors.explain(errors.WINDOW_CLOSED), code=errors.WINDOW_CLOSED)
        try:
            created = self.client.messages.create(**self._params(message, contact, sender))
        except (TwilioRestException, TwilioServiceException) as exc:
            raise self._refused(exc) from exc
        except requests.exceptions.ConnectTimeout as exc:  # nothing was sent
            raise TemporaryFailure("Twilio unreachable (connect timeout)") from exc
        except requests.exceptions.Timeout as exc:
            raise TemporaryFailure(
                "no answer from Twilio in time: outcome unknown, "
                "checked with Twilio before the next try",
                unconfirmed=True,
            ) from exc
        except requests.exceptions.RequestException as exc:  # the request may have gone out
            raise TemporaryFailure(
                f"Twilio unreachable ({type(exc).__name__})", unconfirmed=True
            ) from exc
        except TwilioException as exc:
            raise TemporaryFailure(
                f"unexpected answer from Twilio ({type(exc).__name__})", unconfirmed=True
            ) from exc
        return Sent(external_id=created.sid)  # then its status callbacks tell us more

    # -- building the request -------------------------------------------------------------

    def _from(self, conversation: Conversation) -> str:
        """The number the young person wrote to, else the configured WhatsApp number."""
        ours = str(conversation.channel_data.get("twilio_from") or "")
        whatsapp = self.channel == "whatsapp"
        if ours and ours.startswith("whatsapp:") == whatsapp:
            return ours
        number = self.settings.whatsapp_number
        return number if whatsapp else number.removeprefix("whatsapp:")

    def _params(self, message: Message, contact: Contact, sender: str) -> dict[str, Any]:
        params: dict[str, Any] = {"to": contact.address}
        if self.settings.messaging_service_sid:
            params["messaging_service_sid"] = self.settings.messaging_service_sid
        else:
            params["from_"] = sender
        if message.kind == "template":
            content_sid = message.meta.get("content_sid")
            if not content_sid:
                raise PermanentFailure(
                    "Modello senza ContentSid: controllare twilio.reengage_content_sid.",
                    code="no_template",
                )
            params["content_sid"] = content_sid
            params["content_variables"] = message.meta.get("content_variables") or "{}"
        else:
            params["body"] = message.body
        if self.public_url:
            params["status_callback"] = f"{self.public_url}/twilio/status?message={message.id}"
        return params

    # -- reading Twilio's answer ------------------------------------------------------------

    def _refused(self, exc: TwilioRestException | TwilioServiceException) -> Exception:
        status = int(getattr(exc, "status", 0) or 0)
        code = getattr(exc, "code", None) or status
        detail = str(getattr(exc, "msg", "") or getattr(exc, "detail", "") or "")
        if status == 429 or status >= 500:
            # Twilio's own error (its JSON, with an error code of its own) means it created no
            # message; a bare 5xx from a gateway in between does not say whether Twilio did.
            return TemporaryFailure(
                f"Twilio answered {status} (error {code})",
                retry_after=self.http.retry_after(),
                unconfirmed=status != 429 and code == status,
            )
        if status == 401:  # a wrong token is fixed by a person: keep the message until then
            log.error("Twilio refused our credentials: check twilio.account_sid and auth_token")
            return TemporaryFailure(f"Twilio refused our credentials (error {code})")
        return PermanentFailure(errors.explain(code, detail), code=str(code))

    def _accepted_before(self, message: Message, contact: Contact, sender: str) -> str | None:
        """The SID of this row's message if an earlier, unconfirmed try reached Twilio.

        Pages back through the messages from our number (newest first) until one older than the
        row, for one to the same person with the same text that no other row of ours claims: a
        busy line may have sent thousands of replies since a worker died mid-send.
        Templates cannot be matched by text: they are re-sent (at least once).
        """
        if message.kind == "template":
            return None
        since = message.created_at - LOOKUP_SLACK
        # Filtered by our number only: the young person's number stays out of URLs.
        ours: dict[str, Any] = {} if self.settings.messaging_service_sid else {"from_": sender}
        recent = []
        try:
            for m in self.client.messages.stream(limit=LOOKUP_LIMIT, page_size=LOOKUP_PAGE, **ours):
                if m.date_created is not None and _aware(m.date_created) < since:
                    break  # newest first: the rest is older than the row
                recent.append(m)
        except (TwilioException, requests.exceptions.RequestException) as exc:
            raise TemporaryFailure(
                f"could not check whether Twilio already has the message ({type(exc).__name__})",
                unconfirmed=True,
            ) from exc
        candidates = [
            m.sid
            for m in sorted(recent, key=lambda m: m.date_created or since)
            if m.to == contact.address
            and (m.body or "").strip() == message.body.strip()
            and str(m.direction or "").startswith("outbound")
            and m.date_created is not None
            and _aware(m.date_created) >= since
        ]
        taken = self._claimed_by_others(message, candidates)
        return next((sid for sid in candidates if sid not in taken), None)

    def _claimed_by_others(self, message: Message, sids: list[str]) -> set[str]:
        if not sids or self.db is None:
            return set()
        with read_session(self.db) as session:
            rows = session.exec(
                select(Message.external_id).where(
                    Message.channel == message.channel,
                    col(Message.external_id).in_(sids),
                    Message.id != message.id,
                )
            )
            return {sid for sid in rows if sid}
