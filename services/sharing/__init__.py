"""Sharing agreements: a network shares a space (and optionally its sub-spaces) with another."""
