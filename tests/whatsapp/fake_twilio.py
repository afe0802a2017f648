"""A local HTTP server that speaks Twilio's Messages REST API (the part we use).

It checks HTTP basic auth like Twilio, creates message resources, lists and fetches them,
records every request, fails on demand (500 / 429 + Retry-After / 4xx with Twilio's error JSON,
for the next requests or for a while), hangs on demand (before or after accepting a message),
and sends signed status callbacks to the StatusCallback URL of a message when asked. Only
127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

API = "/2010-04-01/Accounts/"


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    at: float


@dataclass
class Outcome:
    """What the server does with the next create request."""

    status: int = 201
    code: int | None = None
    message: str = ""
    retry_after: str | None = None
    hang: bool = False  # hold the request until release() (or hang_seconds)
    accept: bool = False  # with hang: create the message first, then hold the answer
    delay: float = 0.0  # answer normally, but only after this many seconds
    gateway: bool = False  # Twilio took the message; a gateway in between answers a bare error


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # created, oldest first
    list_pages: int = 0  # pages of the message list served
    auto_status: list[str] = field(default_factory=list)  # callbacks sent after each create
    callback_results: list[int] = field(default_factory=list)
    hang_seconds: float = 60.0
    post_callback: Callable[[str, dict[str, str], dict[str, str]], int] | None = None

    def __post_init__(self) -> None:
        self._script: deque[Outcome] = deque()
        self._lock = threading.Condition()
        self._release = threading.Event()
        self._outage: list[Outcome] = []  # answered in turn by every create while it lasts
        self._outage_until = 0.0
        self._outage_turn = 0
        self.hanging = threading.Event()  # set while a request is held
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # answers as fast as Twilio's, not 40 ms late

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # -- control, for the tests -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def fail(
        self,
        status: int,
        code: int | None = None,
        message: str = "",
        *,
        times: int = 1,
        retry_after: str | None = None,
        gateway: bool = False,
    ) -> None:
        """The next `times` create requests answer `status` with Twilio's error JSON; with
        `gateway`, Twilio takes each message and a proxy in between answers `status` with a bare
        page of its own (no JSON: nobody can tell from it whether the message was created)."""
        for _ in range(times):
            self._script.append(
                Outcome(status, code or status, message or "error", retry_after, gateway=gateway)
            )

    def outage(
        self, seconds: float, statuses: tuple[int, ...] = (500, 429), retry_after: str = "1"
    ) -> None:
        """For `seconds`, every create request fails, answering each of `statuses` in turn
        (a 429 with Retry-After); end_outage() ends it early."""
        self._outage = [
            Outcome(s, 20000 + s, "outage", retry_after if s == 429 else None) for s in statuses
        ]
        self._outage_until = time.monotonic() + seconds

    def end_outage(self) -> None:
        self._outage_until = 0.0

    def hang(self, *, accept: bool = False) -> None:
        """The next create request is held until release(); with accept, Twilio took it."""
        self._release.clear()
        self._script.append(Outcome(hang=True, accept=accept))

    def slow(self, seconds: float) -> None:
        """The next create request is answered normally after `seconds`."""
        self._script.append(Outcome(delay=seconds))

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def creates(self) -> list[Recorded]:
        """Every create request received (whatever it was answered)."""
        return [r for r in self.requests if r.method == "POST"]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the fake Twilio server did not see what was expected")
                self._lock.wait(min(left, 0.1))

    def callback(self, sid: str, status: str, error_code: str | None = None) -> int:
        """Send a signed status callback for a created message, as Twilio does."""
        message = next(m for m in self.messages if m["sid"] == sid)
        url = message["_status_callback"]
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "From": message["from"],
            "To": message["to"],
            "ApiVersion": "2010-04-01",
            "ChannelPrefix": "whatsapp",
        }
        if error_code:
            params["ErrorCode"] = error_code
        headers = {
            "X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, params)
        }
        result = (self.post_callback or http_post)(url, params, headers)
        self.callback_results.append(result)
        return result

    # -- serving --------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(
                Recorded(method, parts.path, query, form, dict(h.headers), time.monotonic())
            )
            self._lock.notify_all()
        if not self._authorised(h, parts.path):
            return self._answer(h, 401, _error(401, 20003, "Authenticate"))
        base = f"{API}{self.account_sid}/Messages"
        if method == "POST" and parts.path == f"{base}.json":
            return self._create(h, form)
        if method == "GET" and parts.path == f"{base}.json":
            return self._list(h, query)
        if method == "GET" and parts.path.startswith(base + "/"):
            sid = parts.path[len(base) + 1 :].removesuffix(".json")
            found = [self._public(m) for m in self.messages if m["sid"] == sid]
            if found:
                return self._answer(h, 200, found[0])
        self._answer(h, 404, _error(404, 20404, "The requested resource was not found"))

    def _authorised(self, h: BaseHTTPRequestHandler, path: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        given = h.headers.get("Authorization", "")
        return given == f"Basic {expected}" and path.startswith(f"{API}{self.account_sid}/")

    def _next_outcome(self) -> Outcome:
        with self._lock:
            if self._outage and time.monotonic() < self._outage_until:
                outcome = self._outage[self._outage_turn % len(self._outage)]
                self._outage_turn += 1
                return outcome
        return self._script.popleft() if self._script else Outcome()

    def _create(self, h: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        outcome = self._next_outcome()
        if outcome.delay:
            time.sleep(outcome.delay)
        if outcome.gateway:
            self._store(form)
            page = b"<html><body>502 Bad Gateway</body></html>"
            h.send_response(outcome.status)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(len(page)))
            h.end_headers()
            h.wfile.write(page)
            return None
        if outcome.status >= 400:
            extra = {"Retry-After": outcome.retry_after} if outcome.retry_after else {}
            return self._answer(
                h, outcome.status, _error(outcome.status, outcome.code, outcome.message), extra
            )
        problem = self._invalid(form)
        if problem:
            return self._answer(h, 400, _error(400, *problem))
        message = None
        if not outcome.hang or outcome.accept:
            message = self._store(form)
        if outcome.hang:
            self.hanging.set()
            self._release.wait(self.hang_seconds)
            self.hanging.clear()
            if message is None:  # dropped before Twilio took it: close without an answer
                h.close_connection = True
                return None
        assert message is not None
        try:
            self._answer(h, 201, self._public(message))
        except OSError:  # the client is gone (killed, or gave up waiting)
            return None
        if self.auto_status and message["_status_callback"]:
            threading.Thread(
                target=self._auto_callbacks, args=(message["sid"],), daemon=True
            ).start()
        return None

    def _invalid(self, form: dict[str, str]) -> tuple[int, str] | None:
        if not form.get("To"):
            return 21604, "A 'To' phone number is required."
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return 21603, "A 'From' phone number is required."
        if not (form.get("Body") or form.get("ContentSid") or form.get("MediaUrl")):
            return 21619, "A text message body or media urls must be specified."
        if len(form.get("Body", "")) > 1600:
            return 21617, "The concatenated message body exceeds the 1600 character limit."
        whatsapp = form.get("To", "").startswith("whatsapp:")
        if form.get("From") and form["From"].startswith("whatsapp:") != whatsapp:
            return 63007, "Twilio could not find a Channel with the specified From address"
        return None

    def _store(self, form: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        body = form.get("Body") or (
            f"[template {form['ContentSid']}]" if "ContentSid" in form else ""
        )
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": form["To"],
            "from": form.get("From") or "whatsapp:+14155238886",
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "date_created": format_datetime(now),
            "date_updated": format_datetime(now),
            "date_sent": None,
            "uri": f"{API}{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {},
            "_status_callback": form.get("StatusCallback", ""),
            "_form": form,
            "_at": time.monotonic(),  # when it was accepted (this process's monotonic clock)
        }
        with self._lock:
            self.messages.append(message)
            self._lock.notify_all()
        return message

    def _list(self, h: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        found = [
            m
            for m in reversed(self.messages)
            if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])
        ]
        size, page = int(query.get("PageSize", "50")), int(query.get("Page", "0"))
        base = f"{API}{self.account_sid}/Messages.json"
        kept = {k: v for k, v in query.items() if k in ("To", "From")}

        def uri(number: int) -> str:
            return f"{base}?{urlencode({**kept, 'PageSize': size, 'Page': number})}"

        shown = found[page * size : (page + 1) * size]
        self.list_pages += 1
        self._answer(
            h,
            200,
            {
                "messages": [self._public(m) for m in shown],
                "page": page,
                "page_size": size,
                "start": page * size,
                "end": page * size + max(0, len(shown) - 1),
                "uri": uri(page),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if (page + 1) * size < len(found) else None,
                "previous_page_uri": uri(page - 1) if page else None,
            },
        )

    def _auto_callbacks(self, sid: str) -> None:
        for status in self.auto_status:
            try:
                self.callback(sid, status)
            except Exception:  # the receiving end may be gone
                return

    @staticmethod
    def _public(message: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in message.items() if not k.startswith("_")}

    @staticmethod
    def _answer(
        h: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)


def _error(status: int, code: int | None, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }


def http_post(url: str, params: dict[str, str], headers: dict[str, str]) -> int:
    """POST a form over HTTP (how Twilio calls a live webhook)."""
    from urllib.parse import urlencode

    request = urllib.request.Request(
        url,
        data=urlencode(params).encode(),
        method="POST",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
