"""PostgreSQL LISTEN/NOTIFY broker: several processes, no infrastructure beyond the database.

NOTIFY carries only compact wake-ups (space, seq) and room signals, batched into payloads well
under the 8000-byte limit; subscribers read the messages themselves from the table. If the
listening connection drops, the broker reconnects and emits :class:`Resync` so every room
re-reads history it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from realtime.brokers import Handler, Resync, decode_events
from realtime.brokers.base import BatchingBroker

log = logging.getLogger("affinity.realtime.broker")

CHANNEL = "affinity_chat"


class PostgresBroker(BatchingBroker):
    """LISTEN on one connection, NOTIFY on another (both dedicated, outside the request pool)."""

    name = "postgres"

    def __init__(self, dsn: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self._dsn = dsn
        self._channel = channel
        self._listen: asyncpg.Connection | None = None
        self._notify: asyncpg.Connection | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        await self._connect_listener()
        self._notify = await asyncpg.connect(self._dsn)
        self._begin(handler)
        self._watchdog = asyncio.get_running_loop().create_task(self._keep_listening(), name="postgres-broker-watch")

    async def _connect_listener(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        conn.add_termination_listener(lambda _c: self._lost.set())
        await conn.add_listener(self._channel, self._on_notify)
        self._listen = conn

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        try:
            events = decode_events(str(payload))
        except Exception:
            log.warning("ignored an unreadable NOTIFY payload on %s", self._channel)
            return
        self._deliver(events)

    async def _keep_listening(self) -> None:
        while not self._closed:
            await self._lost.wait()
            if self._closed:
                return
            self._lost.clear()
            delay = 0.2
            while not self._closed:
                try:
                    await self._connect_listener()
                    log.warning("postgres broker reconnected; rooms re-read history")
                    self._deliver([Resync()])
                    break
                except (OSError, asyncpg.PostgresError):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)

    async def _send(self, payload: bytes) -> None:
        if self._notify is None or self._notify.is_closed():
            self._notify = await asyncpg.connect(self._dsn)
        await self._notify.execute("SELECT pg_notify($1, $2)", self._channel, payload.decode())

    async def ping(self) -> None:
        if self._listen is None or self._listen.is_closed():
            raise ConnectionError("the LISTEN connection is down (reconnecting)")
        await self._listen.fetchval("SELECT 1")

    async def close(self) -> None:
        await self._stop_flusher()
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watchdog
        for conn in (self._listen, self._notify):
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=2)
