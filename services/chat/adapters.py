"""The realtime gateway's collaborators, implemented with SQLAlchemy and the auth area."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from realtime.interfaces import Changes, Identity, Refusal, Rights, StoredMessage
from services.auth.principal import Principal
from services.auth.resolve import Authenticator
from services.chat import access, repository, service
from services.errors import AppError
from services.spaces.governing import Posting, posting_rules

log = logging.getLogger("affinity.chat")


class ChatAuthenticator:
    """Websocket credentials through the app's :class:`Authenticator`, so every credential kind
    the HTTP API accepts (personal tokens, OIDC access tokens, the session cookie) works here."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def from_token(self, token: str) -> Identity | None:
        principal, _ = await self._authenticator.authenticate({"authorization": f"Bearer {token}"}, {})
        return _identity(principal)

    async def from_scope(self, scope: Mapping[str, Any]) -> Identity | None:
        if "user" in scope:
            # The authentication middleware already resolved the handshake's cookie or header.
            principal = scope["user"]
            return _identity(principal) if isinstance(principal, Principal) else None
        # /ws skips the middleware (services.app.AffinityApp): resolve the handshake here.
        return _identity(await self._authenticator.principal_of(scope))


def _identity(principal: Principal | None) -> Identity | None:
    if principal is None:
        return None
    return Identity(account_id=principal.account_id, may_write=principal.may_write())


