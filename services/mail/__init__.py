"""Outgoing e-mail: an outbox written in the event's transaction, a background sender over SMTP."""
