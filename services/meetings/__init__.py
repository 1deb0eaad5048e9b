"""Meetings of spaces: schedule, agendas, cancellation."""
