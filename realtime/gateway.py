"""The ``/ws`` gateway: a plain ASGI websocket application (docs/realtime.md is its manual).

Handshake: a foreign ``Origin`` is refused (HTTP 403) — cross-site websocket hijacking defence.
Then the socket is authenticated by what the handshake carried (session cookie, Authorization
header) or by a first ``auth`` frame within ``auth_timeout`` seconds, else closed with 4401.
Frames are handled in order per socket; replies and fan-out go through the socket's bounded
queue (see :mod:`realtime.connection`), or straight to its transport where the server offers a
frame sink (:mod:`realtime.transport`). Send limits are per account (:meth:`Hub.bucket`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from realtime.brokers import Broker, Recheck, TypingSignal
from realtime.connection import (
    CLOSE_ABUSE,
    CLOSE_FORBIDDEN_ORIGIN,
    CLOSE_GOING_AWAY,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
    Connection,
    Subscription,
)
from realtime.hub import Hub, Observer, Room, change_frame, message_frame
from realtime.interfaces import Authenticator, Identity, MessageStore, Refusal, RoomAccess, StoredMessage
from realtime.protocol import (
    Ack,
    Auth,
    Delete,
    Edit,
    Error,
    FrameProblem,
    History,
    HistoryPage,
    Ping,
    Pong,
    Read,
    Send,
    Subscribe,
    Subscribed,
    Typing,
    Unsubscribe,
    decode_client,
    encode,
)
from realtime.wire import EXTENSION, FrameSink

log = logging.getLogger("affinity.realtime")

Receive = Callable[[], Awaitable[dict[str, Any]]]
SendFn = Callable[[dict[str, Any]], Awaitable[None]]

PONG = encode(Pong())


@dataclass(frozen=True)
class GatewayConfig:
    """Limits of the gateway (documented in docs/realtime.md)."""

    allowed_origins: frozenset[str] = frozenset()
    auth_timeout: float = 5.0
    max_frame_chars: int = 16_384
    max_body_chars: int = 4000
    send_queue_limit: int = 1024
    """Frames waiting for one socket before it is closed with 4408 (a slow reader)."""
    send_rate: float = 10.0
    """Sends (and other limited actions) per second per account, across its sockets."""
    send_burst: int = 30
    typing_interval: float = 1.0
    max_subscriptions: int = 500
    abuse_limit: int = 30
    replay_page: int = 500
    revalidate_every: float = 30.0
    revalidate_batch: int = 250
    """Subscriptions asked about per query of a re-check. A node with 5,000 sockets spent ~150 ms
    of event-loop time deciding them in one piece, a stall every live socket felt; in batches,
    each await lets the fan-out run between them."""
    presence_heartbeat: float = 10.0
    presence_ttl: float = 30.0
    """A node not heard from for this long (crashed) has its presence entries dropped."""


class Gateway:
    """ASGI app for ``/ws`` plus the node's hub; the composition root starts and stops it."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        store: MessageStore,
        access: RoomAccess,
        broker: Broker,
        config: GatewayConfig | None = None,
        observer: Observer | None = None,
        transient: Callable[[BaseException], bool] | None = None,
    ) -> None:
        self.auth = authenticator
        # Which storage failures are outages (the client should retry: ``unavailable``) rather
        # than a frame the store can never accept (retrying would loop forever). The composition
        # root passes its database classifier; without one every failure counts as an outage.
        self.transient: Callable[[BaseException], bool] = transient or (lambda _exc: True)
        self.store = store
        self.access = access
        self.broker = broker
        self.config = config or GatewayConfig()
        self.hub = Hub(
            store, broker, observer=observer, send_rate=self.config.send_rate, send_burst=self.config.send_burst
        )
        self._revalidator: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._rechecking: asyncio.Task[None] | None = None
        self._recheck_again = False
        self.hub.on_recheck = self._recheck_soon

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.start(self.hub.handle)
        loop = asyncio.get_running_loop()
        self._revalidator = loop.create_task(self._revalidate_loop(), name="ws-revalidate")
        cfg = self.config
        self._heartbeat = loop.create_task(
            self.hub.keep_presence(cfg.presence_heartbeat, cfg.presence_ttl), name="ws-presence-heartbeat"
        )

    async def stop(self) -> None:
        for task in (self._revalidator, self._heartbeat, self._rechecking):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for conn in list(self.hub.connections):
            conn.close(CLOSE_GOING_AWAY, "server shutting down")
        await asyncio.sleep(0)
        self.hub.goodbye()
        await self.broker.close()

    def announce(self, message: StoredMessage) -> None:
        """Publish a committed message (HTTP sends call this after commit)."""
        self.hub.announce(message)

    def announce_deleted(self, space: uuid.UUID, seq: int, version: int) -> None:
        """Publish a committed deletion (``version``: the room's version it made)."""
        self.hub.announce_deleted(space, seq, version)

    def announce_edited(self, space: uuid.UUID, version: int) -> None:
        """Publish a committed edit (``version``: the room's version it made)."""
        self.hub.announce_edited(space, version)

    def announce_purged(self, space: uuid.UUID, before: dt.datetime) -> None:
        """Tell every node's subscribers that the room's messages sent before ``before`` are gone."""
        self.hub.announce_purged(space, before)

    # --- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: SendFn) -> None:
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 426, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Open a websocket here (see docs/realtime.md)."})
            return
        if (await receive())["type"] != "websocket.connect":
            return
        origin = _header(scope, b"origin")
        if origin is not None and origin.rstrip("/") not in self.config.allowed_origins:
            # Closing before accepting refuses the handshake (HTTP 403): a page on another site
            # must not ride on this browser's session cookie.
            await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN_ORIGIN})
            return
        try:
            identity = await self.auth.from_scope(scope)
            await send({"type": "websocket.accept"})
            if identity is None:
                identity = await self._first_frame_auth(receive, send)
                if identity is None:
                    return
        except Exception as exc:
            if not self.transient(exc):
                raise
            log.warning("websocket refused: credentials could not be checked (%s)", type(exc).__name__)
            with contextlib.suppress(Exception):
                # Accept first so the client sees the close code, not just a failed handshake.
                await send({"type": "websocket.accept"})
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER, "reason": "try again later"})
            return
        sink: FrameSink | None = (scope.get("extensions") or {}).get(EXTENSION)
        conn = Connection(
            send,
            identity,
            limit=self.config.send_queue_limit,
            sends=self.hub.bucket(identity.account_id),
            sink=sink,
        )
        self.hub.connections.add(conn)
        self.hub.observer.connections(1)
        try:
            await self._serve(conn, receive)
        finally:
            conn.stop()
            self.hub.release(conn.sends)
            self.hub.connections.discard(conn)
            self.hub.observer.connections(-1)
            for space in list(conn.subs):
                self.hub.leave(conn, space)
            conn.subs.clear()

    async def _first_frame_auth(self, receive: Receive, send: SendFn) -> Identity | None:
        async def refuse(reason: str) -> None:
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED, "reason": reason})

        try:
            async with asyncio.timeout(self.config.auth_timeout):
                message = await receive()
        except TimeoutError:
            await refuse('authenticate within 5 s: send {"type": "auth", "token": ...}')
            return None
        if message["type"] != "websocket.receive":
            return None
        data = message.get("text") or message.get("bytes") or ""
        try:
            frame = decode_client(data) if len(data) <= self.config.max_frame_chars else None
        except FrameProblem:
            frame = None
        if not isinstance(frame, Auth):
            await refuse('the first frame must be {"type": "auth", "token": ...}')
            return None
        identity = await self.auth.from_token(frame.token)
        if identity is None:
            await refuse("the token is unknown, expired or revoked")
        return identity

    async def _serve(self, conn: Connection, receive: Receive) -> None:
        cfg = self.config
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive" or conn.closed:
                continue
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            try:
                if len(data) > cfg.max_frame_chars:
                    raise FrameProblem("frame_too_large", f"Frames may be at most {cfg.max_frame_chars} characters.")
                frame = decode_client(data)
                await self._dispatch(conn, frame)
            except FrameProblem as problem:
                self._problem(conn, problem.code, problem.message)
            except _Refused as refused:
                self._problem(conn, refused.code, refused.message, refused.ref)

    def _problem(self, conn: Connection, code: str, message: str, ref: str | None = None) -> None:
        conn.offer(encode(Error(code=code, message=message, ref=ref)))
        if conn.strike(self.config.abuse_limit):
            conn.close(CLOSE_ABUSE, "too many invalid or refused frames")

    async def _dispatch(self, conn: Connection, frame: object) -> None:
        if isinstance(frame, Send):
            await self._send(conn, frame)
        elif isinstance(frame, Subscribe):
            await self._subscribe(conn, frame)
        elif isinstance(frame, Ping):
            conn.offer(PONG)
        elif isinstance(frame, Typing):
            sub = conn.subs.get(frame.space)
            if sub is None:
                raise _Refused("not_subscribed", "Subscribe to the space before sending typing.", str(frame.space))
            now = time.monotonic()
            if now - sub.last_typing >= self.config.typing_interval:
                sub.last_typing = now
                self.broker.publish(TypingSignal(frame.space, conn.identity.account_id))
        elif isinstance(frame, Unsubscribe):
            if conn.subs.pop(frame.space, None) is not None:
                self.hub.leave(conn, frame.space)
        elif isinstance(frame, History):
            await self._history(conn, frame)
        elif isinstance(frame, Edit | Delete):
            await self._change(conn, frame)
        elif isinstance(frame, Read):
            await self._read(conn, frame)
        elif isinstance(frame, Auth):
            raise _Refused("already_authenticated", "This socket is already authenticated.")

    def _take(self, conn: Connection, ref: str) -> None:
        """Sends, edits, deletions, history pages and read markers share the socket's rate limit."""
        if not conn.sends.take():
            raise _Refused(
                "rate_limited", f"Slow down: at most {self.config.send_rate:g} actions per second; try again.", ref
            )

    async def _history(self, conn: Connection, frame: History) -> None:
        """The page just before ``frame.before`` for a subscribed socket (membership was checked at
        subscribe and is re-checked with the live subscriptions)."""
        ref = str(frame.space)
        if frame.space not in conn.subs:
            raise _Refused("not_subscribed", "Subscribe to the space before asking for its history.", ref)
        self._take(conn, ref)
        try:
            messages = await self.store.before(frame.space, frame.before, frame.limit)
        except Exception as exc:
            log.exception("reading a history page failed")
            if not self.transient(exc):
                raise _Refused("not_readable", "The server could not read this history.", ref) from None
            raise _Refused("unavailable", "History could not be read; ask again.", ref) from None
        page = HistoryPage(
            space=frame.space,
            before=frame.before,
            messages=[message_frame(m) for m in messages],
            more=len(messages) == frame.limit,
        )
        await conn.put(encode(page))

    async def _change(self, conn: Connection, frame: Edit | Delete) -> None:
        """Edit or delete through the store (which decides through the federation rules and
        commits); the change reaches every subscriber, the sender included, through the room."""
        cfg = self.config
        ref = f"{frame.space}/{frame.seq}"
        if isinstance(frame, Edit):
            if not frame.body.strip():
                raise _Refused("empty_body", "A message needs some text.", ref)
            if len(frame.body) > cfg.max_body_chars:
                raise _Refused("body_too_long", f"Messages may be at most {cfg.max_body_chars} characters.", ref)
        if not conn.identity.may_write:
            raise _Refused("insufficient_scope", "This token is read-only; use a token with scope 'write'.", ref)
        self._take(conn, ref)
        account = conn.identity.account_id
        try:
            if isinstance(frame, Edit):
                version = await self.store.edit(frame.space, account, frame.seq, frame.body)
                self.hub.announce_edited(frame.space, version)
            else:
                deleted = await self.store.delete(frame.space, account, frame.seq)
                if deleted is not None:
                    self.hub.announce_deleted(frame.space, frame.seq, deleted)
        except Refusal as refusal:
            raise _Refused(refusal.code, refusal.message, ref) from None
        except Exception as exc:
            log.exception("changing a chat message failed")
            if not self.transient(exc):
                raise _Refused(
                    "not_stored", "The server could not store this change; retrying will not help.", ref
                ) from None
            raise _Refused("unavailable", "The change could not be stored; try again.", ref) from None

    async def _read(self, conn: Connection, frame: Read) -> None:
        ref = str(frame.space)
        self._take(conn, ref)
        try:
            await self.store.mark_read(frame.space, conn.identity.account_id, frame.seq)
        except Refusal as refusal:
            raise _Refused(refusal.code, refusal.message, ref) from None
        except Exception as exc:
            log.exception("storing a read marker failed")
            if not self.transient(exc):
                raise _Refused("not_stored", "The server could not store the read marker.", ref) from None
            raise _Refused("unavailable", "The read marker could not be stored; send it again.", ref) from None

    async def _send(self, conn: Connection, frame: Send) -> None:
        cfg = self.config
        if not frame.body.strip():
            raise _Refused("empty_body", "A message needs some text.", frame.key)
        if len(frame.body) > cfg.max_body_chars:
            raise _Refused("body_too_long", f"Messages may be at most {cfg.max_body_chars} characters.", frame.key)
        if not conn.identity.may_write:
            raise _Refused("insufficient_scope", "This token is read-only; use a token with scope 'write'.", frame.key)
        if not conn.sends.take():
            raise _Refused(
                "rate_limited",
                f"Slow down: at most {cfg.send_rate:g} messages per second per account; resend this key.",
                frame.key,
            )
        try:
            result = await self.store.append(frame.space, conn.identity.account_id, frame.key, frame.body)
        except Exception as exc:
            log.exception("storing a chat message failed")
            if not self.transient(exc):
                raise _Refused(
                    "not_stored", "The server could not store this message; resending it will not help.", frame.key
                ) from None
            raise _Refused(
                "unavailable", "The message could not be stored; resend it with the same key.", frame.key
            ) from None
        if result is None:
            rights = (await self.access.rights(conn.identity.account_id, [frame.space])).get(frame.space)
            if rights is not None and rights.read:
                if rights.reason == "muted":
                    raise _Refused("muted", "A facilitator muted you here: you can read but not post.", frame.key)
                raise _Refused("posting_restricted", "Only facilitators may post in this space.", frame.key)
            raise _Refused("not_a_member", "Only active members of the space may post in it.", frame.key)
        message, created = result
        if created:
            self.hub.announce(message)
        conn.offer(encode(Ack(key=frame.key, seq=message.seq, space=frame.space)))

    async def _subscribe(self, conn: Connection, frame: Subscribe) -> None:
        cfg = self.config
        space = frame.space
        rights = (await self.access.rights(conn.identity.account_id, [space])).get(space)
        if rights is None or not rights.read:
            raise _Refused("not_a_member", "Only active members of the space may read its chat.", str(space))
        if space in conn.subs:
            conn.subs.pop(space)
            self.hub.leave(conn, space)
        elif len(conn.subs) >= cfg.max_subscriptions:
            raise _Refused("too_many_subscriptions", f"At most {cfg.max_subscriptions} spaces per socket.", str(space))
        sub = Subscription(last_seq=frame.after or 0)
        conn.subs[space] = sub
        room = self.hub.join(conn, space)
        try:
            if frame.after is None:
                changes = await self.store.changes(space, 1 << 62, None, 0)
                sub.last_seq = changes.head
                self.hub.replayed(room, changes.head, changes.version)
                await conn.put(encode(Subscribed(space=space, head=changes.head, version=changes.version)))
            else:
                await self._replay(conn, sub, room, frame.after, frame.since_version)
        except Exception as exc:
            if conn.subs.get(space) is sub:
                conn.subs.pop(space)
                self.hub.leave(conn, space)
            log.exception("replaying chat history failed")
            if not self.transient(exc):
                raise _Refused("not_readable", "The server could not read this history.", str(space)) from None
            raise _Refused("unavailable", "History could not be read; subscribe again.", str(space)) from None
        if conn.subs.get(space) is sub:
            conn.finish_replay(space)
            conn.offer(self.hub.presence_frame(room))

    async def _replay(self, conn: Connection, sub: Subscription, room: Room, after: int, since: int | None) -> None:
        """Send what a client at (``after``, ``since``) lacks: edits and deletions of rows it has
        (by version), then messages after ``after`` (by seq). Live frames are buffered meanwhile."""
        cfg, space, store = self.config, room.space, self.store
        changes = await store.changes(space, after, since, cfg.replay_page)
        self.hub.replayed(room, changes.head, changes.version)
        # The room may have started from a later read than ours (another socket's): cover it too.
        head = max(changes.head, room.delivered or 0)
        room_version = room.version
        await conn.put(encode(Subscribed(space=space, head=changes.head, version=changes.version)))
        changed, more = changes.changed, changes.more_changed
        while True:
            for message in changed:
                await conn.put(encode(change_frame(message)))
            if not more or conn.subs.get(space) is not sub:
                break
            page = await store.changes(space, after, changed[-1].version, 0)
            changed, more = page.changed, page.more_changed
        # Page until the head is covered (the head is read with the first page; live frames past
        # it are buffered meanwhile).
        messages = changes.messages
        while messages:
            for message in messages:
                if message.seq > sub.last_seq:
                    sub.last_seq = message.seq
                    await conn.put(encode(message_frame(message)))
            if conn.subs.get(space) is not sub or (len(messages) < cfg.replay_page and sub.last_seq >= head):
                break
            messages, _ = await store.history(space, sub.last_seq, cfg.replay_page)
        if room_version > changes.version and since is not None and conn.subs.get(space) is sub:
            # Changes between our read and the room's starting point reach no socket live.
            late = await store.changes(space, sub.last_seq, changes.version, 0)
            for message in late.changed:
                await conn.put(encode(change_frame(message)))

    async def _revalidate_loop(self) -> None:
        """Drop subscriptions whose account lost access (left, removed, banned) — one query per round."""
        while True:
            await asyncio.sleep(self.config.revalidate_every)
            try:
                await self.revalidate()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("re-checking chat subscriptions failed")

    def access_changed(self) -> None:
        """A committed change may have taken chat access away from someone (a ban, a removal, a
        lost network role, an ended share, a move under a space they are banned from): every
        node re-checks its live subscriptions now, instead of at the periodic check."""
        self.broker.publish(Recheck())

    def _recheck_soon(self) -> None:
        """Run :meth:`revalidate` now; requests arriving while one runs make it run once more
        (so a burst of changes costs at most two checks, and none is missed)."""
        if self._rechecking is not None and not self._rechecking.done():
            self._recheck_again = True
            return
        self._rechecking = asyncio.get_running_loop().create_task(self._recheck(), name="ws-recheck")

    async def _recheck(self) -> None:
        while True:
            self._recheck_again = False
            try:
                await self.revalidate()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("re-checking chat subscriptions after an access change failed")
            if not self._recheck_again:
                return

    async def revalidate(self) -> None:
        """Check every live subscription of this node against current access (one query)."""
        pairs = {(c.identity.account_id, s) for c in self.hub.connections for s in c.subs}
        if not pairs:
            return
        asked, batch = list(pairs), max(1, self.config.revalidate_batch)
        allowed: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for start in range(0, len(asked), batch):
            allowed |= await self.access.readable(asked[start : start + batch])
        for conn in list(self.hub.connections):
            for space in list(conn.subs):
                pair = (conn.identity.account_id, space)
                # Only what was asked: a socket that subscribed while the query ran was checked
                # by its subscribe (dropping it here was a bug: ~1 % of a 1,000-socket room that
                # joined during a re-check silently got nothing more).
                if pair in pairs and pair not in allowed:
                    conn.subs.pop(space)
                    self.hub.leave(conn, space)
                    conn.offer(
                        encode(Error(code="access_revoked", message="You are no longer a member.", ref=str(space)))
                    )


class _Refused(Exception):
    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
