"""Facilitators: outside facilitators, training records, compensation, the network's Facilitators page."""
