"""What the dashboard says when an action on a conversation cannot happen now.

The actions themselves (claim, transfer, release, give back, close) are the conversation's
lifecycle: bot.conversations. This module words their refusals in Italian for the listener.
"""

from __future__ import annotations

from bot.conversations import Refusal, Refused
from bot.models import Operator

_SAID = {
    Refusal.NOT_FOUND: "Conversazione non trovata.",
    Refusal.INACTIVE: "Questo account non è attivo.",
    Refusal.YOURS_ALREADY: "Questa conversazione è già in carico a te.",
    Refusal.NOT_WAITING: "Questa conversazione non è più in coda.",
    Refusal.NOT_HELD: "Questa conversazione non è in carico a nessuno.",
    Refusal.NOT_YOURS: "Questa conversazione non è in carico a te.",
    Refusal.SAME_HOLDER: "La conversazione è già in carico a questa persona.",
    Refusal.NO_TARGET: "Scegli un operatore attivo.",
    Refusal.CLAIM_TO_RETURN: "Prendi in carico la conversazione prima di restituirla al bot.",
    Refusal.CLAIM_TO_CLOSE: "Prendi in carico la conversazione prima di chiuderla.",
    Refusal.CLOSED: "La conversazione è già chiusa.",
}


class HandoverError(Exception):
    """The action cannot happen now; the message (Italian) says why."""

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.holder = holder


def explain(refused: Refused, me: Operator) -> HandoverError:
    """The refusal in the listener's words."""
    match refused.why:
        case Refusal.TAKEN:
            message = f"{refused.holder} l'ha già presa in carico."
        case Refusal.FULL:
            whose, name = refused.full or (me.id, "")
            who = "Hai" if whose == me.id else f"{name} ha"
            message = (
                f"{who} già {refused.held} conversazioni in carico (massimo "
                f"{refused.capacity}): chiudine o rilasciane una prima."
            )
        case _:
            message = _SAID[refused.why]
    return HandoverError(message, holder=refused.holder)
