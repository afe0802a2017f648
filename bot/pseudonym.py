"""Friendly pseudonyms shown instead of phone numbers and addresses.

A pseudonym comes from a random value drawn for each contact, never from the number or the
address: it stays the same while the contact is kept, and an erasure draws a new one, so
nothing links the conversations after an erasure to those before it.
"""

from __future__ import annotations

import secrets

ANIMALS = (
    "Airone Allodola Alce Ape Aquila Balena Bradipo Camoscio Capriolo Castoro Cervo Cigno "
    "Civetta Colibrì Cormorano Coyote Criceto Delfino Donnola Fenicottero Falco Foca Formica "
    "Gabbiano Gatto Gazza Geco Ghiro Giraffa Gufo Koala Lemure Leone Lince Lontra Lucciola "
    "Lupo Marmotta Merlo Nibbio Orso Panda Passero Pavone Pellicano Pettirosso Picchio "
    "Pinguino Procione Puffin Quokka Riccio Rondine Salamandra Scoiattolo Stambecco Storno "
    "Tasso Tigre Tucano Upupa Volpe Zebra"
).split()


def name_for(seed: bytes) -> str:
    """A name like "Volpe 417" for a random seed."""
    n = int.from_bytes(seed[:8], "big")
    return f"{ANIMALS[n % len(ANIMALS)]} {n // len(ANIMALS) % 1000:03d}"


def pseudonym() -> str:
    """A new pseudonym, from a fresh random value (kept nowhere but in the name itself)."""
    return name_for(secrets.token_bytes(8))
