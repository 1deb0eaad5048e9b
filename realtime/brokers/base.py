"""Batching shared by the backends: ``publish`` never awaits; a flusher sends what piled up."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from realtime.brokers import Event, Handler, encode_events

log = logging.getLogger("affinity.realtime.broker")

MAX_PAYLOAD = 7000
"""Bytes per broker payload; PostgreSQL NOTIFY allows 8000, wake-ups are ~70 bytes each."""


class BatchingBroker:
    """Collects published events and hands them to :meth:`_send` in batches, in order."""

    name = "base"

    def __init__(self) -> None:
        self._handler: Handler | None = None
        self._pending: list[Event] = []
        self._wakeup = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    def _begin(self, handler: Handler) -> None:
        self._handler = handler
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop(), name=f"{self.name}-flusher")

    def publish(self, event: Event) -> None:
        if self._closed:
            return
        self._pending.append(event)
        self._wakeup.set()

    def _deliver(self, events: list[Event]) -> None:
        handler = self._handler
        if handler is None:
            return
        for event in events:
            try:
                handler(event)
            except Exception:
                log.exception("broker event handler failed")

    async def _flush_loop(self) -> None:
        while not self._closed:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending, []
                for payload in _chunks(batch):
                    try:
                        await self._send(payload)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        # The message itself is committed; subscribers catch up from history
                        # on the next wake-up or resync, so a lost wake-up delays, never loses.
                        log.exception("%s broker publish failed", self.name)

    async def _send(self, payload: bytes) -> None:
        raise NotImplementedError

    async def _stop_flusher(self) -> None:
        self._closed = True
        self._wakeup.set()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flusher
        # Send what is still queued (e.g. this node's Gone) before disconnecting, briefly.
        batch, self._pending = self._pending, []
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                for payload in _chunks(batch):
                    await self._send(payload)


def _chunks(events: list[Event]) -> list[bytes]:
    """Encode ``events`` into payloads of at most :data:`MAX_PAYLOAD` bytes."""
    out: list[bytes] = []
    current: list[Event] = []
    size = 2
    for event in events:
        one = len(encode_events([event]))
        if current and size + one > MAX_PAYLOAD:
            out.append(encode_events(current))
            current, size = [], 2
        current.append(event)
        size += one
    if current:
        out.append(encode_events(current))
    return out
