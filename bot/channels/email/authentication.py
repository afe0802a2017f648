"""Is a mail really from its From address? What our mailbox provider says about it.

The provider that receives the line's mail checks DMARC, DKIM and SPF and writes the verdicts
in an Authentication-Results header (RFC 8601) named with its own authserv-id, at the top of
the mail; it removes any such header with its id that came from outside. We trust only the
topmost header with the configured id (`email.authserv_id`) and read it with `authres`.

A sender is verified when that header says DMARC passed for the From domain, or (with no
DMARC verdict) that DKIM or SPF passed for a domain aligned with it; and none of DMARC, DKIM
or SPF failed. Anything else — no header, another provider's header, a header we cannot read,
no id configured — is unverified: the mail is still read and answered, but STOP and CANCELLA
in it never act.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import authres

CHECKED = ("dmarc", "dkim", "spf")
ALIGNED = ("header.from", "header.d", "header.i", "smtp.mailfrom")  # domains compared with From


@dataclass(frozen=True)
class SenderCheck:
    verified: bool
    reason: str  # for the listeners and the log: never the address


def _domain(address: str | None) -> str:
    return address.rsplit("@", 1)[1].lower().rstrip(".") if address and "@" in address else ""


def _aligned(domain: str, sender_domain: str) -> bool:
    """The same domain, or one a subdomain of the other (relaxed alignment)."""
    domain = domain.lower().strip().lstrip("@").rstrip(".")
    if "@" in domain:
        domain = _domain(domain)
    if not domain or not sender_domain:
        return False
    return (
        domain == sender_domain
        or sender_domain.endswith("." + domain)
        or domain.endswith("." + sender_domain)
    )


def _ours(headers: Sequence[str], authserv_id: str) -> authres.AuthenticationResultsHeader | None:
    """The topmost header written by our provider (the one it vouches for), read."""
    for value in headers:
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
        except (authres.AuthResError, ValueError, IndexError):
            continue  # not one we can read: it cannot vouch for anything
        if str(parsed.authserv_id).lower() == authserv_id.lower():
            return parsed
    return None


def check(headers: Sequence[str], sender: str | None, authserv_id: str) -> SenderCheck:
    """Whether the provider vouches for the From address (`headers`: top to bottom)."""
    if not authserv_id:
        return SenderCheck(False, "email.authserv_id is not set")
    sender_domain = _domain(sender)
    if not sender_domain:
        return SenderCheck(False, "no sender address")
    ours = _ours(headers, authserv_id)
    if ours is None:
        return SenderCheck(False, "no Authentication-Results from the mailbox provider")
    verdicts: dict[str, list[tuple[str, list[str]]]] = {m: [] for m in CHECKED}
    for result in ours.results:
        method = str(result.method).lower()
        if method in verdicts:
            values = [
                str(p.value) for p in result.properties if f"{p.type}.{p.name}".lower() in ALIGNED
            ]
            verdicts[method].append((str(result.result).lower(), values))
    for method in CHECKED:
        if any(outcome == "fail" for outcome, _ in verdicts[method]):
            return SenderCheck(False, f"{method}=fail")
    if verdicts["dmarc"]:
        passed = any(
            outcome == "pass" and any(_aligned(v, sender_domain) for v in values)
            for outcome, values in verdicts["dmarc"]
        )
        return SenderCheck(True, "dmarc=pass") if passed else SenderCheck(False, "dmarc not pass")
    for method in ("dkim", "spf"):
        if any(
            outcome == "pass" and any(_aligned(v, sender_domain) for v in values)
            for outcome, values in verdicts[method]
        ):
            return SenderCheck(True, f"{method}=pass")
    return SenderCheck(False, "no aligned pass")
