"""[email] settings: checked at start-up with errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import config

BASE = {
    "SOS_EMAIL_ADDRESS": "aiuto@example.org",
    "SOS_EMAIL_IMAP_HOST": "imap.example.org",
    "SOS_EMAIL_SMTP_HOST": "smtp.example.org",
}
PRODUCTION = {
    "SOS_SERVER_ENVIRONMENT": "production",
    "SOS_SERVER_SECRET_KEY": "k" * 40,
    "SOS_SERVER_PUBLIC_URL": "https://aiuto.example.org",
}


def load(**env: str) -> config.Settings:
    return config.load(None, env={**BASE, **env})


def test_defaults_are_valid_and_the_user_name_defaults_to_the_address() -> None:
    settings = load()
    assert settings.email.enabled and settings.email.login == "aiuto@example.org"
    assert load(SOS_EMAIL_USERNAME="utente").email.login == "utente"


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"SOS_EMAIL_IDLE_SECONDS": "1800"}, "email.idle_seconds"),
        ({"SOS_EMAIL_IDLE_SECONDS": "0"}, "email.idle_seconds"),
        ({"SOS_EMAIL_POLL_SECONDS": "0"}, "poll_seconds"),
        ({"SOS_EMAIL_MAX_AUTO_REPLIES_PER_DAY": "-1"}, "max_auto_replies_per_day"),
        ({"SOS_EMAIL_MAX_MESSAGE_BYTES": "10"}, "max_message_bytes"),
        ({"SOS_EMAIL_SMTP_TIMEOUT_SECONDS": "45"}, "email.smtp_timeout_seconds"),  # lease is 60
        ({"SOS_EMAIL_TLS_CA_FILE": "/nonexistent/ca.pem"}, "email.tls_ca_file"),
        ({"SOS_EMAIL_IMAP_TLS": "ssl"}, "email.imap_tls"),
    ],
)
def test_wrong_values_are_refused_by_name(env: dict[str, str], key: str) -> None:
    with pytest.raises(config.ConfigError, match=key):
        load(**env)


def test_production_refuses_a_clear_text_password_to_another_machine(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="email.imap_tls"):
        load(**PRODUCTION, SOS_EMAIL_IMAP_TLS="none")
    local = load(**PRODUCTION, SOS_EMAIL_SMTP_TLS="none", SOS_EMAIL_SMTP_HOST="127.0.0.1")
    assert local.email.smtp_tls == "none"  # a relay on the same machine is fine
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load(SOS_EMAIL_TLS_CA_FILE=str(ca)).email.tls_ca_file == str(ca)
