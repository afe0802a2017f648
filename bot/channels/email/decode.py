"""Decoding what mail programs send: charsets (declared, unknown, wrong), RFC 2047 headers,
8-bit bytes in headers, Message-IDs and addresses. Nothing here raises on bad input."""

from __future__ import annotations

import binascii
import codecs
import re

MAX_REFERENCES = 20  # References kept for threading (the first one and the latest ones)

ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t]+(=\?)")
MSGID = re.compile(r"<([^<>\s]+)>")
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+\.[^@\s<>()\[\],;:\"\\]+$")
_ANY_ADDRESS = re.compile(r"<?[^\s<>()\[\],;:\"'@]+@[^\s<>()\[\],;:\"'@]+>?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Charset labels that say nothing, or that Python does not know under that name.
_NO_CHARSET = {
    "unknown-8bit",
    "x-unknown",
    "unknown",
    "default",
    "8bit",
    "x-user-defined",
    "binary",
    "none",
    "charset",
    "",
}
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "windows-874": "cp874",
    "x-sjis": "shift_jis",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "x-cp1252": "cp1252",
    "x-user-defined-1252": "cp1252",
    "utf8mb4": "utf-8",
}
# Labels under which UTF-8 text is often sent by mistake: valid UTF-8 wins over them.
_WEAK_LABELS = {"ascii", "iso8859-1", "iso8859-15", "cp1252", "latin-1"}


# --- decoding ----------------------------------------------------------------------------------


def charset_name(label: str | None) -> str | None:
    """Python's codec name for a MIME charset label, or None when the label is no help."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower().split("*", 1)[0]
    if name in _NO_CHARSET:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, label: str | None, problems: list[str] | None = None) -> str:
    """Decode text whatever its label says; undecodable bytes become U+FFFD, never an error."""
    if not data:
        return ""
    name = charset_name(label)
    if label and name is None and label.strip().lower() not in _NO_CHARSET and problems is not None:
        problems.append("unknown_charset")
    if name is None or name in _WEAK_LABELS:
        if any(b > 0x7F for b in data):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                if name not in (None, "utf-8") and problems is not None:
                    problems.append("mislabelled_charset")
                return text
    if name is not None:
        if name in ("iso8859-1", "ascii"):
            name = "cp1252"  # as browsers do: Windows quotes and dashes under a Latin-1 label
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            if problems is not None:
                problems.append("mislabelled_charset")
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad and problems is not None:
        problems.append("charset_guessed")
    if bad * 50 <= len(text):  # UTF-8 with a few broken bytes
        return text
    return data.decode("cp1252", errors="replace")


def unsmuggle(value: str) -> str:
    """8-bit bytes in a header arrive as surrogate escapes: decode them for real."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return decode_bytes(value.encode("utf-8", "surrogateescape"), None)
    return value


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    if encoding.lower() == "q":
        data = re.sub(
            rb"=([0-9A-Fa-f]{2})",
            lambda m: bytes([int(m.group(1), 16)]),
            payload.replace("_", " ").encode("ascii", "replace"),
        )
    else:
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            data = binascii.a2b_base64(cleaned)
        except (binascii.Error, ValueError):
            data = payload.encode("ascii", "replace")
    return decode_bytes(data, charset)


def decode_header(value: str | None) -> str:
    """A header as text: unfolded, RFC 2047 encoded words decoded, 8-bit bytes repaired."""
    if value is None:
        return ""
    text = re.sub(r"\r?\n[ \t]", " ", unsmuggle(str(value)))
    text = _BETWEEN_WORDS.sub(r"\1\2", text)  # no space between adjacent encoded words
    text = ENCODED_WORD.sub(lambda m: _decode_word(m.group(1), m.group(2), m.group(3)), text)
    return re.sub(r"[\r\n\t]+", " ", _CONTROL.sub("", text)).strip()


def scrub_addresses(text: str) -> str:
    """Remove e-mail addresses (personal data) from text shown in errors and logs."""
    return _ANY_ADDRESS.sub("<indirizzo>", text)


def message_ids(value: str | None) -> tuple[str, ...]:
    """The <...> ids of a Message-ID, In-Reply-To or References header, in order, once each."""
    if not value:
        return ()
    ids = [f"<{m}>" for m in MSGID.findall(unsmuggle(value))]
    return tuple(i for i in dict.fromkeys(ids) if len(i) <= 998)


def trim_references(ids: tuple[str, ...] | list[str]) -> list[str]:
    """Keep the first (the start of the thread) and the latest references."""
    ids = list(dict.fromkeys(ids))
    if len(ids) <= MAX_REFERENCES:
        return ids
    return [ids[0], *ids[-(MAX_REFERENCES - 1) :]]


def clean_address(value: str | None) -> str | None:
    if not value:
        return None
    address = value.strip().strip("<>").strip().lower()
    if len(address) > 320 or not _ADDRESS.match(address):
        return None
    return address
