"""Channel adapters: they turn provider input into Inbound and send outbox rows."""
