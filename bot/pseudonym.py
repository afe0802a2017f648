"""Stable, friendly pseudonyms shown instead of phone numbers and addresses."""

from __future__ import annotations

import hashlib
import hmac

ANIMALS = (
    "Airone Allodola Alce Ape Aquila Balena Bradipo Camoscio Capriolo Castoro Cervo Cigno "
    "Civetta Colibrì Cormorano Coyote Criceto Delfino Donnola Fenicottero Falco Foca Formica "
    "Gabbiano Gatto Gazza Geco Ghiro Giraffa Gufo Koala Lemure Leone Lince Lontra Lucciola "
    "Lupo Marmotta Merlo Nibbio Orso Panda Passero Pavone Pellicano Pettirosso Picchio "
    "Pinguino Procione Puffin Quokka Riccio Rondine Salamandra Scoiattolo Stambecco Storno "
    "Tasso Tigre Tucano Upupa Volpe Zebra"
).split()


def pseudonym(secret: str, channel: str, address: str) -> str:
    """A name like "Volpe 417": the same for the same contact, meaningless without the secret."""
    digest = hmac.new(secret.encode(), f"{channel}:{address}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big")
    return f"{ANIMALS[n % len(ANIMALS)]} {n // len(ANIMALS) % 1000:03d}"
