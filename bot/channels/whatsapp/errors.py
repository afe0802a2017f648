"""Twilio's error codes as listeners read them (the dashboard is in Italian)."""

from __future__ import annotations

import re

WINDOW_CLOSED = "window_closed"  # our own code: free text after WhatsApp's 24-hour window

EXPLAINED = {
    WINDOW_CLOSED: "Non inviato: la finestra di 24 ore di WhatsApp è chiusa (l'ultimo messaggio "
    "della persona è di più di 24 ore fa). Si può inviare solo il modello di "
    "ricontatto.",
    "63016": "Non consegnato: fuori dalla finestra di 24 ore di WhatsApp. Si può inviare solo il "
    "modello di ricontatto.",
    "63003": "Il numero non è raggiungibile su WhatsApp.",
    "63024": "Il numero non è raggiungibile su WhatsApp.",
    "63007": "Il mittente WhatsApp configurato non è valido: controllare twilio.whatsapp_number.",
    "63018": "WhatsApp ha limitato l'invio (troppi messaggi): riprovare più tardi.",
    "63032": "WhatsApp non consegna messaggi a questo numero.",
    "21211": "Numero del destinatario non valido.",
    "21408": "L'account Twilio non può inviare verso questo paese.",
    "21610": "La persona ha bloccato i messaggi da questo numero (STOP).",
    "21614": "Il numero non può ricevere messaggi.",
    "21617": "Messaggio troppo lungo per Twilio.",
    "21656": "Le variabili del modello non sono valide: controllare "
    "twilio.reengage_content_variables.",
    "30003": "Telefono non raggiungibile.",
    "30004": "Messaggio bloccato dal destinatario.",
    "30005": "Numero sconosciuto o non più attivo.",
    "30006": "Il numero non può ricevere messaggi (rete fissa o operatore).",
    "30007": "Messaggio filtrato dall'operatore.",
    "30008": "Errore di consegna sconosciuto.",
}

_PHONE = re.compile(r"\+?\d[\d ().-]{5,}\d")
_EMAIL = re.compile(r"\S+@\S+")


def scrub(text: str) -> str:
    """Drop phone numbers and e-mail addresses from a provider's text (it goes to logs)."""
    return _EMAIL.sub("[indirizzo]", _PHONE.sub("[numero]", text))


def explain(code: str | int | None, detail: str = "") -> str:
    """A listener-facing reason for a Twilio error code, with Twilio's own words scrubbed."""
    key = str(code) if code is not None else ""
    text = EXPLAINED.get(key) or f"Twilio ha rifiutato il messaggio (errore {key or '?'})."
    if detail:
        text = f"{text} [Twilio: {scrub(detail)}]"
    return text[:500]


def delivery_failed(code: str | None) -> str:
    """A listener-facing reason for a failure Twilio reported after accepting the message."""
    if not code:
        return "Consegna non riuscita: Twilio non ha indicato il motivo."
    return EXPLAINED.get(code) or f"Consegna non riuscita (errore Twilio {code})."
