"""The realtime gateway's collaborators, implemented with SQLAlchemy and the auth area."""

from __future__ import annotations

import asyncio
import contextlib
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
    """The governing ``chat.posting`` rule per space, for the websocket send path.

    Computing it takes the space's policy (a few queries and the policy engine); a send must
    stay one round trip. So only a space's first send waits for it; after that sends use the
    known rule while one background refresh per space renews it once it is ``ttl`` seconds old.
    A policy change (a template attached, a setting changed) therefore reaches live chat within
    about ``ttl`` seconds — the same bound as membership changes (the gateway re-checks those
    every 30 s). HTTP sends compute the rule fresh.
    """

    def __init__(self, engine: AsyncEngine, ttl: float = 30.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._known: dict[uuid.UUID, tuple[Posting, float]] = {}
        self._refreshing: dict[uuid.UUID, asyncio.Task[Posting]] = {}

    async def rule(self, space: uuid.UUID) -> Posting:
        """The space's posting rule: may members post, and which guest networks' agreements say no."""
        known = self._known.get(space)
        if known is not None:
            value, fetched = known
            if time.monotonic() - fetched > self._ttl and space not in self._refreshing:
                self._start_refresh(space)
            return value
        # Not known yet: one computation per space however many sockets ask at once.
        task = self._refreshing.get(space) or self._start_refresh(space)
        return await asyncio.shield(task)

    def _start_refresh(self, space: uuid.UUID) -> asyncio.Task[Posting]:
        task = asyncio.get_running_loop().create_task(self._refresh(space))
        self._refreshing[space] = task
        task.add_done_callback(lambda _t: self._refreshing.pop(space, None))
        return task

    async def _refresh(self, space: uuid.UUID) -> Posting:
        async with AsyncSession(self._engine) as session:
            value = (await posting_rules(session, [space])).get(space, Posting(members=True))
        self._known[space] = (value, time.monotonic())
        return value


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
        posting = {space: await self._posting.rule(space) for space in spaces}
        async with self._engine.connect() as conn:
            return await access.rights(conn, account, spaces, posting)

    async def readable(self, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
        async with self._engine.connect() as conn:
            return await access.readable(conn, pairs)
