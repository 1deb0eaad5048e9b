"""Clean-up of the identity tables: expired sign-in state, old sessions and tokens, stale counters.

What goes, and when (``now`` is the time of the run):

- pending upstream sign-ins once expired (10 minutes after they started);
- authorization codes one day after they expired (a code lives 60 s; the day keeps code-reuse
  detection, which revokes what a code issued, working well past any real retry);
- access and refresh tokens whose expiry or revocation is older than the retention window
  (``RETENTION``, 30 days): until then their ids and timestamps stay for audit questions;
- web sessions expired or revoked longer ago than the retention window, once no token that
  was issued under them is left (a tool's refresh token may outlive its session);
- login-failure counters whose window has passed.

Every delete works in batches (``ctid = ANY(ARRAY(SELECT ctid ... LIMIT n FOR UPDATE SKIP
LOCKED))``), each batch its own short transaction, so a huge table is never locked or scanned
by one statement, and several app processes running the job at once do not wait on each other.
The job runs in the app's lifespan (:func:`start_cleanup`) like the chat retention task;
tests and operators call :func:`purge` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.settings import Settings

log = logging.getLogger("affinity.identity.cleanup")

CLEANUP_EVERY = 3600.0
"""Seconds between runs."""
FIRST_RUN_AFTER = 60.0
"""Seconds after start-up before the first run (start-up stays fast)."""
RETENTION = dt.timedelta(days=30)
"""How long expired or revoked sessions and tokens are kept (ids and timestamps, for audit)."""
CODE_GRACE = dt.timedelta(days=1)
"""How long an expired authorization code is kept (code-reuse detection)."""
BATCH = 1000
"""Rows per delete statement."""

# (name, table, condition). Conditions use :now, :cutoff (now - RETENTION), :code_cutoff and
# :window_cutoff. Order matters: tokens go before the sessions they keep alive.
_RULES: tuple[tuple[str, str, str], ...] = (
    ("pending_logins", "pending_logins", "expires_at < :now"),
    ("authorization_codes", "oidc_authorization_codes", "expires_at < :code_cutoff"),
    ("expired_tokens", "oidc_tokens", "expires_at < :cutoff"),
    ("revoked_tokens", "oidc_tokens", "revoked_at < :cutoff"),
    (
        "expired_sessions",
        "web_sessions",
        "expires_at < :cutoff AND NOT EXISTS (SELECT 1 FROM oidc_tokens t WHERE t.session_id = web_sessions.id)",
    ),
    (
        "revoked_sessions",
        "web_sessions",
        "revoked_at < :cutoff AND NOT EXISTS (SELECT 1 FROM oidc_tokens t WHERE t.session_id = web_sessions.id)",
    ),
    ("login_throttle", "login_throttle", "window_start < :window_cutoff"),
)


@dataclass
class PurgeReport:
    """How many rows each rule deleted in one run."""

    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


async def _purge_rule(engine: AsyncEngine, table: str, condition: str, params: dict[str, Any], batch: int) -> int:
    statement = text(
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("  # noqa: S608 - table and condition are constants above
        f"SELECT ctid FROM {table} WHERE {condition} LIMIT :batch FOR UPDATE SKIP LOCKED))"
    )
    total = 0
    while True:
        async with engine.begin() as conn:
            result: Any = await conn.execute(statement, {**params, "batch": batch})
        count = int(result.rowcount or 0)
        total += count
        if count < batch:
            return total


async def purge(
    engine: AsyncEngine,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    retention: dt.timedelta = RETENTION,
    batch: int = BATCH,
) -> PurgeReport:
    """Delete what the rules above say may go; one short transaction per batch."""
    now = now or dt.datetime.now(dt.UTC)
    params = {
        "now": now,
        "cutoff": now - retention,
        "code_cutoff": now - CODE_GRACE,
        "window_cutoff": now - dt.timedelta(minutes=settings.login_failure_window_minutes),
    }
    report = PurgeReport()
    for name, table, condition in _RULES:
        report.deleted[name] = await _purge_rule(engine, table, condition, params, batch)
    if report.total:
        log.info("identity clean-up deleted %s", ", ".join(f"{k}={v}" for k, v in report.deleted.items() if v))
    return report


@dataclass
class CleanupRuntime:
    """The lifespan's handle on the periodic clean-up task."""

    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def start_cleanup(state: Any, settings: Settings) -> CleanupRuntime:
    """Start the periodic clean-up (same pattern as the chat retention task).

    Tests may set ``state.identity_cleanup_every`` (seconds; the first run then waits as long).
    """
    engine: AsyncEngine = state.engine
    every: float = getattr(state, "identity_cleanup_every", None) or CLEANUP_EVERY
    first: float = min(FIRST_RUN_AFTER, every)

    async def cleanup_loop() -> None:
        await asyncio.sleep(first)
        while True:
            try:
                await purge(engine, settings)
            except Exception:
                log.exception("identity clean-up failed; retrying at the next run")
            await asyncio.sleep(every)

    return CleanupRuntime(task=asyncio.get_running_loop().create_task(cleanup_loop()))
