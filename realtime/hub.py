"""Rooms on this node: who is subscribed, what was delivered, presence; the broker's handler.

Each room keeps ``delivered``, the highest seq fanned out on this node, and ``version``, the
room's change counter (inserts and deletions) up to which every deletion of a delivered row has
been fanned out. A message committed here (or a deletion event) that is exactly the next version
is delivered at once; anything else (wake-ups from other nodes, a gap) makes the room read what it
lacks from the store in one snapshot: deletions first, then messages in seq order. So every
socket sees changes in an order where the highest ``version`` it has seen, together with its
last ``seq``, is a safe resume point (docs/realtime.md, "Resuming"). A message frame is encoded
once per room, framed once (:class:`realtime.wire.Outgoing`), and the same bytes go to every
socket; the fan-out loop writes them synchronously where the server offers a frame sink.

Send limits are per account on this node (:meth:`Hub.bucket`): every socket of an account draws
from one bucket, which outlives its sockets (reconnecting does not refill it). With several
nodes, each node tells the others through the broker what its accounts spent
(:class:`realtime.brokers.Spent`, batched every ``SPENT_EVERY`` seconds) and charges it to its own
buckets, so an account's sustained rate is held to the limit across nodes.

Presence has a lifetime: each node publishes a heartbeat; entries of a node not heard from for
``presence_ttl`` seconds (a crashed process) expire, and a node shutting down says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from realtime.brokers import (
    Broker,
    Event,
    Gone,
    Heartbeat,
    PresenceSignal,
    Probe,
    Purged,
    Recheck,
    Removed,
    Resync,
    Spent,
    TypingSignal,
    Wake,
)
from realtime.connection import Connection, Subscription, TokenBucket
from realtime.interfaces import MessageStore, StoredMessage
from realtime.protocol import Deleted, Edited, MessageFrame, Presence, TypingFrame, encode
from realtime.protocol import Purged as PurgedFrame
from realtime.wire import Outgoing

log = logging.getLogger("affinity.realtime")

CATCH_UP_PAGE = 500

SPENT_EVERY = 0.2
"""Seconds between a node's reports of what its accounts spent (per-account send limit)."""


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
        version=message.version or None,
        edited_at=message.edited_at,
        author_name=message.author_name,
    )


def change_frame(message: StoredMessage) -> Deleted | Edited:
    """The frame telling a client that already has ``message`` about its last change."""
    if message.deleted or message.edited_at is None:
        return Deleted(space=message.space_id, seq=message.seq, version=message.version or None)
    return Edited(
        space=message.space_id,
        seq=message.seq,
        body=message.body,
        edited_at=message.edited_at,
        version=message.version,
    )


@dataclass(eq=False)
class Room:
    """A space's room as seen by this node."""

    space: uuid.UUID
    members: dict[Connection, Subscription] = field(default_factory=dict)
    """This node's sockets subscribed to the room, each with its subscription (no lookup per delivery)."""
    delivered: int | None = None
    version: int = 0
    pending: int = 0
    pending_version: int = 0
    catching: asyncio.Task[None] | None = None
    local: dict[uuid.UUID, int] = field(default_factory=dict)
    """Account -> number of this node's sockets subscribed."""
    online: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    """Account -> nodes where it has a socket in this room."""
    presence_timer: asyncio.TimerHandle | None = None


