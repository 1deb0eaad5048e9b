"""Readiness checks registered by the composition root (database, broker, ...), and running them.

``/ready`` is public (load balancers call it without credentials), so what it says must be safe
for anyone: the name of a dependency and "unavailable" / "no answer within 2 s". The exception
itself (SQL, host names, socket paths) goes to the log, where operators look.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("affinity.readiness")

TIMEOUT = 2.0
"""Seconds a probe may take before its dependency counts as down."""


@dataclass(frozen=True)
class ReadinessCheck:
    """A named probe; it raises (or times out) when its dependency is not usable."""

    name: str
    probe: Callable[[], Awaitable[None]]


async def run(check: ReadinessCheck) -> str | None:
    """None when ``check`` passes; otherwise a short public reason (the detail is logged)."""
    try:
        await asyncio.wait_for(check.probe(), timeout=TIMEOUT)
    except TimeoutError:
        log.warning("readiness check %r gave no answer within %g s", check.name, TIMEOUT)
        return f"no answer within {TIMEOUT:g} s"
    except Exception:  # any failure means "not ready"
        log.warning("readiness check %r failed", check.name, exc_info=True)
        return "unavailable"
    return None
