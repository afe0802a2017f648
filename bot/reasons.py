"""Why the bot handed a conversation over, in words (for the dashboard and the alerts)."""

from __future__ import annotations

REASONS = {
    "asked_for_person": "ha chiesto una persona",
    "bot_error": "il bot non è riuscito a leggere il messaggio",
    "suicide": "pensieri suicidari",
    "despair": "disperazione",
    "self_harm": "autolesionismo",
    "abuse": "abusi o maltrattamenti",
    "sexual_violence": "violenza sessuale",
    "sextortion": "ricatto sessuale online",
    "overdose": "sostanze, rischio overdose",
    "danger": "in pericolo",
    "eating": "alimentazione",
    "family": "famiglia",
    "school": "scuola",
    "bullying": "bullismo",
    "loneliness": "solitudine",
    "relationships": "relazioni",
    "anxiety": "ansia",
    "sadness": "tristezza",
    "self_esteem": "autostima",
    "substances": "sostanze",
    "identity": "identità",
    "sexual_health": "salute sessuale",
    "grief": "lutto",
    "money_home": "soldi e casa",
    "personal": "tema personale",
    "unrecognised": "il bot non ha riconosciuto il messaggio",
    "unreadable": "e-mail non interpretabile",
    "crisis": "crisi",
}


def reason(code: str | None) -> str:
    """Why the bot handed the conversation over, in words ("crisis:self_harm" → "crisi: ...")."""
    if not code:
        return ""
    kind, _, detail = code.partition(":")
    words = REASONS.get(detail or kind, (detail or kind).replace("_", " "))
    return f"crisi: {words}" if kind == "crisis" and detail else words
