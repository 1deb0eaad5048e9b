"""All chat SQL. Sends are one statement: access check, seq increment and insert together."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from realtime.interfaces import Changes, Rights, StoredMessage

Executor = AsyncConnection | AsyncSession
_UUIDS = ARRAY(UUID(as_uuid=True))

# Posting rule: an active member may post unless the space's governing `chat.posting` (its
# setting pulled inside templates and ancestors, computed by services.spaces.governing and passed
# in as :members_may_post) is 'facilitators', in which case only facilitators may. The counter row
# is upserted only when the rule allows it and the key is new, so a refused or repeated send
# changes nothing.
_APPEND_SQL = """
WITH existing AS (
    SELECT seq, id, body, sent_at, deleted_at, version FROM messages
    WHERE space_id = :space AND author_id = :author AND key = :key
), allowed AS (
    SELECT 1 FROM space_members m
    WHERE m.space_id = :space AND m.account_id = :author AND m.status = 'active'
      AND (m.role = 'facilitator' OR CAST(:members_may_post AS boolean))
      AND NOT EXISTS (SELECT 1 FROM existing)
), room AS (
    INSERT INTO chat_rooms (space_id, head_seq, version) SELECT :space, 1, 1 FROM allowed
    ON CONFLICT (space_id) DO UPDATE SET head_seq = chat_rooms.head_seq + 1, version = chat_rooms.version + 1
    RETURNING head_seq, version
), ins AS (
    INSERT INTO messages (space_id, seq, id, author_id, body, key, sent_at, version)
    SELECT :space, head_seq, :id, :author, :body, :key, now(), version FROM room
    RETURNING seq, id, body, sent_at, deleted_at, version
)
SELECT true AS created, seq, id, body, sent_at, deleted_at, version FROM ins
UNION ALL
SELECT false AS created, seq, id, body, sent_at, deleted_at, version FROM existing
"""
_APPEND = text(_APPEND_SQL)
_APPEND_PARAMS = ("space", "author", "key", "body", "id", "members_may_post")
_APPEND_NATIVE = re.sub(
    r":(space|author|key|body|id|members_may_post)\b", lambda m: f"${_APPEND_PARAMS.index(m[1]) + 1}", _APPEND_SQL
)
"""The same statement with asyncpg's positional parameters (the websocket send path)."""

_HISTORY = text(
    """
SELECT seq, id, author_id, body, key, sent_at, deleted_at, version FROM messages
WHERE space_id = :space AND seq > :after ORDER BY seq LIMIT :limit
"""
)
_HEAD = text("SELECT coalesce((SELECT head_seq FROM chat_rooms WHERE space_id = :space), 0)")

# One statement, hence one snapshot: the messages after ``after`` (by seq), the deletions of rows
# at or before ``after`` made after version ``since`` (by version), and the room's head and
# version. Kind 'h' is the room row (seq = head, version = room version).
_CHANGES = text(
    """
(SELECT 'm' AS kind, seq, id, author_id, body, key, sent_at, deleted_at, version FROM messages
 WHERE space_id = :space AND seq > :after ORDER BY seq LIMIT :limit)
UNION ALL
(SELECT 'd', seq, NULL, NULL, NULL, NULL, NULL, deleted_at, version FROM messages
 WHERE space_id = :space AND deleted_at IS NOT NULL AND version > :since AND seq <= :after
 ORDER BY version LIMIT :dlimit)
UNION ALL
SELECT 'h', coalesce(max(head_seq), 0), NULL, NULL, NULL, NULL, NULL, NULL, coalesce(max(version), 0)
FROM chat_rooms WHERE space_id = :space
"""
)

_RIGHTS = text(
    """
SELECT m.space_id, m.role FROM space_members m
WHERE m.account_id = :account AND m.space_id = ANY(:spaces) AND m.status = 'active'
"""
).bindparams(bindparam("spaces", type_=_UUIDS))

_READABLE = text(
    """
SELECT m.account_id, m.space_id
FROM space_members m JOIN unnest(:accounts, :spaces) AS p(account_id, space_id)
  ON m.account_id = p.account_id AND m.space_id = p.space_id
WHERE m.status = 'active'
"""
).bindparams(bindparam("accounts", type_=_UUIDS), bindparam("spaces", type_=_UUIDS))

_RETENTION = text(
    """
SELECT id, settings->'chat.retention_days' AS days FROM spaces
WHERE jsonb_typeof(settings->'chat.retention_days') = 'number'
"""
)

_PURGE_SPACE = text("DELETE FROM messages WHERE space_id = :space AND sent_at < CAST(:cutoff AS timestamptz)")


async def append(
    db: Executor, space: uuid.UUID, author: uuid.UUID, key: str, body: str, *, members_may_post: bool
) -> tuple[StoredMessage, bool] | None:
    """Store a message with the next seq (or return the one stored under ``key``); None if refused."""
    params = {
        "space": space,
        "author": author,
        "key": key,
        "body": body,
        "id": uuid.uuid4(),
        "members_may_post": members_may_post,
    }
    row = (await db.execute(_APPEND, params)).first()
    return None if row is None else _appended(space, author, key, row)


async def append_native(
    db: asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any],
    space: uuid.UUID,
    author: uuid.UUID,
    key: str,
    body: str,
    *,
    members_may_post: bool,
) -> tuple[StoredMessage, bool] | None:
    """:func:`append` on a plain asyncpg connection outside a transaction: the one statement
    commits on its own (atomic, like any single statement), so a send is one round trip."""
    row = await db.fetchrow(_APPEND_NATIVE, space, author, key, body, uuid.uuid4(), members_may_post)
    return None if row is None else _appended(space, author, key, tuple(row))


