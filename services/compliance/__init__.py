"""Compliance: how each space of a network stands against its policy this program year."""
