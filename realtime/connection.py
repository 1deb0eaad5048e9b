"""One websocket: its identity, subscriptions, bounded send queue and its own writer task.

Fan-out only ever calls :meth:`Connection.offer`, which appends to a deque and never awaits:
a slow socket fills its own queue and is closed with :data:`CLOSE_TOO_SLOW`; it cannot delay
anyone else. A writer task exists only while the queue has frames, so an idle socket costs no
task.
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
        "_room_for_replay",
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
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

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

    async def _drain(self) -> None:
        queue = self.queue
        try:
            while queue and not self.closed:
                frame = queue.popleft()
                await self.send({"type": "websocket.send", "text": frame})
                waiter = self._room_for_replay
                if waiter is not None and len(queue) < self.limit // 2:
                    self._room_for_replay = None
                    if not waiter.done():
                        waiter.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The peer went away mid-send; the reader sees the disconnect and cleans up.
            self.closed = True
        finally:
            self._writer = None
            self._wake_replay()

    def _wake_replay(self) -> None:
        waiter = self._room_for_replay
        if waiter is not None and not waiter.done():
            self._room_for_replay = None
            waiter.set_result(None)

    def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` (idempotent); queued frames are dropped."""
        if self.closed:
            return
        self.closed = True
        self.queue.clear()
        self._wake_replay()
        writer = self._writer
        if writer is not None:
            writer.cancel()
        asyncio.get_running_loop().create_task(self._send_close(code, reason))

    async def _send_close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.send({"type": "websocket.close", "code": code, "reason": reason})

    async def flush_and_close(self, code: int, reason: str) -> None:
        """Send what is queued (e.g. a final error frame), then close."""
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(writer), timeout=2)
        self.close(code, reason)

    def strike(self, limit: int) -> bool:
        """Count a bad frame; True when the socket crossed ``limit`` bad frames in a minute."""
        now = time.monotonic()
        if now - self.strike_window > 60:
            self.strike_window = now
            self.strikes = 0
        self.strikes += 1
        return self.strikes > limit