class Hub:
    """This node's rooms and the bridge between the broker and local sockets."""

    def __init__(
        self,
        store: MessageStore,
        broker: Broker,
        *,
        observer: Observer | None = None,
        send_rate: float = 10.0,
        send_burst: int = 30,
    ) -> None:
        self.store = store
        self.broker = broker
        self.node = uuid.uuid4().hex[:12]
        self.rooms: dict[uuid.UUID, Room] = {}
        self.connections: set[Connection] = set()
        self.observer = observer or Observer()
        self.presence_delay = 0.2
        self.seen: dict[str, float] = {}
        """Other nodes -> when they were last heard from (heartbeat or presence)."""
        self.expired: set[str] = set()
        """Nodes whose presence expired; a heartbeat from one of them asks it to re-announce."""
        self.on_recheck: Callable[[], None] = lambda: None
        """Re-check live subscriptions against current access (the gateway sets it)."""
        self.send_rate = send_rate
        self.send_burst = send_burst
        self.buckets: dict[uuid.UUID, TokenBucket] = {}
        """Account -> its send bucket on this node (all its sockets share it; outlives them)."""
        self._spenders: dict[uuid.UUID, TokenBucket] = {}
        self._spent_timer: asyncio.TimerHandle | None = None

    # --- per-account send limit ---------------------------------------------------------------

    def bucket(self, account: uuid.UUID) -> TokenBucket:
        """The account's send bucket on this node, for a new socket (release it when the socket ends)."""
        bucket = self._bucket(account)
        bucket.users += 1
        return bucket

    def release(self, bucket: TokenBucket) -> None:
        """A socket using ``bucket`` ended (the bucket stays until it is full again and unused)."""
        bucket.users -= 1

    def _bucket(self, account: uuid.UUID) -> TokenBucket:
        bucket = self.buckets.get(account)
        if bucket is None:
            bucket = self.buckets[account] = TokenBucket(
                self.send_rate, self.send_burst, on_first_spend=lambda b: self._spending(account, b)
            )
        return bucket

    def _spending(self, account: uuid.UUID, bucket: TokenBucket) -> None:
        if not self.seen:
            bucket.spent = 0  # no other node known: nothing to report
            return
        self._spenders[account] = bucket
        if self._spent_timer is None:
            with contextlib.suppress(RuntimeError):
                self._spent_timer = asyncio.get_running_loop().call_later(SPENT_EVERY, self._report_spent)

    def _report_spent(self) -> None:
        self._spent_timer = None
        spenders, self._spenders = self._spenders, {}
        spent = {account: n for account, bucket in spenders.items() if (n := bucket.drain_spent())}
        if spent:
            self.broker.publish(Spent(self.node, spent))

    def forget_idle_buckets(self) -> None:
        """Drop buckets no socket uses that are full again (remembering them changes nothing)."""
        for account in [a for a, b in self.buckets.items() if b.idle()]:
            del self.buckets[account]

    # --- membership of rooms ------------------------------------------------------------------

    def join(self, conn: Connection, space: uuid.UUID) -> Room:
        room = self.rooms.get(space)
        if room is None:
            room = self.rooms[space] = Room(space)
        room.members[conn] = conn.subs[space]
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
        del room.members[conn]
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

    def replayed(self, room: Room, head: int, version: int) -> None:
        """A subscriber read the room at (``head``, ``version``): a new room starts from there."""
        if room.delivered is None:
            room.delivered = head
            room.version = version
            if room.pending > head or room.pending_version > version:
                self._catch_up(room)

    # --- messages ----------------------------------------------------------------------------

    def announce(self, message: StoredMessage) -> None:
        """A message was committed by this process: deliver locally now, wake the other nodes."""
        self.observer.stored()
        room = self.rooms.get(message.space_id)
        if room is not None:
            self._offer(room, message)
        self.broker.publish(Wake(message.space_id, message.seq, message.version))

    def announce_deleted(self, space: uuid.UUID, seq: int, version: int) -> None:
        """A message was deleted (after commit): every node, this one included, tells its subscribers."""
        self.broker.publish(Removed(space, seq, version))

    def announce_edited(self, space: uuid.UUID, version: int) -> None:
        """A message was edited (after commit): every node reads the change from the store (the
        body never travels through the broker) and tells its subscribers in version order."""
        self.broker.publish(Wake(space, 0, version))

    def announce_purged(self, space: uuid.UUID, before: dt.datetime) -> None:
        """The retention purge removed the room's messages sent before ``before`` (after commit)."""
        self.broker.publish(Purged(space, before))

    def _offer(self, room: Room, message: StoredMessage) -> None:
        if (
            room.delivered is not None
            and message.seq == room.delivered + 1
            and (message.version == room.version + 1 or not message.version)
        ):
            self._deliver(room, message)
        else:
            self._behind(room, message.seq, message.version)

    def _behind(self, room: Room, seq: int, version: int) -> None:
        """The room has not seen (``seq``, ``version``) yet: read what it lacks from the store."""
        if room.delivered is None or seq > room.delivered or version > room.version:
            room.pending = max(room.pending, seq)
            room.pending_version = max(room.pending_version, version)
            self._catch_up(room)

    def _deliver(self, room: Room, message: StoredMessage) -> None:
        room.delivered = seq = message.seq
        room.version = max(room.version, message.version)
        frame = Outgoing.of(message_frame(message))
        data = frame.data
        # The hot loop (once per socket per message): the common case — a live subscription, a
        # socket whose transport takes data — is one comparison and one write; everything else
        # (replaying, queued, closed, ASGI) goes through Connection.deliver_to.
        for conn, sub in room.members.items():
            if conn.direct and not sub.replaying and seq > sub.last_seq:
                sub.last_seq = seq
                conn.write(data)
            else:
                conn.deliver_to(sub, seq, frame)
        self.observer.delivered(len(room.members))

    def _deliver_changed(self, room: Room, message: StoredMessage) -> None:
        room.version = max(room.version, message.version)
        frame = Outgoing.of(change_frame(message))
        for conn in room.members:
            conn.deliver_unordered(room.space, frame)

    def _deliver_deleted(self, room: Room, seq: int, version: int) -> None:
        room.version = max(room.version, version)
        frame = Outgoing.of(Deleted(space=room.space, seq=seq, version=version or None))
        for conn in room.members:
            conn.deliver_unordered(room.space, frame)

    def _catch_up(self, room: Room) -> None:
        if room.catching is None and room.delivered is not None:
            room.catching = asyncio.get_running_loop().create_task(self._read_missing(room))

    async def _read_missing(self, room: Room) -> None:
        try:
            while (
                room.delivered is not None
                and (room.pending > room.delivered or room.pending_version > room.version)
                and self.rooms.get(room.space) is room
            ):
                before = (room.delivered, room.version)
                changes = await self.store.changes(room.space, room.delivered, room.version, CATCH_UP_PAGE)
                # Edits and deletions of rows the sockets already have come first, in version
                # order; then new messages in seq order (already carrying any earlier change).
                for changed in changes.changed:
                    if changed.version > room.version and changed.seq <= room.delivered:
                        self._deliver_changed(room, changed)
                if changes.more_changed:
                    continue
                for message in changes.messages:
                    if message.seq > room.delivered:
                        self._deliver(room, message)
                if len(changes.messages) < CATCH_UP_PAGE:
                    room.delivered = max(room.delivered, changes.head)
                    room.version = max(room.version, changes.version)
                    if (room.delivered, room.version) == before:
                        # Nothing new in the store: the pending marks were ahead of it (a resync).
                        room.pending, room.pending_version = room.delivered, room.version
                        break
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
            if room is not None:
                self._behind(room, event.seq, event.version)
        elif isinstance(event, Removed):
            room = self.rooms.get(event.space)
            if room is None:
                return
            if room.delivered is not None and event.seq <= room.delivered and event.version == room.version + 1:
                self._deliver_deleted(room, event.seq, event.version)
            elif not event.version:
                self._deliver_deleted(room, event.seq, 0)  # from a node that predates versions
            else:
                self._behind(room, 0, event.version)
        elif isinstance(event, Purged):
            room = self.rooms.get(event.space)
            if room is not None:
                frame = Outgoing.of(PurgedFrame(space=event.space, before=event.before))
                for conn in room.members:
                    conn.deliver_unordered(event.space, frame)
        elif isinstance(event, TypingSignal):
            room = self.rooms.get(event.space)
            if room is not None:
                frame = Outgoing.of(TypingFrame(space=event.space, account=event.account))
                for conn in room.members:
                    if conn.identity.account_id != event.account:
                        conn.deliver_unordered(event.space, frame)
        elif isinstance(event, PresenceSignal):
            self._presence(event)
        elif isinstance(event, Heartbeat):
            if event.node != self.node:
                if event.node in self.expired:
                    self.expired.discard(event.node)
                    self.broker.publish(Probe(event.node))
                self.seen[event.node] = time.monotonic()
        elif isinstance(event, Probe):
            if event.node == self.node:
                self._announce_presence()
        elif isinstance(event, Gone):
            if event.node != self.node:
                self._expire(event.node)
        elif isinstance(event, Recheck):
            self.on_recheck()
        elif isinstance(event, Spent):
            if event.node != self.node:
                for account, n in event.spent.items():
                    self._bucket(account).charge(n)
        elif isinstance(event, Resync):
            for room in self.rooms.values():
                room.pending = 1 << 62
                self._catch_up(room)
            self._announce_presence()
            self.on_recheck()  # a Recheck may have been missed while the broker was away

    # --- presence ----------------------------------------------------------------------------

    def _announce_presence(self) -> None:
        for room in self.rooms.values():
            for account in room.local:
                self.broker.publish(PresenceSignal(room.space, account, self.node, True, sync=True))

    async def keep_presence(self, heartbeat: float, ttl: float) -> None:
        """Publish this node's heartbeat and expire nodes not heard from for ``ttl`` seconds."""
        while True:
            self.broker.publish(Heartbeat(self.node))
            self.sweep(ttl)
            self.forget_idle_buckets()
            await asyncio.sleep(heartbeat)

    def sweep(self, ttl: float) -> None:
        """Expire the presence of every node silent for longer than ``ttl`` seconds."""
        cutoff = time.monotonic() - ttl
        for node in [n for n, at in self.seen.items() if at < cutoff]:
            self._expire(node)

    def _expire(self, node: str) -> None:
        self.seen.pop(node, None)
        self.expired.add(node)
        if len(self.expired) > 1000:
            self.expired.pop()
        for room in self.rooms.values():
            changed = False
            for account in [a for a, nodes in room.online.items() if node in nodes]:
                nodes = room.online[account]
                nodes.discard(node)
                if not nodes:
                    del room.online[account]
                changed = True
            if changed:
                self._schedule_presence(room)

    def goodbye(self) -> None:
        """This node is stopping: others drop its presence at once instead of waiting for the TTL."""
        self.broker.publish(Gone(self.node))

    def _schedule_presence(self, room: Room) -> None:
        if room.presence_timer is None:
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_running_loop()
                # A presence frame lists everyone online, so a join storm in a big room costs
                # members x frame size per flush: batch longer the bigger the room (0.2 s up to
                # 100 sockets here, +0.2 s per further 100, at most 2 s).
                delay = self.presence_delay * min(10, max(1, len(room.members) // 100))
                room.presence_timer = loop.call_later(delay, self._flush_presence, room)

    def _presence(self, event: PresenceSignal) -> None:
        if event.node != self.node:
            self.seen[event.node] = time.monotonic()
            self.expired.discard(event.node)
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
        self._schedule_presence(room)

    def _flush_presence(self, room: Room) -> None:
        room.presence_timer = None
        if self.rooms.get(room.space) is not room:
            return
        frame = Outgoing.of(Presence(space=room.space, online=sorted(room.online)))
        for conn in room.members:
            conn.deliver_unordered(room.space, frame)

    def presence_frame(self, room: Room) -> str:
        """Current presence of a room (sent to a new subscriber after its replay)."""
        return encode(Presence(space=room.space, online=sorted(room.online)))
