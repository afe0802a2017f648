"""Reading real-world mail: charsets, HTML, quoted history, attachments, bounces, garbage."""

from __future__ import annotations

import random

import pytest

from bot.channels.email.decode import decode_bytes, decode_header, scrub_addresses
from bot.channels.email.intake import triage_text
from bot.channels.email.parse import MAX_TEXT, iter_structure, parse
from bot.channels.email.text import html_to_text, new_text
from tests.email.conftest import compose, sample


def test_plain_mail() -> None:
    mail = parse(sample("plain_utf8.eml"))
    assert mail.ok and not mail.problems
    assert mail.sender == "giulia.rossi@example.com"  # lower-cased: the conversation key
    assert mail.display_name == "Giulia Rossi"
    assert mail.subject == "Ho bisogno di parlare"
    assert mail.message_id == mail.external_id == "<CAF1plain@mail.example.com>"
    assert mail.new_text.startswith("Ciao, non so con chi parlare.")


def test_reply_keeps_only_the_new_text_for_triage() -> None:
    mail = parse(sample("reply_gmail_it.eml"))
    assert mail.new_text == "Sì, vorrei parlare con una persona."
    assert "Vuoi parlare con un volontario?" in mail.full_text  # the listener still sees it all
    assert "Liceo Galilei" in mail.full_text and "Liceo Galilei" not in mail.new_text
    assert mail.in_reply_to == ("<sos.0001@example.org>",)
    assert mail.thread_ids == ("<sos.0001@example.org>", "<CAF1plain@mail.example.com>")


def test_outlook_html_reply_is_text_without_the_quoted_headers() -> None:
    mail = parse(sample("outlook_reply_html.eml"))
    assert mail.display_name == "Bianchi, Luca"
    assert mail.new_text == "Grazie, mi serve sapere gli orari del consultorio.\nLuca"
    assert "color: red" not in mail.full_text and "<" not in mail.new_text
    assert "Inviato: lunedì 3 giugno" in mail.full_text  # quoted-printable Latin-1, decoded


def test_html_only_mail_is_turned_into_text_never_rendered() -> None:
    mail = parse(sample("html_only.eml"))
    assert mail.new_text.startswith("Non riesco più a dormire e ho paura.")
    assert "- primo\n- secondo" in mail.new_text
    for never in ("alert", "<", "tracker", "testo citato vecchio"):
        assert never not in mail.new_text
    assert "> testo citato vecchio" in mail.full_text


def test_plain_text_is_preferred_to_html() -> None:
    mail = parse(sample("alternative.eml"))
    assert mail.new_text == "Quando siete aperti?"


@pytest.mark.parametrize(
    ("name", "expected", "problem"),
    [
        ("unknown_8bit.eml", "Perché nessuno mi capisce? È difficile.", "charset_guessed"),
        ("mislabelled.eml", "Perché è così difficile? Città", "mislabelled_charset"),
        ("bogus_charset.eml", "ciao à tutti\n\n“virgolette” – trattino", "unknown_charset"),
        ("bad_base64.eml", "Mi sento molto giù oggi.", "bad_transfer_encoding"),
    ],
)
def test_broken_charsets_and_encodings_are_read_with_a_fallback(
    name: str, expected: str, problem: str
) -> None:
    mail = parse(sample(name))
    assert mail.ok
    assert mail.new_text.startswith(expected)
    assert problem in mail.problems


def test_eight_bit_and_encoded_headers() -> None:
    raw8 = parse(sample("header_8bit.eml"))
    assert raw8.subject == "perché è così" and raw8.display_name == "Niccolò Bianchi"
    encoded = parse(sample("rfc2047.eml"))
    assert encoded.subject == "Perché nessuno mi capisce?"
    assert encoded.display_name == "Niccolò Bianchi" and encoded.sender == "nicco@example.org"
    assert decode_header("=?x-unknown-charset?q?ci=E0o?=") == "ciào"
    assert decode_header("=?utf-8?b?bm90IGJhc2U2NA!!?=")  # bad base64 in a word: no exception
    assert "\n" not in decode_header("=?utf-8?q?riga1=0Ariga2?=")  # no header injection later


def test_decode_bytes_never_raises() -> None:
    assert decode_bytes(b"caf\xe9", "utf-8") == "café"  # Latin-1 under a UTF-8 label
    assert decode_bytes("è".encode(), "us-ascii") == "è"
    assert decode_bytes(b"\x93ok\x94", "iso-8859-1") == "“ok”"
    assert decode_bytes(b"\xff\xfe\xfd", "klingon") == "ÿþý"


def test_mail_without_message_id_gets_a_stable_hash() -> None:
    raw = sample("no_message_id.eml")
    first, again = parse(raw), parse(b"Received: from relay by mx; Wed, 5 Jun 2024\r\n" + raw)
    assert first.message_id is None
    assert first.external_id.startswith("sha256:") and first.external_id == again.external_id
    other = parse(raw.replace(b"senza Message-ID", b"diverso"))
    assert other.external_id != first.external_id


def test_attachments_are_recorded_by_name_type_and_size_without_content() -> None:
    mail = parse(sample("with_attachments.eml"), max_attachment_bytes=1000)
    assert mail.new_text == "Vi mando la pagella."
    by_name = {a["name"]: a for a in mail.attachments}
    pdf = by_name["pagella seconda è.pdf"]  # RFC 2231 file name
    assert pdf["type"] == "application/pdf" and pdf["size"] > 3000 and pdf["over_limit"]
    photo = by_name["foto è.jpg"]  # RFC 2047 file name (as Outlook sends it)
    assert photo["type"] == "image/jpeg" and photo["inline"] and "over_limit" not in photo
    assert by_name["messaggio inoltrato.eml"]["type"] == "message/rfc822"
    assert all(set(a) <= {"name", "type", "size", "inline", "over_limit"} for a in mail.attachments)


