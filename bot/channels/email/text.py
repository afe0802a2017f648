"""Mail text: HTML turned into plain text (never rendered), quoted history and signatures cut."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never text for a reader.
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "table",
    "tr",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "address",
    "form",
    "fieldset",
    "hr",
    "center",
    "main",
    "nav",
    "aside",
    "figure",
    "figcaption",
    "details",
    "summary",
}
# Containers that mail programs use for the quoted history (Gmail, Outlook, Apple Mail, Yahoo,
# Thunderbird): their content is marked as quoted, like "> " lines in plain text.
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)
        self.quote = 0
        self.pre = 0

    def _newline(self) -> None:
        self.out.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if tag in ("br", "hr", "img", "meta", "link", "input", "wbr"):  # void elements
            if tag in ("br", "hr"):
                self._newline()
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        quoted = tag == "blockquote" or (
            any(c in values.get("class", "").lower() for c in _QUOTE_CLASSES)
            or values.get("id", "").lower() in _QUOTE_IDS
        )
        self.stack.append((tag, quoted))
        if quoted:
            self.quote += 1
        if tag == "pre":
            self.pre += 1
        if tag in _BLOCK or tag == "blockquote":
            self._newline()
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        # close up to the matching tag (mail HTML is often not well formed)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, quoted in self.stack[i:]:
                    if quoted:
                        self.quote -= 1
                del self.stack[i:]
                break
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCK or tag == "blockquote":
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        if self.quote:
            data = data.replace("\n", "\n> ")
            if not self.out or self.out[-1].endswith("\n"):
                data = "> " + data
        self.out.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML mail body: structure kept as line breaks, quotes marked with '> '."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient; this is a last resort for pathological input
        return tidy(re.sub(r"<[^>]*>", " ", html))
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return tidy("\n".join(lines))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def tidy(text: str) -> str:
    """Normalise line ends; drop control characters, trailing spaces and runs of blank lines."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# --- what the young person wrote this time -----------------------------------------------------

_SEPARATORS = re.compile(
    r"^\s*(-{2,}|_{2,}|={2,})?\s*("
    r"original message|messaggio originale|forwarded message|messaggio inoltrato|"
    r"begin forwarded message|inizio messaggio inoltrato|mensaje original|message d'origine|"
    r"urspr(ü|u)ngliche nachricht"
    r")\s*:?\s*(-{2,}|_{2,}|={2,})?\s*$",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_LINE = re.compile(
    r"^\s*\*?(from|da|sent|inviato|date|data|to|a|cc|subject|oggetto|von|de|envoyé|enviado)"
    r"\s*:\*?\s",
    re.IGNORECASE,
)
_ATTRIBUTION_END = re.compile(
    r"(wrote|ha scritto|scrisse|a écrit|escribió|schrieb)\s*:\s*$", re.IGNORECASE
)
_ATTRIBUTION_START = re.compile(r"^\s*(on|il|in data|le|el|am)\b.*(\d|@|<)", re.IGNORECASE)
_MOBILE_SIGNATURES = re.compile(
    r"^\s*(sent from my|sent from|inviato da|inviato dal mio|get outlook for|scarica outlook|"
    r"ottieni outlook|envoyé de mon|enviado desde mi)\b.{0,60}$",
    re.IGNORECASE,
)
_SIGNATURE_DASHES = re.compile(r"^-- ?$")
MAX_SIGNATURE_LINES = 10  # a longer "signature" is kept: it is probably what they meant to say


def _header_block_at(lines: list[str], i: int) -> bool:
    """Outlook-style quoted headers: From/Da followed closely by Sent/Date/To/Subject lines."""
    if not re.match(r"^\s*\*?(from|da|von|de)\s*:", lines[i], re.IGNORECASE):
        return False
    following = [line for line in lines[i + 1 : i + 6] if line.strip()]
    return sum(1 for line in following if _HEADER_LINE.match(line)) >= 2


def new_text(full: str) -> str:
    """The part of a mail the young person wrote now: no quoted history, no signature.

    When nothing is left (e.g. a forwarded message with no words of their own), the whole text
    is returned: triage must never see less than the young person sent.
    """
    lines = tidy(full).split("\n")
    cut = len(lines)
    bare = [line.lstrip("> ") for line in lines]  # HTML quotes come marked with "> "
    for i, line in enumerate(lines):
        if _SEPARATORS.match(bare[i]) or _header_block_at(bare, i):
            cut = i
            break
        if _OUTLOOK_RULE.match(bare[i]) and i + 1 < len(lines) and _header_block_at(bare, i + 1):
            cut = i
            break
        if _ATTRIBUTION_END.search(line):
            start = i
            # an attribution wrapped over two lines ("Il giorno ... <x@y>\nha scritto:")
            if (
                i > 0
                and not _ATTRIBUTION_START.match(line)
                and _ATTRIBUTION_START.match(lines[i - 1])
            ):
                start = i - 1
            joined = " ".join(lines[start : i + 1])
            follows_quote = any(
                x.lstrip().startswith(">") for x in lines[i + 1 : i + 4] if x.strip()
            )
            if follows_quote or (_ATTRIBUTION_START.match(joined) and "@" in joined):
                cut = start
                break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    for i in range(len(kept) - 1, -1, -1):
        if _SIGNATURE_DASHES.match(kept[i]):
            if len(kept) - i - 1 <= MAX_SIGNATURE_LINES:
                kept = kept[:i]
            break
    while kept and (not kept[-1].strip() or _MOBILE_SIGNATURES.match(kept[-1])):
        kept.pop()
    text = tidy("\n".join(kept)).strip("\n")
    return text if text.strip() else tidy(full)