def _appended(space: uuid.UUID, author: uuid.UUID, key: str, row: Any) -> tuple[StoredMessage, bool]:
    created, seq, message_id, stored_body, sent_at, deleted_at, version = row
    message = StoredMessage(
        space_id=space,
        seq=seq,
        id=message_id,
        author_id=author,
        body=stored_body,
        key=key,
        sent_at=sent_at,
        deleted=deleted_at is not None,
        version=version,
    )
    return message, bool(created)


def _message(space: uuid.UUID, row: Any) -> StoredMessage:
    seq, message_id, author_id, body, key, sent_at, deleted_at, version = row
    return StoredMessage(
        space_id=space,
        seq=seq,
        id=message_id,
        author_id=author_id,
        body=body,
        key=key,
        sent_at=sent_at,
        deleted=deleted_at is not None,
        version=version,
    )


async def history(db: Executor, space: uuid.UUID, after: int, limit: int) -> tuple[list[StoredMessage], int]:
    """Messages after ``after`` (ascending, at most ``limit``) and the head, read after them."""
    messages: list[StoredMessage] = []
    if limit > 0:
        rows = await db.execute(_HISTORY, {"space": space, "after": after, "limit": limit})
        messages = [_message(space, row) for row in rows]
    head = int((await db.execute(_HEAD, {"space": space})).scalar_one())
    if messages:
        head = max(head, messages[-1].seq)
    return messages, head


async def changes(
    db: Executor, space: uuid.UUID, after: int, since: int | None, limit: int, *, deletion_limit: int
) -> Changes:
    """What a client at (``after``, ``since``) lacks, from one snapshot (see :data:`_CHANGES`).

    ``since`` None asks for no deletions (a client that does not track versions)."""
    params = {
        "space": space,
        "after": after,
        "since": (1 << 62) if since is None else since,
        "limit": limit,
        "dlimit": deletion_limit + 1,
    }
    messages: list[StoredMessage] = []
    deleted: list[tuple[int, int]] = []
    head = version = 0
    for kind, *row in await db.execute(_CHANGES, params):
        if kind == "m":
            messages.append(_message(space, row))
        elif kind == "d":
            deleted.append((row[0], row[7]))
        else:
            head, version = int(row[0]), int(row[7])
    if messages:
        head = max(head, messages[-1].seq)
    more = len(deleted) > deletion_limit
    return Changes(messages=messages, deleted=deleted[:deletion_limit], head=head, version=version, more_deleted=more)


async def rights(
    db: Executor, account: uuid.UUID, spaces: Sequence[uuid.UUID], members_may_post: Mapping[uuid.UUID, bool]
) -> dict[uuid.UUID, Rights]:
    """Rights of ``account`` in each of ``spaces``, one query. Deny by default: only active members
    read; members post where ``members_may_post`` (the governing chat.posting rule) allows."""
    if not spaces:
        return {}
    out: dict[uuid.UUID, Rights] = {}
    for space_id, role in await db.execute(_RIGHTS, {"account": account, "spaces": list(spaces)}):
        facilitator = role == "facilitator"
        may_post = facilitator or members_may_post.get(space_id, True)
        out[space_id] = Rights(
            read=True, post=may_post, moderate=facilitator, reason="" if may_post else "posting_restricted"
        )
    return out


async def readable(db: Executor, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """The (account, space) pairs that are still active memberships, one query."""
    if not pairs:
        return set()
    rows = await db.execute(_READABLE, {"accounts": [a for a, _ in pairs], "spaces": [s for _, s in pairs]})
    return {(account, space) for account, space in rows}


async def find(db: Executor, space: uuid.UUID, seq: int) -> tuple[uuid.UUID | None, bool] | None:
    """(author, deleted) of message ``seq`` in ``space``, or None."""
    row = (
        await db.execute(
            text("SELECT author_id, deleted_at FROM messages WHERE space_id = :space AND seq = :seq FOR UPDATE"),
            {"space": space, "seq": seq},
        )
    ).first()
    return None if row is None else (row[0], row[1] is not None)


_TOMBSTONE = text(
    """
WITH room AS (
    UPDATE chat_rooms SET version = version + 1 WHERE space_id = :space RETURNING version
)
UPDATE messages m SET body = '', deleted_at = :now, version = room.version FROM room
WHERE m.space_id = :space AND m.seq = :seq
RETURNING m.version
"""
)


async def tombstone(db: Executor, space: uuid.UUID, seq: int, now: dt.datetime) -> int:
    """Delete a message's content, keeping its seq (so history stays gapless); bump the room's
    version and return it (the deletion's version)."""
    return int((await db.execute(_TOMBSTONE, {"space": space, "seq": seq, "now": now})).scalar_one())


async def retention_settings(db: Executor) -> list[tuple[uuid.UUID, object]]:
    """Every space with a numeric ``chat.retention_days`` and that raw (unchecked) value."""
    return [(row.id, row.days) for row in await db.execute(_RETENTION)]


async def purge_space(db: Executor, space: uuid.UUID, cutoff: dt.datetime) -> int:
    """Delete one space's messages sent before ``cutoff``; return how many."""
    result: Any = await db.execute(_PURGE_SPACE, {"space": space, "cutoff": cutoff})
    return int(result.rowcount or 0)
