"""The [twilio] settings this channel adds are checked at start-up, naming the key."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load


@pytest.mark.parametrize(
    "env,key",
    [
        ({"SOS_TWILIO_TIMEOUT_SECONDS": "0"}, "twilio.timeout_seconds"),
        ({"SOS_TWILIO_TIMEOUT_SECONDS": "30"}, "worker.lease_seconds"),
        ({"SOS_WORKER_LEASE_SECONDS": "5"}, "worker.lease_seconds"),
        ({"SOS_TWILIO_MESSAGING_SERVICE_SID": "PN123"}, "twilio.messaging_service_sid"),
        ({"SOS_TWILIO_REENGAGE_CONTENT_SID": "template-1"}, "twilio.reengage_content_sid"),
        ({"SOS_TWILIO_REENGAGE_CONTENT_VARIABLES": "{1: x}"}, "twilio.reengage_content_variables"),
        (
            {"SOS_TWILIO_REENGAGE_CONTENT_VARIABLES": '{"1": 2}'},
            "twilio.reengage_content_variables",
        ),
        ({"SOS_TWILIO_API_BASE_URL": "api.twilio.com"}, "twilio.api_base_url"),
    ],
)
def test_bad_twilio_settings_are_refused(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(None, env=env)


def test_defaults_are_valid() -> None:
    s = load(None, env={})
    assert s.twilio.api_base_url == "https://api.twilio.com"
    assert s.worker.lease_seconds >= 3 * s.twilio.timeout_seconds
