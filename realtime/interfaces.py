"""What the gateway needs from the rest of the system, as protocols the composition root fills in.

``realtime/`` never imports ``services/``: the service layer implements these with SQLAlchemy and
its authenticator, and hands them to :class:`realtime.gateway.Gateway`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Identity:
    """Who owns a socket."""

    account_id: uuid.UUID
    may_write: bool = True


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A committed chat message (``deleted`` is a tombstone: body emptied)."""

    space_id: uuid.UUID
    seq: int
    id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    key: str
    sent_at: dt.datetime
    deleted: bool = False
    version: int = 0
    """The room's version at this row's last change (its insert, an edit, or its deletion)."""
    edited_at: dt.datetime | None = None
    """When the body was last edited (None: never)."""
    author_name: str | None = None
    """The author's display name when the row was read (None: account gone)."""


@dataclass(frozen=True, slots=True)
class Changes:
    """One consistent read of a room: what a client (or a node) at (after, since) is missing."""

    messages: list[StoredMessage]
    """Messages with ``seq > after``, ascending (a page)."""
    changed: list[StoredMessage]
    """Rows with ``seq <= after`` edited or deleted after version ``since``, by version (each
    as it is now: a tombstone, or the edited body)."""
    head: int
    version: int
    """The room's head seq and change counter in the same snapshot."""
    more_changed: bool = False
    """``changed`` was cut at a page: read again with ``since`` = its last version."""


@dataclass(frozen=True, slots=True)
class Rights:
    """What an account may do in one space's room."""

    read: bool = False
    post: bool = False
    moderate: bool = False
    reason: str = "not_a_member"
    """Error code when ``post`` (or ``read``) is refused: not_a_member | posting_restricted."""


NO_RIGHTS = Rights()


class Refusal(Exception):
    """A chat action the caller may not take (or that makes no sense): ``code`` for the error
    frame, a sentence a person can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Authenticator(Protocol):
    """Turns credentials into an :class:`Identity`."""

    async def from_token(self, token: str) -> Identity | None:
        """The identity a bearer token (personal or OIDC access token) stands for."""
        ...

    async def from_scope(self, scope: Mapping[str, Any]) -> Identity | None:
        """The identity the handshake already carries (session cookie, Authorization header)."""
        ...


class MessageStore(Protocol):
    """Durable, ordered history of each space's room."""

    async def append(
        self, space: uuid.UUID, author: uuid.UUID, key: str, body: str
    ) -> tuple[StoredMessage, bool] | None:
        """Store a message with the space's next seq and commit; return (message, created).

        Re-sending an existing ``(space, author, key)`` returns the stored message and False.
        Returns None when the author may not post in the space (checked in the same transaction).
        """
        ...

    async def history(self, space: uuid.UUID, after: int, limit: int) -> tuple[list[StoredMessage], int]:
        """Messages with ``seq > after`` ascending (at most ``limit``) and the room's head seq."""
        ...

    async def changes(self, space: uuid.UUID, after: int, since: int | None, limit: int) -> Changes:
        """In one snapshot: messages after ``after`` (at most ``limit``), edits and deletions of
        rows at or before ``after`` with version > ``since`` (None: none), the head and the room
        version."""
        ...

    async def before(self, space: uuid.UUID, before: int, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` messages with ``seq < before``, ascending (the page just before)."""
        ...

    async def edit(self, space: uuid.UUID, account: uuid.UUID, seq: int, body: str) -> int:
        """Replace the body of ``account``'s own message ``seq``; commit and return the room
        version the edit made. Raises :class:`Refusal` (not the author, deleted, not a member,
        muted, no such message)."""
        ...

    async def delete(self, space: uuid.UUID, account: uuid.UUID, seq: int) -> int | None:
        """Tombstone message ``seq`` (its author or a facilitator; audited for a facilitator);
        commit and return the version the deletion made, or None when it was already deleted.
        Raises :class:`Refusal`."""
        ...

    async def mark_read(self, space: uuid.UUID, account: uuid.UUID, seq: int) -> int:
        """Move ``account``'s read marker in ``space`` forward to ``seq`` (never back, never past
        the head); return the marker. Raises :class:`Refusal` for non-members."""
        ...


class RoomAccess(Protocol):
    """Membership and posting policy, asked in batches (one query for many spaces)."""

    async def rights(self, account: uuid.UUID, spaces: Sequence[uuid.UUID]) -> dict[uuid.UUID, Rights]:
        """Rights of ``account`` in each space (missing = no rights)."""
        ...

    async def readable(self, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """Of (account, space) pairs, those where the account may still read (re-validation)."""
        ...
