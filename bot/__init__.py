"""S.O.S. Amico Giovani: the listening line's service (inbox, outbox, channels, worker)."""
