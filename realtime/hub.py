"""Rooms on this node: who is subscribed, what was delivered, presence; the broker's handler.

Each room keeps ``delivered``, the highest seq fanned out on this node. Messages committed here
are delivered at once; wake-ups from other nodes (or a gap) make the room read the missing rows
from the store, so delivery is always in seq order with nothing skipped. A message frame is
encoded once per room and the same string is queued on every socket.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from realtime.brokers import Broker, Event, PresenceSignal, Removed, Resync, TypingSignal, Wake
from realtime.connection import Connection
from realtime.interfaces import MessageStore, StoredMessage
from realtime.protocol import Deleted, MessageFrame, Presence, TypingFrame, encode

log = logging.getLogger("affinity.realtime")

CATCH_UP_PAGE = 500


@dataclass
class Observer:
    """Hooks for metrics (the composition root points them at Prometheus counters)."""

    delivered: Callable[[int], None] = lambda n: None
    connections: Callable[[int], None] = lambda delta: None
    stored: Callable[[], None] = lambda: None


def message_frame(message: StoredMessage) -> MessageFrame:
    """The wire frame of a stored message."""
    return MessageFrame(
        space=message.space_id,
        seq=message.seq,
        id=message.id,
        author=message.author_id,
        body=message.body,
        sent_at=message.sent_at,
        key=message.key,
        deleted=message.deleted,
    )


@dataclass(eq=False)
class Room:
    """A space's room as seen by this node."""

    space: uuid.UUID
    members: set[Connection] = field(default_factory=set)
    delivered: int | None = None
    pending: int = 0
    catching: asyncio.Task[None] | None = None
    local: dict[uuid.UUID, int] = field(default_factory=dict)
    """Account -> number of this node's sockets subscribed."""
    online: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    """Account -> nodes where it has a socket in this room."""
    presence_timer: asyncio.TimerHandle | None = None


