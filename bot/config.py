"""Typed settings: a TOML file, overridden key by key by SOS_<SECTION>_<KEY> variables."""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from flows.engine import EmergencyNumber
from flows.hours import HoursError, OpeningHours

TLS_MODES = ("tls", "starttls", "none")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
ENV_PREFIX = "SOS_"


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the key."""


@dataclass
class Server:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # the URL the outside world uses, e.g. https://aiuto.example.org
    secret_key: str = ""  # signs sessions and pseudonyms; generated and kept in the DB if empty
    environment: str = "development"  # "development" or "production"


@dataclass
class Database:
    url: str = "sqlite:///var/sos-bot.sqlite"
    # PostgreSQL: LISTEN/NOTIFY wakes workers and live updates at once; they also look this often,
    # in case a notification was lost (a dropped connection). SQLite polls (worker, dashboard).
    push_safety_seconds: float = 5.0
    # at start, how long to wait for a database that does not answer yet (PostgreSQL restarting)
    wait_seconds: float = 60.0


@dataclass
class Twilio:
    account_sid: str = ""
    auth_token: str = ""
    whatsapp_number: str = ""  # e.g. "whatsapp:+14155238886"
    api_base_url: str = "https://api.twilio.com"
    reengage_content_sid: str = ""  # approved template for closed 24-hour windows
    reengage_content_variables: str = "{}"  # JSON object, e.g. {"1": "S.O.S. Amico Giovani"}
    messaging_service_sid: str = ""  # optional MG...: send through a Messaging Service instead
    timeout_seconds: float = 10.0  # one request to Twilio; past it the outcome is unknown
    # keep the message and answer Twilio, a worker reads it (bot.arrivals); False: read it before
    # answering (needs no worker for the crisis check, answers Twilio a few ms later)
    answer_first: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.whatsapp_number)


@dataclass
class Email:
    address: str = ""
    imap_host: str = ""
    imap_port: int = 993
    imap_tls: str = "tls"
    imap_folder: str = "INBOX"
    processed_folder: str = ""  # move processed mail here; empty = only mark it \Seen
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_tls: str = "tls"
    username: str = ""
    password: str = ""
    idle_seconds: int = 1500  # re-issue IDLE before the server's 29-minute limit
    poll_seconds: int = 60  # used when the server has no IDLE
    max_auto_replies_per_day: int = 5
    max_attachment_bytes: int = 10_000_000
    max_message_bytes: int = 25_000_000  # larger mail: only its start is read (text, headers)
    from_name: str = "S.O.S. Amico Giovani"  # the name young people see next to `address`
    tls_ca_file: str = ""  # extra CA certificates (PEM) for a private mail server; "" = system
    smtp_timeout_seconds: float = 30.0  # one whole SMTP delivery; past it the send is retried
    # The mailbox provider's name in its Authentication-Results headers (e.g. "mx.google.com"):
    # only its DMARC/DKIM/SPF verdicts are trusted; "" = no sender is verified
    authserv_id: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.address and self.imap_host and self.smtp_host)

    @property
    def login(self) -> str:
        """The IMAP/SMTP user name: `username`, or the address itself."""
        return self.username or self.address


@dataclass
class Service:
    name: str = "S.O.S. Amico Giovani"
    timezone: str = "Europe/Rome"
    hours: str = "mon-fri 15:00-20:00; sat 10:00-13:00"
    flows_dir: str = ""  # a coordinator's own flow/FAQ/services folder; empty = built-in pack
    listener_capacity: int = 3  # default conversations a listener holds at once
    ask_feedback: bool = True  # after a listener's close: "was it useful? 1-5" (bot.feedback)

    def opening_hours(self) -> OpeningHours:
        return OpeningHours.parse(self.hours, self.timezone)


@dataclass
class Privacy:
    retention_days: int = 180
    # CANCELLA on a crisis still waiting in the queue: carried out once a listener has seen the
    # conversation, or after this many hours at the latest
    crisis_erasure_delay_hours: int = 24


def _default_numbers() -> list[dict[str, str]]:
    return [
        {"name": "Emergenza", "number": "112", "note": "pericolo immediato / immediate danger"},
        {"name": "Telefono Azzurro", "number": "19696", "note": "bambini e ragazzi, 24/7"},
        {"name": "Telefono Amico", "number": "02 2327 2327", "note": "ascolto"},
        {"name": "Antiviolenza e stalking", "number": "1522", "note": "24/7, gratuito"},
    ]


@dataclass
class Safety:
    numbers: list[dict[str, str]] = field(default_factory=_default_numbers)
    alert_after_minutes: int = 5  # a crisis no listener answered by then alerts the on-call
    alert_again_minutes: int = 10  # still unanswered this long after the first alert: again

    def emergency(self) -> tuple[EmergencyNumber, ...]:
        return tuple(
            EmergencyNumber(n["name"], n["number"], n.get("note", "")) for n in self.numbers
        )


@dataclass
class Worker:
    poll_seconds: float = 0.25  # how often the outbox is checked when nothing wakes the worker
    max_attempts: int = 12  # a message is failed after this many temporary errors
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0  # a worker holds a row this long while sending it


@dataclass
class Dashboard:
    session_hours: int = 12  # a login lasts one shift
    login_max_failures: int = 5  # failed logins per username before a pause
    login_window_minutes: int = 15  # ...counted over this many minutes
    live_poll_seconds: float = 0.75  # how often the live stream reads the change feed
    live_stream_seconds: int = 55  # a live stream ends after this; the browser reconnects
    window_warning_minutes: int = 120  # flag WhatsApp windows closing sooner than this
    trusted_proxies: int = 0  # reverse proxies in front (X-Forwarded-For/-Proto/-Host trusted)
    shift_idle_minutes: int = 30  # "in turno" switches off after this long without using it


def _default_zones() -> list[str]:
    return ["Cesena", "Bagno di Romagna", "Mercato Saraceno", "Montiano", "Sarsina", "Verghereto"]


@dataclass
class Directory:
    # the comuni or zones services are in and young people say they come from (never a street)
    zones: list[str] = field(default_factory=_default_zones)
    stale_months: int = 6  # a service not checked for longer is flagged "da verificare"


@dataclass
class Settings:
    server: Server = field(default_factory=Server)
    database: Database = field(default_factory=Database)
    twilio: Twilio = field(default_factory=Twilio)
    email: Email = field(default_factory=Email)
    service: Service = field(default_factory=Service)
    privacy: Privacy = field(default_factory=Privacy)
    safety: Safety = field(default_factory=Safety)
    worker: Worker = field(default_factory=Worker)
    dashboard: Dashboard = field(default_factory=Dashboard)
    directory: Directory = field(default_factory=Directory)
    source: str = "(defaults)"

    @property
    def production(self) -> bool:
        return self.server.environment == "production"


def _coerce(key: str, kind: Any, value: Any, from_env: bool) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        kind = next(a for a in get_args(kind) if a is not type(None))
        origin = get_origin(kind)
    if from_env:
        if kind is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        if kind in (int, float):
            pass
        elif kind is not str:
            try:
                value = tomllib.loads(f"v = {value}")["v"]
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{key}: cannot read the value as TOML ({exc})") from exc
    if kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{key}: expected a number, got {value!r}") from exc
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ConfigError(f"{key}: expected a whole number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{key}: expected a whole number, got {value!r}") from exc
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if origin is list and not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list, got {value!r}")
    return value


def _apply(settings: Settings, data: dict[str, Any], env: dict[str, str]) -> None:
    sections = {f.name: f for f in dataclasses.fields(Settings) if f.name != "source"}
    for name in data:
        if name not in sections:
            raise ConfigError(f"[{name}]: unknown section (known: {', '.join(sections)})")
    for name in sections:
        section = getattr(settings, name)
        hints = get_type_hints(type(section))
        values = data.get(name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"[{name}]: expected a table")
        for key in values:
            if key not in hints:
                raise ConfigError(f"{name}.{key}: unknown setting")
        for key, kind in hints.items():
            env_name = f"{ENV_PREFIX}{name}_{key}".upper()
            if env_name in env:
                setattr(
                    section, key, _coerce(f"{name}.{key} ({env_name})", kind, env[env_name], True)
                )
            elif key in values:
                setattr(section, key, _coerce(f"{name}.{key}", kind, values[key], False))


def _validate(s: Settings) -> None:
    if s.server.environment not in ("development", "production"):
        raise ConfigError("server.environment: expected 'development' or 'production'")
    if not 0 < s.server.port < 65536:
        raise ConfigError(f"server.port: {s.server.port} is not a TCP port")
    if s.server.public_url:
        parts = urlsplit(s.server.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                "server.public_url: expected an http(s) URL such as https://example.org"
            )
    if s.production:
        if len(s.server.secret_key) < 32 or s.server.secret_key.lower() in (
            "changeme",
            "changethis",
        ):
            raise ConfigError(
                "server.secret_key: set a random value of 32+ characters in production"
            )
        if not s.server.public_url.startswith("https://"):
            raise ConfigError("server.public_url: production needs the public https:// URL")
    if not s.database.url or "://" not in s.database.url:
        raise ConfigError("database.url: expected a URL such as sqlite:///var/sos-bot.sqlite")
    for key in ("imap_tls", "smtp_tls"):
        if getattr(s.email, key) not in TLS_MODES:
            raise ConfigError(f"email.{key}: expected one of {', '.join(TLS_MODES)}")
    for key in ("imap_port", "smtp_port"):
        if not 0 < getattr(s.email, key) < 65536:
            raise ConfigError(f"email.{key}: not a TCP port")
    if s.email.address and "@" not in s.email.address:
        raise ConfigError("email.address: expected an e-mail address")
    if s.twilio.whatsapp_number and not s.twilio.whatsapp_number.startswith("whatsapp:+"):
        raise ConfigError("twilio.whatsapp_number: expected the form whatsapp:+14155238886")
    if urlsplit(s.twilio.api_base_url).scheme not in ("http", "https"):
        raise ConfigError("twilio.api_base_url: expected an http(s) URL")
    _validate_twilio(s)
    _validate_email(s)
    _validate_directory(s)
    try:
        s.service.opening_hours()
    except HoursError as exc:
        raise ConfigError(f"service.hours: {exc}") from exc
    if s.service.listener_capacity < 1:
        raise ConfigError("service.listener_capacity: at least 1")
    if s.privacy.retention_days < 1:
        raise ConfigError("privacy.retention_days: at least 1 day")
    if not 0 <= s.privacy.crisis_erasure_delay_hours <= 24 * 30:
        raise ConfigError("privacy.crisis_erasure_delay_hours: between 0 and 720 hours")
    if not s.safety.numbers:
        raise ConfigError("safety.numbers: at least one emergency number is required")
    for i, n in enumerate(s.safety.numbers):
        if not isinstance(n, dict) or not n.get("name") or not n.get("number"):
            raise ConfigError(f"safety.numbers[{i}]: each number needs a name and a number")
    if s.safety.alert_after_minutes < 0 or s.safety.alert_again_minutes < 1:
        raise ConfigError("safety: alert_after_minutes >= 0 and alert_again_minutes >= 1")
    if s.database.push_safety_seconds <= 0:
        raise ConfigError("database.push_safety_seconds: more than 0 (5 or more in production)")
    if s.worker.max_attempts < 1 or s.worker.poll_seconds <= 0:
        raise ConfigError("worker: max_attempts >= 1 and poll_seconds > 0")
    d = s.dashboard
    if (
        min(d.session_hours, d.login_max_failures, d.login_window_minutes, d.live_stream_seconds)
        < 1
    ):
        raise ConfigError(
            "dashboard: session_hours, login_max_failures, login_window_minutes "
            "and live_stream_seconds must be at least 1"
        )
    if d.shift_idle_minutes < 1:
        raise ConfigError("dashboard.shift_idle_minutes: at least 1")
    if d.live_poll_seconds <= 0 or d.window_warning_minutes < 0 or d.trusted_proxies < 0:
        raise ConfigError(
            "dashboard: live_poll_seconds > 0, window_warning_minutes >= 0 and trusted_proxies >= 0"
        )


def _validate_directory(s: Settings) -> None:
    zones = s.directory.zones
    if not zones or not all(isinstance(z, str) and z.strip() and len(z) <= 64 for z in zones):
        raise ConfigError("directory.zones: a list of names (at most 64 characters each)")
    if len(set(zones)) != len(zones) or "not_stated" in zones:
        raise ConfigError("directory.zones: each name once, and not 'not_stated'")
    if s.directory.stale_months < 1:
        raise ConfigError("directory.stale_months: at least 1")


def _validate_twilio(s: Settings) -> None:
    t = s.twilio
    if t.timeout_seconds <= 0:
        raise ConfigError("twilio.timeout_seconds: must be more than 0")
    if s.worker.lease_seconds < 3 * t.timeout_seconds:
        raise ConfigError(
            "worker.lease_seconds: at least 3 × twilio.timeout_seconds, so that a "
            "look-up and a send fit in one lease"
        )
    if t.messaging_service_sid and not t.messaging_service_sid.startswith("MG"):
        raise ConfigError("twilio.messaging_service_sid: expected a Messaging Service SID (MG...)")
    if t.reengage_content_sid and not t.reengage_content_sid.startswith("HX"):
        raise ConfigError("twilio.reengage_content_sid: expected a Content template SID (HX...)")
    try:
        variables = json.loads(t.reengage_content_variables or "{}")
    except ValueError as exc:
        raise ConfigError(f"twilio.reengage_content_variables: not JSON ({exc})") from exc
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ConfigError(
            "twilio.reengage_content_variables: expected a JSON object of strings, "
            'e.g. {"1": "S.O.S. Amico Giovani"}'
        )


def _validate_email(s: Settings) -> None:
    e = s.email
    if not 1 <= e.idle_seconds <= 29 * 60:
        raise ConfigError("email.idle_seconds: 1 to 1740 (servers end IDLE after 30 minutes)")
    if e.poll_seconds < 1 or e.max_auto_replies_per_day < 0:
        raise ConfigError("email: poll_seconds >= 1 and max_auto_replies_per_day >= 0")
    if min(e.max_attachment_bytes, e.max_message_bytes) < 1024:
        raise ConfigError("email: max_attachment_bytes and max_message_bytes at least 1024")
    if e.smtp_timeout_seconds <= 0 or s.worker.lease_seconds < 2 * e.smtp_timeout_seconds:
        raise ConfigError(
            "email.smtp_timeout_seconds: more than 0 and at most half of "
            "worker.lease_seconds, so that a send ends before its lease"
        )
    if e.tls_ca_file and not Path(e.tls_ca_file).is_file():
        raise ConfigError(f"email.tls_ca_file: {e.tls_ca_file} is not a file")
    if e.address and ("\n" in e.from_name or "\r" in e.from_name):
        raise ConfigError("email.from_name: one line only")
    if s.production and e.enabled:
        for kind in ("imap", "smtp"):
            host = getattr(e, f"{kind}_host")
            if getattr(e, f"{kind}_tls") == "none" and host not in LOOPBACK:
                raise ConfigError(
                    f"email.{kind}_tls: 'none' sends the password in clear; "
                    "production allows it only to a server on this machine"
                )


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read settings from PATH (or $SOS_CONFIG), then the environment; raise ConfigError."""
    env = dict(os.environ if env is None else env)
    path = path or env.get("SOS_CONFIG") or None
    data: dict[str, Any] = {}
    settings = Settings()
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{p}: configuration file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: {exc}") from exc
        settings.source = str(p)
    _apply(settings, data, env)
    _validate(settings)
    return settings
