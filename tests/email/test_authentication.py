"""Reading the mailbox provider's Authentication-Results: who vouches for a From address."""

from __future__ import annotations

import pytest

from bot.channels.email.authentication import check
from bot.channels.email.parse import parse
from tests.email.conftest import PROVIDER, YOUNG, compose

GMAIL = (
    "mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=Ab12; "
    "spf=pass (google.com: domain of giulia.rossi@example.com designates 192.0.2.1 as "
    "permitted sender) smtp.mailfrom=giulia.rossi@example.com; "
    "dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"
)


@pytest.mark.parametrize(
    ("headers", "verified"),
    [
        ([GMAIL], True),
        (["MX.Google.com;\r\n\tdmarc=pass header.from=example.com"], True),  # folded, any case
        (["mx.google.com; dkim=pass header.d=mail.example.com"], True),  # aligned subdomain
        (["mx.google.com; spf=pass smtp.mailfrom=giulia.rossi@example.com"], True),
        (["mx.google.com; dmarc=fail header.from=example.com"], False),
        (
            ["mx.google.com; dmarc=pass header.from=example.com; spf=fail smtp.mailfrom=a@x.test"],
            False,
        ),  # any failure is enough
        (["mx.google.com; dmarc=pass header.from=evil.test"], False),  # another domain
        (
            ["mx.google.com; dmarc=none header.from=example.com; dkim=pass header.d=evil.test"],
            False,
        ),
        (
            ["mx.google.com; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=x@evil.test"],
            False,
        ),
        (["mx.google.com; none"], False),
        (["mail.evil.test; dmarc=pass header.from=example.com"], False),  # not our provider
        (["mx.google.com; dmarc=fail header.from=example.com", GMAIL], False),  # the top one counts
        (["mx.google.com; ;;;==", GMAIL], True),  # an unreadable header vouches for nothing
        ([], False),
    ],
)
def test_sender_check(headers: list[str], verified: bool) -> None:
    assert check(headers, YOUNG, "mx.google.com").verified is verified


def test_no_provider_configured_or_no_sender_is_never_verified() -> None:
    assert not check([GMAIL], YOUNG, "").verified
    assert not check([GMAIL], None, "mx.google.com").verified


def test_the_headers_are_read_top_to_bottom_from_the_mail() -> None:
    raw = compose("STOP", auth=f"{PROVIDER}; dmarc=fail header.from=example.com")
    raw = raw.replace(
        b"From:",
        b"Authentication-Results: "
        + PROVIDER.encode()
        + b"; dmarc=pass header.from=example.com\r\nFrom:",
        1,
    )
    mail = parse(raw)
    assert len(mail.auth_results) == 2 and "fail" in mail.auth_results[0]
    assert not check(mail.auth_results, mail.sender, PROVIDER).verified
