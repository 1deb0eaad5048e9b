"""In-process broker: one process only (``affinity serve`` with one worker, tests)."""

from __future__ import annotations

import asyncio

from realtime.brokers import Event, Handler


class MemoryBroker:
    """Delivers each published event to this process's handler on the next loop turn."""

    name = "memory"

    def __init__(self) -> None:
        self._handler: Handler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._loop = asyncio.get_running_loop()

    def publish(self, event: Event) -> None:
        if self._loop is not None and self._handler is not None:
            self._loop.call_soon(self._handler, event)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._handler = None
