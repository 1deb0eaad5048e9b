"""One websocket: its identity, subscriptions, bounded send queue and its own writer task.

Fan-out only ever calls :meth:`Connection.offer`, which appends to a deque and never awaits:
a slow socket fills its own queue and is closed with :data:`CLOSE_TOO_SLOW`; it cannot delay
anyone else. Each socket has one writer task for its whole life, parked on a future while the
queue is empty; ``offer`` wakes it (no task is created per frame). A woken writer sends every
queued frame back to back before parking again, so a burst costs one wake-up, and with the
sans-I/O websocket implementation (whose ``send`` does not suspend while the transport is
writable) the frames of one loop iteration reach the transport together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from realtime.interfaces import Identity

log = logging.getLogger("affinity.realtime")

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_ABUSE = 4429
CLOSE_TRY_AGAIN_LATER = 1013
"""The database cannot be reached: reconnect after a few seconds (RFC 6455 "Try Again Later")."""

AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]


class Subscription:
    """A socket's place in one room: the last seq it was sent and, while replaying, a buffer."""

    __slots__ = ("buffer", "last_seq", "last_typing", "replaying")

    def __init__(self, last_seq: int) -> None:
        self.last_seq = last_seq
        self.replaying = True
        self.buffer: list[tuple[int | None, str]] = []
        self.last_typing = 0.0


class TokenBucket:
    """``rate`` actions per second with bursts of ``burst``."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Connection:
    """Server side of one authenticated websocket."""

    __slots__ = (
        "_idle",
        "_room_for_replay",
        "_wake",
        "_writer",
        "closed",
        "id",
        "identity",
        "limit",
        "queue",
        "send",
        "sends",
        "strike_window",
        "strikes",
        "subs",
    )

    def __init__(self, send: AsgiSend, identity: Identity, *, limit: int, send_rate: float, send_burst: int) -> None:
        self.id = uuid.uuid4()
        self.send = send
        self.identity = identity
        self.limit = limit
        self.queue: deque[str] = deque()
        self.subs: dict[uuid.UUID, Subscription] = {}
        self.closed = False
        self.sends = TokenBucket(send_rate, send_burst)
        self.strikes = 0
        self.strike_window = time.monotonic()
        self._writer: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._idle: asyncio.Future[None] | None = None
        self._room_for_replay: asyncio.Future[None] | None = None

    # --- enqueueing -------------------------------------------------------------------------

    def offer(self, frame: str) -> None:
        """Queue a live frame; close the socket (4408) if its queue is full. Never awaits."""
        if self.closed:
            return
        if len(self.queue) >= self.limit:
            self.close(CLOSE_TOO_SLOW, "too slow: resume with subscribe after=<last seq>")
            return
        self.queue.append(frame)
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)
        elif self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def deliver(self, space: uuid.UUID, seq: int, frame: str) -> None:
        """Fan-out entry point for a room's message ``seq`` (dedupes by seq, buffers while replaying)."""
        sub = self.subs.get(space)
        if sub is None:
            return
        if sub.replaying:
            if len(sub.buffer) >= self.limit:
                self.close(CLOSE_TOO_SLOW, "too slow: resume with subscribe after=<last seq>")
                return
            sub.buffer.append((seq, frame))
        elif seq > sub.last_seq:
            sub.last_seq = seq
            self.offer(frame)

    def deliver_unordered(self, space: uuid.UUID, frame: str) -> None:
        """Fan-out of a frame without a seq (deleted, typing); held back until a replay ends."""
        sub = self.subs.get(space)
        if sub is None:
            return
        if sub.replaying:
            sub.buffer.append((None, frame))
        else:
            self.offer(frame)

    async def put(self, frame: str) -> None:
        """Queue a frame, waiting while the queue is full (replays: backpressure, not overflow)."""
        while not self.closed and len(self.queue) >= self.limit:
            self._room_for_replay = asyncio.get_running_loop().create_future()
            await self._room_for_replay
        self.offer(frame)

    def finish_replay(self, space: uuid.UUID) -> None:
        """Send what arrived live during a replay (only seqs after the replay), then go live."""
        sub = self.subs.get(space)
        if sub is None:
            return
        buffered, sub.buffer = sub.buffer, []
        sub.replaying = False
        for seq, frame in buffered:
            if seq is None:
                self.offer(frame)
            elif seq > sub.last_seq:
                sub.last_seq = seq
                self.offer(frame)

    # --- writing ----------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        """The socket's writer: send what is queued, back to back; park while the queue is empty."""
        queue = self.queue
        send = self.send
        loop = asyncio.get_running_loop()
        half = self.limit // 2
        try:
            while not self.closed:
                if not queue:
                    idle = self._idle
                    if idle is not None:
                        self._idle = None
                        if not idle.done():
                            idle.set_result(None)
                    self._wake = wake = loop.create_future()
                    await wake
                    continue
                while queue and not self.closed:
                    await send({"type": "websocket.send", "text": queue.popleft()})
                    waiter = self._room_for_replay
                    if waiter is not None and len(queue) < half:
                        self._room_for_replay = None
                        if not waiter.done():
                            waiter.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The peer went away mid-send; the reader sees the disconnect and cleans up.
            self.closed = True
        finally:
            self._wake = None
            self._wake_replay()
            idle = self._idle
            if idle is not None and not idle.done():
                idle.set_result(None)

    def _wake_replay(self) -> None:
        waiter = self._room_for_replay
        if waiter is not None and not waiter.done():
            self._room_for_replay = None
            waiter.set_result(None)

    def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` (idempotent); queued frames are dropped."""
        if self.closed:
            return
        self.stop()
        asyncio.get_running_loop().create_task(self._send_close(code, reason))

    def stop(self) -> None:
        """Stop writing (the socket closed or is closing): drop the queue, end the writer task."""
        self.closed = True
        self.queue.clear()
        self._wake_replay()
        writer, self._writer = self._writer, None
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()

    async def _send_close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.send({"type": "websocket.close", "code": code, "reason": reason})

    async def flush_and_close(self, code: int, reason: str) -> None:
        """Send what is queued (e.g. a final error frame), then close."""
        if self._writer is not None and self.queue and not self.closed:
            self._idle = idle = asyncio.get_running_loop().create_future()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(idle), timeout=2)
        self.close(code, reason)

    def strike(self, limit: int) -> bool:
        """Count a bad frame; True when the socket crossed ``limit`` bad frames in a minute."""
        now = time.monotonic()
        if now - self.strike_window > 60:
            self.strike_window = now
            self.strikes = 0
        self.strikes += 1
        return self.strikes > limit
