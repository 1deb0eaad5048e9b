"""Readiness checks registered by the composition root (database, broker, ...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ReadinessCheck:
    """A named probe; it raises (or times out) when its dependency is not usable."""

    name: str
    probe: Callable[[], Awaitable[None]]
