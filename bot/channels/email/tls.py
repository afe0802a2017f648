"""The TLS context for the mail servers: the system's CAs, plus email.tls_ca_file if set."""

from __future__ import annotations

import ssl

from bot.config import Email


def client_context(settings: Email) -> ssl.SSLContext:
    """Verify certificates and host names; never fall back to an unverified connection."""
    context = ssl.create_default_context()
    if settings.tls_ca_file:
        context.load_verify_locations(cafile=settings.tls_ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
