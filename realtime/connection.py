"""One websocket: its identity, subscriptions, bounded send queue and how frames reach it.

Fan-out only ever calls :meth:`Connection.push` (or the hub's inlined equivalent), which never
awaits: a slow socket fills its own queue and is closed with :data:`CLOSE_TOO_SLOW`; it cannot
delay anyone else.

Two ways to the socket:

- **Frame sink** (the server offers :data:`realtime.wire.EXTENSION`, as ``realtime/transport.py``
  does for uvicorn): while the transport takes data, a frame's pre-built bytes are written to it
  synchronously, in the fan-out loop — no task, no ASGI message, no per-socket encoding (what
  ``websockets.broadcast`` does). When the transport's buffer passes its high-water mark, frames
  queue here (bounded, 4408 when full); when it drains, everything queued goes out as **one**
  write.
- **ASGI** (any other server): one writer task per socket for its whole life, parked on a future
  while the queue is empty; ``push`` wakes it (no task per frame); a woken writer sends every
  queued frame back to back before parking again.
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
from realtime.wire import FrameSink, Outgoing

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
        self.buffer: list[tuple[int | None, Outgoing]] = []
        self.last_typing = 0.0


class TokenBucket:
    """``rate`` actions per second with bursts of ``burst``."""

    __slots__ = ("burst", "on_first_spend", "rate", "spent", "stamp", "tokens", "users")

    def __init__(self, rate: float, burst: int, on_first_spend: Callable[[TokenBucket], None] | None = None) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.spent = 0
        """Actions taken here since the last :meth:`drain_spent` (told to other nodes)."""
        self.on_first_spend = on_first_spend
        """Called when ``spent`` leaves zero (the hub then reports it to the other nodes)."""
        self.users = 0
        """Sockets drawing from this bucket (the hub forgets only unused, full buckets)."""

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> bool:
        """Take one token if there is one."""
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.spent += 1
            if self.spent == 1 and self.on_first_spend is not None:
                self.on_first_spend(self)
            return True
        return False

    def charge(self, n: int) -> None:
        """Take ``n`` tokens spent elsewhere (another node); the balance may go below zero, so a
        burst spread over several nodes is paid back before this node allows more."""
        self._refill()
        self.tokens = max(self.tokens - n, -self.burst)

    def drain_spent(self) -> int:
        """Actions taken here since the last call."""
        spent, self.spent = self.spent, 0
        return spent

    def idle(self) -> bool:
        """Full again and nothing to report: forgetting it changes nothing."""
        self._refill()
        return not self.users and not self.spent and self.tokens >= self.burst


class Connection:
    """Server side of one authenticated websocket."""

    __slots__ = (
        "_flush_soon",
        "_idle",
        "_room_for_replay",
        "_wake",
        "_writer",
        "closed",
        "direct",
        "id",
        "identity",
        "limit",
        "queue",
        "send",
        "sends",
        "sink",
        "strike_window",
        "strikes",
        "subs",
        "write",
    )

    def __init__(
        self, send: AsgiSend, identity: Identity, *, limit: int, sends: TokenBucket, sink: FrameSink | None = None
    ) -> None:
        self.id = uuid.uuid4()
        self.send = send
        self.identity = identity
        self.limit = limit
        self.queue: deque[Outgoing] = deque()
        self.subs: dict[uuid.UUID, Subscription] = {}
        self.closed = False
        self.sends = sends
        """The account's send bucket on this node (shared by all its sockets; see Hub.bucket)."""
        self.strikes = 0
        self.strike_window = time.monotonic()
        self.sink = sink
        self.write: Callable[[bytes], None] = _no_write
        self.direct = False
        """True while frames may be written straight to the sink (open, not paused, nothing queued)."""
        self._flush_soon = False
        self._writer: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._idle: asyncio.Future[None] | None = None
        self._room_for_replay: asyncio.Future[None] | None = None
        if sink is not None:
            self.write = sink.write_frames
            sink.attach(self._resumed, self._paused, self.stop)
            self.direct = not sink.paused

    # --- enqueueing -------------------------------------------------------------------------

    def push(self, frame: Outgoing) -> None:
        """Send a live frame now or queue it; close the socket (4408) if its queue is full. Never awaits."""
        if self.direct:
            self.write(frame.data)
            return
        if self.closed:
            return
        queue = self.queue
        if len(queue) >= self.limit:
            self.close(CLOSE_TOO_SLOW, "too slow: resume with subscribe after=<last seq>")
            return
        queue.append(frame)
        if self.sink is not None:
            return  # written as one batch when the transport drains (_resumed)
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)
        elif self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def offer(self, frame: str | Outgoing) -> None:
        """Queue a frame for this socket alone (replies; JSON text is wrapped)."""
        self.push(frame if isinstance(frame, Outgoing) else Outgoing.of_text(frame))

    def deliver(self, space: uuid.UUID, seq: int, frame: Outgoing) -> None:
        """Fan-out entry point for a room's message ``seq`` (dedupes by seq, buffers while replaying)."""
        sub = self.subs.get(space)
        if sub is None:
            return
        self.deliver_to(sub, seq, frame)

    def deliver_to(self, sub: Subscription, seq: int, frame: Outgoing) -> None:
        """:meth:`deliver` with the subscription already looked up (the hub's loop has it)."""
        if sub.replaying:
            if len(sub.buffer) >= self.limit:
                self.close(CLOSE_TOO_SLOW, "too slow: resume with subscribe after=<last seq>")
                return
            sub.buffer.append((seq, frame))
        elif seq > sub.last_seq:
            sub.last_seq = seq
            self.push(frame)

    def deliver_unordered(self, space: uuid.UUID, frame: str | Outgoing) -> None:
        """Fan-out of a frame without a seq (deleted, typing); held back until a replay ends."""
        sub = self.subs.get(space)
        if sub is None:
            return
        out = frame if isinstance(frame, Outgoing) else Outgoing.of_text(frame)
        if sub.replaying:
            sub.buffer.append((None, out))
        else:
            self.push(out)

    async def put(self, frame: str | Outgoing) -> None:
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
                self.push(frame)
            elif seq > sub.last_seq:
                sub.last_seq = seq
                self.push(frame)

    # --- writing through a frame sink -------------------------------------------------------

    def _paused(self) -> None:
        self.direct = False

    def _resumed(self) -> None:
        if self.closed:
            return
        if not self.queue:
            self.direct = True
        elif not self._flush_soon:
            # Not from inside the transport's callback: flush on the next loop turn.
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Write everything queued as one write (coalesced), then go back to direct writes."""
        self._flush_soon = False
        sink = self.sink
        if self.closed or sink is None or sink.paused:
            return
        queue = self.queue
        if queue:
            data = queue[0].data if len(queue) == 1 else b"".join([f.data for f in queue])
            queue.clear()
            self.write(data)  # may pause the transport again, or find it closing
        self._wake_replay()
        idle = self._idle
        if idle is not None and not idle.done():
            self._idle = None
            idle.set_result(None)
        self.direct = not self.closed and not sink.paused and not self.queue

    # --- writing through ASGI ---------------------------------------------------------------

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
                    await send({"type": "websocket.send", "text": queue.popleft().text})
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
        self.direct = False
        self.queue.clear()
        self._wake_replay()
        idle = self._idle
        if idle is not None and not idle.done():
            self._idle = None
            idle.set_result(None)
        writer, self._writer = self._writer, None
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()

    async def _send_close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.send({"type": "websocket.close", "code": code, "reason": reason})

    async def flush_and_close(self, code: int, reason: str) -> None:
        """Send what is queued (e.g. a final error frame), then close."""
        if self.queue and not self.closed and (self._writer is not None or self.sink is not None):
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


def _no_write(_data: bytes) -> None:
    return None
