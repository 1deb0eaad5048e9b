"""Brokers carry small events between processes; history always comes from the database.

Every backend implements :class:`Broker`: ``start(handler)``, ``publish(event)``, ``ping()``,
``close()``. Events are wake-ups (``space``, ``seq``) and ephemeral room signals (typing,
presence); a node that receives a wake-up reads the rows from the message store.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Protocol

import msgspec


class _Event(msgspec.Struct, tag_field="t", array_like=True):
    """Base of broker events (compact array encoding on the wire)."""


class Wake(_Event, tag="w"):
    """Message ``seq`` was committed in ``space`` as room version ``version``."""

    space: uuid.UUID
    seq: int
    version: int = 0


class Removed(_Event, tag="d"):
    """Message ``seq`` of ``space`` was deleted, making the room's version ``version``."""

    space: uuid.UUID
    seq: int
    version: int = 0


class Purged(_Event, tag="x"):
    """The retention purge removed every message of ``space`` sent before ``before``."""

    space: uuid.UUID
    before: dt.datetime


class TypingSignal(_Event, tag="t"):
    space: uuid.UUID
    account: uuid.UUID


class PresenceSignal(_Event, tag="p"):
    """``account`` came online (or went offline) in ``space`` on ``node``; ``sync`` answers a newcomer."""

    space: uuid.UUID
    account: uuid.UUID
    node: str
    online: bool
    sync: bool = False


class Heartbeat(_Event, tag="h"):
    """``node`` is alive; its presence entries expire when these stop (a crashed process)."""

    node: str


class Probe(_Event, tag="q"):
    """Someone had expired ``node``'s presence and hears it again: ``node``, re-announce yours."""

    node: str


class Gone(_Event, tag="g"):
    """``node`` is shutting down: drop its presence entries now."""

    node: str


class Resync(_Event, tag="r"):
    """Delivered locally after a broker reconnects: events may have been missed, re-read history."""


class Recheck(_Event, tag="a"):
    """Access to chat may have been lost (a ban, a removal, a lost network role, an ended share)
    and is committed: every node re-checks its live subscriptions now."""


class Spent(_Event, tag="s"):
    """Sends (and other rate-limited actions) ``node`` allowed per account since its last report:
    every other node charges them to its own bucket for the account (per-account send limit)."""

    node: str
    spent: dict[uuid.UUID, int]


Event = Wake | Removed | Purged | TypingSignal | PresenceSignal | Heartbeat | Probe | Gone | Resync | Recheck | Spent
Handler = Callable[[Event], None]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[Event])


def encode_events(events: list[Event]) -> bytes:
    """A batch of events as one compact JSON payload."""
    return _encoder.encode(events)


def decode_events(payload: str | bytes) -> list[Event]:
    """Inverse of :func:`encode_events`."""
    return _decoder.decode(payload)


class Broker(Protocol):
    """One interface, three backends (memory, postgres, redis)."""

    name: str

    async def start(self, handler: Handler) -> None:
        """Connect and deliver every event (including this process's own) to ``handler``."""
        ...

    def publish(self, event: Event) -> None:
        """Queue ``event`` for every node; never blocks the caller (batched in the background)."""
        ...

    async def ping(self) -> None:
        """Raise if the broker is unreachable (readiness)."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...
