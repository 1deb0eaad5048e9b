"""The realtime gateway's collaborators, implemented with SQLAlchemy and the auth area."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.interfaces import Changes, Identity, Rights, StoredMessage
from services.auth.principal import Principal
from services.auth.resolve import Authenticator
from services.chat import repository


class ChatAuthenticator:
    """Websocket credentials through the app's :class:`Authenticator`, so every credential kind
    the HTTP API accepts (personal tokens, OIDC access tokens, the session cookie) works here."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def from_token(self, token: str) -> Identity | None:
        principal, _ = await self._authenticator.authenticate({"authorization": f"Bearer {token}"}, {})
        return _identity(principal)

    async def from_scope(self, scope: Mapping[str, Any]) -> Identity | None:
        # The authentication middleware already resolved the handshake's cookie or header.
        principal = scope.get("user")
        return _identity(principal) if isinstance(principal, Principal) else None


def _identity(principal: Principal | None) -> Identity | None:
    if principal is None:
        return None
    return Identity(account_id=principal.account_id, may_write=principal.may_write())


DELETION_PAGE = 5000
"""Deleted frames per read; a client away through more deletions resumes in several pages."""


class SqlMessageStore:
    """Each call is its own short transaction, committed before it returns.

    With ``pool`` (plain asyncpg connections, see :func:`services.chat.runtime.start_chat`),
    sends run as one autocommitted statement: one round trip instead of SQLAlchemy's pool
    pre-ping, BEGIN, statement and COMMIT."""

    def __init__(self, engine: AsyncEngine, pool: asyncpg.Pool | None = None) -> None:
        self._engine = engine
        self._pool = pool

    async def append(
        self, space: uuid.UUID, author: uuid.UUID, key: str, body: str
    ) -> tuple[StoredMessage, bool] | None:
        pool = self._pool
        if pool is not None:
            for _ in range(3):
                try:
                    async with pool.acquire() as conn:
                        return await repository.append_native(conn, space, author, key, body)
                except asyncpg.UniqueViolationError:
                    continue  # a concurrent send with the same key won; the retry finds it
            raise RuntimeError("could not store the message after 3 attempts")
        for _ in range(3):
            try:
                async with self._engine.begin() as conn:
                    return await repository.append(conn, space, author, key, body)
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


class SqlRoomAccess:
    """Membership and ``chat.posting`` straight from space_members and spaces.settings."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def rights(self, account: uuid.UUID, spaces: Sequence[uuid.UUID]) -> dict[uuid.UUID, Rights]:
        async with self._engine.connect() as conn:
            return await repository.rights(conn, account, spaces)

    async def readable(self, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
        async with self._engine.connect() as conn:
            return await repository.readable(conn, pairs)
