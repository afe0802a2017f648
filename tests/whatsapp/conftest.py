"""WhatsApp fixtures: a local Twilio API server, webhooks signed exactly as Twilio signs them."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import col, select
from twilio.request_validator import RequestValidator
from werkzeug.serving import BaseWSGIServer, make_server

from bot import db
from bot.app import create_app
from bot.channels import registry
from bot.db import read_session
from bot.models import Message
from bot.runtime import Runtime
from bot.worker import receive_due
from tests.conftest import make_settings
from tests.waiting import wait_until  # noqa: F401  (re-exported for the tests)
from tests.whatsapp.fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
OUR_NUMBER = "whatsapp:+14155238886"
PUBLIC_URL = "https://sos.example.org"  # behind a TLS-terminating proxy
YOUNG = "whatsapp:+393331234567"

_sids = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_sids):032x}"


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1 of the URL and the sorted form."""
    return str(RequestValidator(token).compute_signature(url, params))


def message_form(
    body: str = "ciao",
    *,
    sid: str | None = None,
    sender: str = YOUNG,
    to: str = OUR_NUMBER,
    profile: str = "Giulia",
    media: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """The form Twilio posts for an incoming WhatsApp message."""
    sid = sid or new_sid("MM" if media else "SM")
    form = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ProfileName": profile,
        "MessageType": "image" if media else "text",
        "SmsSid": sid,
        "WaId": sender[10:],
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    for i, (url, kind) in enumerate(media):
        form[f"MediaUrl{i}"] = url
        form[f"MediaContentType{i}"] = kind
    return form


def twilio_env(api_base_url: str, public_url: str = PUBLIC_URL, **extra: Any) -> dict[str, Any]:
    return {
        "SOS_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "SOS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SOS_TWILIO_WHATSAPP_NUMBER": OUR_NUMBER,
        "SOS_TWILIO_API_BASE_URL": api_base_url,
        "SOS_SERVER_PUBLIC_URL": public_url,
        "SOS_TWILIO_TIMEOUT_SECONDS": "5",
        "SOS_WORKER_BACKOFF_BASE_SECONDS": "0.05",
        "SOS_WORKER_BACKOFF_MAX_SECONDS": "0.5",
        **extra,
    }


def messages(rt: Runtime, direction: str | None = None) -> list[Message]:
    with read_session(rt.db) as session:
        query = select(Message).order_by(col(Message.created_at))
        if direction:
            query = query.where(Message.direction == direction)
        return list(session.exec(query))


def message(rt: Runtime, message_id: str) -> Message:
    with read_session(rt.db) as session:
        found = session.get(Message, message_id)
        assert found is not None
        return found


@dataclass
class Webhooks:
    """Posts to our webhooks as Twilio does, through the Flask test client.

    A message accepted by the webhook is then read as the worker reads it (bot.worker), unless
    `read=False`: a test sees what the young person gets without running the worker loop.
    """

    client: Any
    rt: Runtime
    public_url: str = PUBLIC_URL
    token: str = AUTH_TOKEN

    def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        read: bool = True,
    ) -> Any:
        if signature is None:
            signature = sign(self.public_url + path, params, self.token)
        all_headers = {"X-Twilio-Signature": signature} if signature else {}
        all_headers.update(headers or {})
        response = self.client.post(path, data=params, headers=all_headers)
        if read and path == "/twilio/whatsapp":
            receive_due(self.rt)
        return response

    def message(self, body: str = "ciao", *, read: bool = True, **kw: Any) -> Any:
        return self.post("/twilio/whatsapp", message_form(body, **kw), read=read)

    def deliver(self, url: str, params: dict[str, str], headers: dict[str, str]) -> int:
        """For FakeTwilio.post_callback: a callback to our public URL, via the test client."""
        assert url.startswith(self.public_url), url
        path = url[len(self.public_url) :]
        return int(self.client.post(path, data=params, headers=headers).status_code)


@pytest.fixture
def twilio_server() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    yield fake
    fake.stop()


def wired_runtime(database_url: str, env: dict[str, Any]) -> Runtime:
    settings = make_settings(database_url, **env)
    rt = Runtime.create(settings, engine=db.make_engine(settings.database.url))
    registry.configure_senders(rt)
    return rt


@pytest.fixture
def wa_rt(database_url: str, twilio_server: FakeTwilio) -> Iterator[Runtime]:
    """A runtime with the real Twilio sender pointed at the local server."""
    rt = wired_runtime(database_url, twilio_env(twilio_server.base_url))
    yield rt
    rt.db.dispose()


@pytest.fixture
def webhooks(wa_rt: Runtime, twilio_server: FakeTwilio) -> Webhooks:
    app = create_app(rt=wa_rt)
    app.config.update(TESTING=True)
    hooks = Webhooks(app.test_client(), wa_rt)
    twilio_server.post_callback = hooks.deliver
    return hooks


@dataclass
class Live:
    """Our app on a real loopback HTTP server, with the runtime and the fake Twilio."""

    url: str
    rt: Runtime
    twilio: FakeTwilio
    server: BaseWSGIServer


def serve(rt: Runtime) -> tuple[BaseWSGIServer, str]:
    """Serve the app on 127.0.0.1 (a free port); server.public_url becomes its URL."""
    app = create_app(rt=rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    rt.settings.server.public_url = url
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, url


@pytest.fixture
def live(database_url: str, twilio_server: FakeTwilio) -> Iterator[Live]:
    rt = wired_runtime(
        database_url, twilio_env(twilio_server.base_url, public_url="http://placeholder")
    )
    server, url = serve(rt)
    registry.configure_senders(rt)  # again, now that the public URL is known
    yield Live(url, rt, twilio_server, server)
    server.shutdown()
    server.server_close()
    rt.db.dispose()
