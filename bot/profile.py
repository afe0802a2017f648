"""The anonymous profile a listener notes at close: an age band, a comune or zone, first contact
or returning. Never asked by the bot; every value may stay "not stated"; kept at anonymisation
for the statistics."""

from __future__ import annotations

from collections.abc import Collection

from bot.models import Conversation

NOT_STATED = "not_stated"
AGE_BANDS = {
    "under_14": "meno di 14 anni",
    "14_17": "14–17 anni",
    "18_21": "18–21 anni",
    "22_25": "22–25 anni",
    "over_25": "più di 25 anni",
    NOT_STATED: "non detto",
}
RETURNING = {"": None, "first": False, "returning": True}  # the form's values


class ProfileError(ValueError):
    """A value outside the lists; the message (Italian) says which."""


def note(
    conversation: Conversation, *, age_band: str, zone: str, returning: str, zones: Collection[str]
) -> None:
    """Set the profile from the close form's values (empty = not stated)."""
    age_band = age_band or NOT_STATED
    zone = zone or NOT_STATED
    if age_band not in AGE_BANDS:
        raise ProfileError("Fascia d'età sconosciuta: ricarica la pagina e riprova.")
    if zone != NOT_STATED and zone not in zones:
        raise ProfileError("Comune o zona sconosciuti: ricarica la pagina e riprova.")
    if returning not in RETURNING:
        raise ProfileError("Primo contatto o ritorno: valore sconosciuto.")
    conversation.age_band = age_band
    conversation.zone = zone
    conversation.returning = RETURNING[returning]