class Hub:
    """This node's rooms and the bridge between the broker and local sockets."""

    def __init__(self, store: MessageStore, broker: Broker, *, observer: Observer | None = None) -> None:
        self.store = store
        self.broker = broker
        self.node = uuid.uuid4().hex[:12]
        self.rooms: dict[uuid.UUID, Room] = {}
        self.connections: set[Connection] = set()
        self.observer = observer or Observer()
        self.presence_delay = 0.2

    # --- membership of rooms ------------------------------------------------------------------

    def join(self, conn: Connection, space: uuid.UUID) -> Room:
        room = self.rooms.get(space)
        if room is None:
            room = self.rooms[space] = Room(space)
        room.members.add(conn)
        account = conn.identity.account_id
        count = room.local.get(account, 0)
        room.local[account] = count + 1
        if count == 0:
            self.broker.publish(PresenceSignal(space, account, self.node, True))
        return room

    def leave(self, conn: Connection, space: uuid.UUID) -> None:
        room = self.rooms.get(space)
        if room is None or conn not in room.members:
            return
        room.members.discard(conn)
        account = conn.identity.account_id
        count = room.local.get(account, 0) - 1
        if count <= 0:
            room.local.pop(account, None)
            self.broker.publish(PresenceSignal(space, account, self.node, False))
        else:
            room.local[account] = count
        if not room.members:
            if room.catching is not None:
                room.catching.cancel()
            if room.presence_timer is not None:
                room.presence_timer.cancel()
            del self.rooms[space]

    def replayed(self, room: Room, head: int) -> None:
        """A subscriber read history up to ``head``: a new room starts delivering after it."""
        if room.delivered is None:
            room.delivered = head
            if room.pending > head:
                self._catch_up(room)

    # --- messages ----------------------------------------------------------------------------

    def announce(self, message: StoredMessage) -> None:
        """A message was committed by this process: deliver locally now, wake the other nodes."""
        self.observer.stored()
        room = self.rooms.get(message.space_id)
        if room is not None:
            self._offer(room, message)
        self.broker.publish(Wake(message.space_id, message.seq))

    def announce_deleted(self, space: uuid.UUID, seq: int) -> None:
        """A message was deleted (after commit): every node tells its subscribers."""
        self.broker.publish(Removed(space, seq))

    def _offer(self, room: Room, message: StoredMessage) -> None:
        if room.delivered is not None and message.seq == room.delivered + 1:
            self._deliver(room, message)
        elif room.delivered is None or message.seq > room.delivered:
            room.pending = max(room.pending, message.seq)
            self._catch_up(room)

    def _deliver(self, room: Room, message: StoredMessage) -> None:
        room.delivered = message.seq
        frame = encode(message_frame(message))
        space, seq = message.space_id, message.seq
        for conn in room.members:
            conn.deliver(space, seq, frame)
        self.observer.delivered(len(room.members))

    def _catch_up(self, room: Room) -> None:
        if room.catching is None and room.delivered is not None:
            room.catching = asyncio.get_running_loop().create_task(self._read_missing(room))

    async def _read_missing(self, room: Room) -> None:
        try:
            while room.delivered is not None and room.pending > room.delivered and self.rooms.get(room.space) is room:
                messages, head = await self.store.history(room.space, room.delivered, CATCH_UP_PAGE)
                if not messages:
                    room.delivered = max(room.delivered, head)
                    room.pending = room.delivered
                    break
                for message in messages:
                    if message.seq > room.delivered:
                        self._deliver(room, message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not read missed messages of a room; retrying on the next wake-up")
        finally:
            room.catching = None

    # --- broker events -----------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        """The broker's handler: every node receives every event, its own included."""
        if isinstance(event, Wake):
            room = self.rooms.get(event.space)
            if room is not None and (room.delivered is None or event.seq > room.delivered):
                room.pending = max(room.pending, event.seq)
                self._catch_up(room)
        elif isinstance(event, Removed):
            room = self.rooms.get(event.space)
            if room is not None:
                frame = encode(Deleted(space=event.space, seq=event.seq))
                for conn in room.members:
                    conn.deliver_unordered(event.space, frame)
        elif isinstance(event, TypingSignal):
            room = self.rooms.get(event.space)
            if room is not None:
                frame = encode(TypingFrame(space=event.space, account=event.account))
                for conn in room.members:
                    if conn.identity.account_id != event.account:
                        conn.deliver_unordered(event.space, frame)
        elif isinstance(event, PresenceSignal):
            self._presence(event)
        elif isinstance(event, Resync):
            for room in self.rooms.values():
                room.pending = 1 << 62
                self._catch_up(room)
                for account in room.local:
                    self.broker.publish(PresenceSignal(room.space, account, self.node, True, sync=True))

    def _presence(self, event: PresenceSignal) -> None:
        room = self.rooms.get(event.space)
        if room is None:
            return
        nodes = room.online.setdefault(event.account, set())
        if event.online:
            nodes.add(event.node)
        else:
            nodes.discard(event.node)
            if not nodes:
                del room.online[event.account]
        if event.online and not event.sync and event.node != self.node:
            # A newcomer elsewhere: tell it who is online here.
            for account in room.local:
                self.broker.publish(PresenceSignal(room.space, account, self.node, True, sync=True))
        if room.presence_timer is None:
            loop = asyncio.get_running_loop()
            room.presence_timer = loop.call_later(self.presence_delay, self._flush_presence, room)

    def _flush_presence(self, room: Room) -> None:
        room.presence_timer = None
        if self.rooms.get(room.space) is not room:
            return
        frame = encode(Presence(space=room.space, online=sorted(room.online)))
        for conn in room.members:
            conn.deliver_unordered(room.space, frame)

    def presence_frame(self, room: Room) -> str:
        """Current presence of a room (sent to a new subscriber after its replay)."""
        return encode(Presence(space=room.space, online=sorted(room.online)))