class PostingRules:
    """The governing ``chat.posting`` rule per space, for the websocket paths (subscribe, send).

    Computing it takes the space's policy; a send must stay one round trip. So only a space's
    first use waits for it; after that sends use the known rule while a background refresh
    renews it once it is ``ttl`` seconds old. A policy change (a template attached, a setting
    changed) therefore reaches live chat within about ``ttl`` seconds — the same bound as
    membership changes (the gateway re-checks those every 30 s). HTTP sends compute the rule
    fresh.

    Every space asked for in one turn of the event loop is computed together, and a refresh
    takes along every known rule past half its ``ttl``: :func:`posting_rules` costs four queries
    however many spaces it is given, so rooms warmed at about the same time are renewed in one
    go (a node with 100 rooms ran ~400 ORM queries in a burst every 30 s when each room renewed
    its own). At most one renewal of everything per ``ttl / 2``. After a failed refresh (database away)
    stale rules are kept and not retried for ``ttl / 10`` seconds; a space never computed is
    retried on its next use, and the caller sees the error.
    """

    BATCH = 500
    """Spaces per query batch (bounded ``IN`` lists)."""

    def __init__(self, engine: AsyncEngine, ttl: float = 30.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._known: dict[uuid.UUID, tuple[Posting, float]] = {}
        self._wanted: set[uuid.UUID] = set()
        self._waiting: dict[uuid.UUID, asyncio.Future[Posting]] = {}
        self._flushing: asyncio.Task[None] | None = None
        self._inflight: set[uuid.UUID] = set()
        self._quiet_until = 0.0

    async def rule(self, space: uuid.UUID) -> Posting:
        """The space's posting rule: may members post, and which guest networks' agreements say no."""
        known = self._known.get(space)
        if known is not None:
            value, fetched = known
            if time.monotonic() - fetched > self._ttl:
                self._want(space)
            return value
        waiter = self._waiting.get(space)
        if waiter is None:
            waiter = self._waiting[space] = asyncio.get_running_loop().create_future()
            self._want(space)
        # Shielded: one caller cancelled (its socket closed) must not cancel the others' answer.
        return await asyncio.shield(waiter)

    async def rules(self, spaces: Sequence[uuid.UUID]) -> dict[uuid.UUID, Posting]:
        """:meth:`rule` for several spaces, computed in the same batch."""
        asked = list(dict.fromkeys(spaces))
        answers = await asyncio.gather(*(self.rule(space) for space in asked))
        return dict(zip(asked, answers, strict=True))

    def _want(self, space: uuid.UUID) -> None:
        if space in self._known and (space in self._inflight or time.monotonic() < self._quiet_until):
            return  # being renewed, or a refresh just failed: keep the stale rule, no retry storm
        self._wanted.add(space)
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let everyone asking in this turn join the batch
            while self._wanted:
                now = time.monotonic()
                half = self._ttl / 2
                batch = self._wanted | {s for s, (_, at) in self._known.items() if now - at > half}
                self._wanted = set()
                self._inflight = batch
                ordered = list(batch)
                for start in range(0, len(ordered), self.BATCH):
                    await self._compute(ordered[start : start + self.BATCH])
        finally:
            self._inflight = set()
            self._flushing = None

    async def _compute(self, spaces: list[uuid.UUID]) -> None:
        try:
            async with AsyncSession(self._engine) as session:
                found = await posting_rules(session, spaces)
        except Exception as exc:
            self._quiet_until = time.monotonic() + self._ttl / 10
            for space in spaces:
                waiter = self._waiting.pop(space, None)
                if waiter is not None and not waiter.done():
                    waiter.set_exception(exc)
                    waiter.exception()  # seen here: callers that went away must not log it again
            log.warning("computing chat posting rules failed (%s); keeping known rules", type(exc).__name__)
            return
        fetched = time.monotonic()
        for space in spaces:
            # A space that does not exist (deleted meanwhile) has no members to post: the send's
            # own membership check refuses; the rule only has to be some value.
            value = found.get(space, Posting(members=True))
            self._known[space] = (value, fetched)
            waiter = self._waiting.pop(space, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(value)


DELETION_PAGE = 5000
"""Deleted frames per read; a client away through more deletions resumes in several pages."""


class SqlMessageStore:
    """Each call is its own short transaction, committed before it returns.

    With ``pool`` (plain asyncpg connections, see :func:`services.chat.runtime.start_chat`),
    sends run as one autocommitted statement: one round trip instead of SQLAlchemy's pool
    pre-ping, BEGIN, statement and COMMIT."""

    def __init__(self, engine: AsyncEngine, posting: PostingRules, pool: asyncpg.Pool | None = None) -> None:
        self._engine = engine
        self._pool = pool
        self._posting = posting

    async def append(
        self, space: uuid.UUID, author: uuid.UUID, key: str, body: str
    ) -> tuple[StoredMessage, bool] | None:
        rule = await self._posting.rule(space)
        pool = self._pool
        if pool is not None:
            for _ in range(3):
                try:
                    async with pool.acquire() as conn:
                        return await repository.append_native(
                            conn,
                            space,
                            author,
                            key,
                            body,
                            members_may_post=rule.members,
                            restricted_guests=rule.restricted_guests,
                        )
                except asyncpg.UniqueViolationError:
                    continue  # a concurrent send with the same key won; the retry finds it
            raise RuntimeError("could not store the message after 3 attempts")
        for _ in range(3):
            try:
                async with self._engine.begin() as conn:
                    return await repository.append(
                        conn,
                        space,
                        author,
                        key,
                        body,
                        members_may_post=rule.members,
                        restricted_guests=rule.restricted_guests,
                    )
            except IntegrityError:
                # Two sends with the same key raced; the loser's rollback undid its increment.
                # Run again: it now finds the stored message and returns it.
                continue
        raise RuntimeError("could not store the message after 3 attempts")

    async def history(self, space: uuid.UUID, after: int, limit: int) -> tuple[list[StoredMessage], int]:
        async with self._engine.connect() as conn:
            return await repository.history(conn, space, after, limit)

    async def changes(self, space: uuid.UUID, after: int, since: int | None, limit: int) -> Changes:
        async with self._engine.connect() as conn:
            return await repository.changes(conn, space, after, since, limit, deletion_limit=DELETION_PAGE)

    async def before(self, space: uuid.UUID, before: int, limit: int) -> list[StoredMessage]:
        async with self._engine.connect() as conn:
            return await repository.before(conn, space, before, limit)

    async def edit(self, space: uuid.UUID, account: uuid.UUID, seq: int, body: str) -> int:
        async with _use_case(self._engine) as session:
            return await service.revise(session, account, space, seq, body)

    async def delete(self, space: uuid.UUID, account: uuid.UUID, seq: int) -> int | None:
        async with _use_case(self._engine) as session:
            return await service.remove(session, account, space, seq)

    async def mark_read(self, space: uuid.UUID, account: uuid.UUID, seq: int) -> int:
        async with _use_case(self._engine) as session:
            return await service.move_read_marker(session, account, space, seq)


@contextlib.asynccontextmanager
async def _use_case(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One session and transaction for a websocket action that runs an HTTP use case: commits on
    success, rolls back on any error, and turns an :class:`AppError` into a :class:`Refusal`."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        try:
            async with session.begin():
                yield session
        except AppError as exc:
            raise Refusal(exc.code, exc.message) from None


class SqlRoomAccess:
    """Chat access through :mod:`services.chat.access` (the federation predicates); the posting
    rule from :class:`PostingRules` (shared with the store)."""

    def __init__(self, engine: AsyncEngine, posting: PostingRules) -> None:
        self._engine = engine
        self._posting = posting

    async def rights(self, account: uuid.UUID, spaces: Sequence[uuid.UUID]) -> dict[uuid.UUID, Rights]:
        posting = await self._posting.rules(spaces)
        async with self._engine.connect() as conn:
            return await access.rights(conn, account, spaces, posting)

    async def readable(self, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
        async with self._engine.connect() as conn:
            return await access.readable(conn, pairs)
