"""Composition root of Affinity Federation: app factory, HTTP areas, persistence, identity, CLI."""