def test_unparseable_mail_is_kept_raw() -> None:
    mail = parse(sample("garbage.eml"))
    assert not mail.ok and mail.raw == sample("garbage.eml")
    assert mail.external_id.startswith("sha256:")
    assert "\x00" not in mail.new_text  # safe to store as text on PostgreSQL


def test_parse_never_raises_on_damaged_mail() -> None:
    rng = random.Random(1234)
    names = ["with_attachments.eml", "bounce_dsn.eml", "outlook_reply_html.eml", "rfc2047.eml"]
    for name in names:
        raw = sample(name)
        for _ in range(60):
            damaged = bytearray(raw[: rng.randrange(1, len(raw) + 1)])
            for _ in range(rng.randrange(0, 12)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            mail = parse(bytes(damaged))
            assert len(mail.new_text) <= MAX_TEXT and mail.external_id


def test_delivery_reports_name_the_mail_that_bounced() -> None:
    dsn = parse(sample("bounce_dsn.eml"))
    assert dsn.bounce and dsn.bounce.failed
    assert dsn.bounce.message_ids[0] == "<sos.bounced0001@example.org>"
    assert "5.1.1" in dsn.bounce.reason and "@" not in dsn.bounce.reason
    plain = parse(sample("bounce_plain.eml"))
    assert plain.bounce and plain.bounce.failed
    assert "<sos.plain0001@example.org>" in plain.bounce.message_ids
    delayed = parse(sample("bounce_delayed.eml"))
    assert delayed.bounce and not delayed.bounce.failed  # still being retried: not a failure
    assert parse(sample("read_receipt.eml")).bounce is None
    assert parse(sample("auto_reply_gmail.eml")).bounce is None


def test_quote_and_signature_rules() -> None:
    assert new_text("Ciao.\n\n-- \nGiulia\n3331234567") == "Ciao."
    assert new_text("risposta 1\n> domanda 1\nrisposta 2\n> domanda 2") == "risposta 1\nrisposta 2"
    # someone quoting a parent in their own words is not quoted history
    text = "Ieri mia madre mi ha scritto:\nsei una delusione\ne io non ce la faccio più"
    assert new_text(text) == text
    # a forward with no words of their own: triage gets the whole text
    fwd = "---------- Forwarded message ---------\nDa: x\nmi hanno scritto questo"
    assert new_text(fwd) == fwd
    assert new_text("Ok\n\nSent from my iPhone") == "Ok"
    long_signature = parse(sample("signature_long.eml"))  # too long to be a signature: kept
    assert "non e una firma" in long_signature.new_text and "riga 12" in long_signature.new_text


def test_html_to_text_handles_broken_markup() -> None:
    assert (
        html_to_text("<p>uno<br>due<div>tre</p></span>&amp; <b>quattro")
        == "uno\ndue\ntre\n& quattro"
    )
    assert html_to_text("<style>x{}</style><script>bad()</script>ok") == "ok"


def test_addresses_are_scrubbed_from_reasons() -> None:
    assert scrub_addresses("550 5.1.1 <giovane@example.com>: no") == "550 5.1.1 <indirizzo>: no"


def test_attachments_from_the_server_structure() -> None:
    """BODYSTRUCTURE of a mail too large to download: standard form, and pymap's header form."""
    text = (
        b"text",
        b"plain",
        (b"charset", b"utf-8"),
        None,
        None,
        b"7bit",
        82,
        4,
        None,
        None,
        None,
        None,
    )
    standard = (
        [
            text,
            (
                b"application",
                b"pdf",
                (b"name", b"x.pdf"),
                None,
                None,
                b"base64",
                4000,
                None,
                (b"attachment", (b"filename*", b"utf-8''pagella%20%C3%A8.pdf")),
                None,
                None,
            ),
        ],
        b"mixed",
    )
    as_header = (
        [
            text,
            (
                b"video",
                b"mp4",
                None,
                None,
                None,
                b"base64",
                4000,
                None,
                b'attachment; filename="video \xc3\xa8.mp4"',
                None,
                None,
            ),
        ],
        b"mixed",
    )
    assert list(iter_structure(standard, 10_000)) == [
        {"name": "pagella è.pdf", "type": "application/pdf", "size": 3000}
    ]
    assert list(iter_structure(as_header, 1000)) == [
        {"name": "video è.mp4", "type": "video/mp4", "size": 3000, "over_limit": True}
    ]
    assert list(iter_structure(None, 1000)) == []


def test_triage_reads_the_subject_of_a_new_thread_but_commands_alone() -> None:
    def text(body: str, subject: str, **kw: object) -> str:
        return triage_text(parse(compose(body, subject=subject, **kw)))  # type: ignore[arg-type]

    assert (
        text("non ce la faccio più, non so cosa fare", "Voglio farla finita")
        == "Voglio farla finita\n\nnon ce la faccio più, non so cosa fare"
    )
    assert text("STOP", "Ciao") == "STOP"  # a command stays a command
    assert text("", "Aiuto") == "Aiuto"
    assert (
        text("ne parlo volentieri con qualcuno", "Re: Ciao") == "ne parlo volentieri con qualcuno"
    )  # a reply: the subject is old news
    assert (
        text("ne parlo volentieri con qualcuno", "Ciao", in_reply_to="<x@example.org>")
        == "ne parlo volentieri con qualcuno"
    )
