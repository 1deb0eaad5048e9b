"""Redis pub/sub broker: many machines (``REDIS_URL``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis

from realtime.brokers import Handler, Resync, decode_events
from realtime.brokers.base import BatchingBroker

log = logging.getLogger("affinity.realtime.broker")

CHANNEL = "affinity:chat"


class RedisBroker(BatchingBroker):
    """PUBLISH batches of events; one pub/sub connection per process reads them."""

    name = "redis"

    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self._url = url
        self._channel = channel
        self._client: Redis = Redis.from_url(url)
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        await self._client.ping()
        self._begin(handler)
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="redis-broker-reader")
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def _read(self) -> None:
        first = True
        delay = 0.2
        while not self._closed:
            pubsub: Any = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                if not first:
                    log.warning("redis broker reconnected; rooms re-read history")
                    self._deliver([Resync()])
                first = False
                delay = 0.2
                while not self._closed:
                    message = await pubsub.get_message(timeout=None)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        events = decode_events(message["data"])
                    except Exception:
                        log.warning("ignored an unreadable payload on %s", self._channel)
                        continue
                    self._deliver(events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis broker connection lost (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _send(self, payload: bytes) -> None:
        await self._client.publish(self._channel, payload)

    async def ping(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        await self._stop_flusher()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self._client.aclose()
