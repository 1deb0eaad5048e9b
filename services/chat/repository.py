"""All chat SQL. Sends are one statement: access check, seq increment and insert together.

Access is decided by :mod:`services.chat.access` through :mod:`federation.space_permissions`;
here are the facts it reads and the send path's SQL copy of the posting rule (tested against the
predicate)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from realtime.interfaces import Changes, StoredMessage

Executor = AsyncConnection | AsyncSession
_UUIDS = ARRAY(UUID(as_uuid=True))

# Who may post, in SQL: the send path decides in the same statement that takes the seq, so a ban
# committed a moment earlier is never outrun and a send stays one round trip. This is the hot
# path's copy of federation.space_permissions.can_post_chat over space_actor's facts:
#   an active row in the space (its role decides facilitator vs member), whose account
#   * still belongs to the home network, or to a guest network with an active share on the space
#     (or, with include_subspaces, on an ancestor) — federation.sharing.covers — or is the space's
#     outside facilitator (brought in by a network admin for this space only);
#   * is banned neither in this space (the row would not be active) nor in any space above;
#   * is a facilitator, or the governing chat.posting (:members_may_post) lets members post and
#     the account is not a guest whose guest network's agreement reaching the space narrows
#     chat.posting to facilitators (:restricted_guests; federation.space_permissions.chat_posting_for);
#   * is not muted in the space or any space above (chat_mutes; the MUTED role);
#   * and the space is not archived (read-only, services.stewardship).
# tests/services/test_chat_access_property.py builds random trees, memberships, bans and shares in
# PostgreSQL and checks this fragment against the predicate for every (account, space); change
# both together.
_MAY_POST_SQL = """
SELECT 1 FROM space_members m JOIN spaces s ON s.id = m.space_id
WHERE m.space_id = :space AND m.account_id = :author AND m.status = 'active'
  AND (m.role = 'facilitator' OR (CAST(:members_may_post AS boolean) AND (
    EXISTS (SELECT 1 FROM network_members n WHERE n.network_id = s.network_id AND n.account_id = m.account_id)
    OR NOT EXISTS (
      SELECT 1 FROM shares sr
      JOIN network_members gr ON gr.network_id = sr.guest_network_id AND gr.account_id = m.account_id
      WHERE sr.status = 'active' AND sr.space_id = ANY(s.path || s.id)
        AND (sr.space_id = s.id OR sr.include_subspaces)
        AND sr.guest_network_id = ANY(CAST(:restricted_guests AS uuid[]))))))
  AND s.archived_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM chat_mutes cm WHERE cm.account_id = m.account_id AND cm.space_id = ANY(s.path || s.id))
  AND NOT EXISTS (
    SELECT 1 FROM space_members b
    WHERE b.account_id = m.account_id AND b.space_id = ANY(s.path) AND b.status = 'banned')
  AND (
    (m.outside AND m.role = 'facilitator')
    OR EXISTS (SELECT 1 FROM network_members n WHERE n.network_id = s.network_id AND n.account_id = m.account_id)
    OR EXISTS (
      SELECT 1 FROM shares sh
      JOIN network_members g ON g.network_id = sh.guest_network_id AND g.account_id = m.account_id
      WHERE sh.status = 'active' AND sh.space_id = ANY(s.path || s.id)
        AND (sh.space_id = s.id OR sh.include_subspaces)))
"""

# The counter row is upserted only when the rule allows it and the key is new, so a refused or
# repeated send changes nothing. The author's display name comes back for the message frame.
_APPEND_SQL = """
WITH existing AS (
    SELECT seq, id, body, sent_at, deleted_at, version, edited_at FROM messages
    WHERE space_id = :space AND author_id = :author AND key = :key
), allowed AS (
    MAY_POST
      AND NOT EXISTS (SELECT 1 FROM existing)
), room AS (
    INSERT INTO chat_rooms (space_id, head_seq, version) SELECT :space, 1, 1 FROM allowed
    ON CONFLICT (space_id) DO UPDATE SET head_seq = chat_rooms.head_seq + 1, version = chat_rooms.version + 1
    RETURNING head_seq, version
), ins AS (
    INSERT INTO messages (space_id, seq, id, author_id, body, key, sent_at, version)
    SELECT :space, head_seq, :id, :author, :body, :key, now(), version FROM room
    RETURNING seq, id, body, sent_at, deleted_at, version, edited_at
), out AS (
    SELECT true AS created, seq, id, body, sent_at, deleted_at, version, edited_at FROM ins
    UNION ALL
    SELECT false AS created, seq, id, body, sent_at, deleted_at, version, edited_at FROM existing
)
SELECT out.*, (SELECT display_name FROM accounts WHERE id = :author) AS author_name FROM out
""".replace("MAY_POST", _MAY_POST_SQL.strip())
_MAY_POST = text("SELECT EXISTS (" + _MAY_POST_SQL + ")").bindparams(bindparam("restricted_guests", type_=_UUIDS))
_APPEND = text(_APPEND_SQL).bindparams(bindparam("restricted_guests", type_=_UUIDS))
_APPEND_PARAMS = ("space", "author", "key", "body", "id", "members_may_post", "restricted_guests")
_APPEND_NATIVE = re.sub(
    r":(space|author|key|body|id|members_may_post|restricted_guests)\b",
    lambda m: f"${_APPEND_PARAMS.index(m[1]) + 1}",
    _APPEND_SQL,
)
"""The same statement with asyncpg's positional parameters (the websocket send path)."""

# A message row as :func:`_message` reads it: m.seq, m.id, m.author_id, m.body, m.key, m.sent_at,
# m.deleted_at, m.version, m.edited_at and the author's display name (joined from accounts).

_HISTORY = text(
    """
SELECT m.seq, m.id, m.author_id, m.body, m.key, m.sent_at, m.deleted_at, m.version, m.edited_at, a.display_name
 FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
WHERE m.space_id = :space AND m.seq > :after ORDER BY m.seq LIMIT :limit
"""
)
# The page just before ``before`` (newest first from the primary key, then turned ascending).
_BEFORE = text(
    """
SELECT * FROM (
    SELECT m.seq, m.id, m.author_id, m.body, m.key, m.sent_at, m.deleted_at, m.version, m.edited_at, a.display_name
 FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
    WHERE m.space_id = :space AND m.seq < :before AND m.seq > :after ORDER BY m.seq DESC LIMIT :limit
) page ORDER BY seq
"""
)
_HEAD = text("SELECT coalesce((SELECT head_seq FROM chat_rooms WHERE space_id = :space), 0)")
# The same page with the room's head on every row: HTTP pages cost one round trip, not two.
_BEFORE_WITH_HEAD = text(
    """
SELECT page.*, (SELECT head_seq FROM chat_rooms WHERE space_id = :space) AS head FROM (
    SELECT m.seq, m.id, m.author_id, m.body, m.key, m.sent_at, m.deleted_at, m.version, m.edited_at, a.display_name
 FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
    WHERE m.space_id = :space AND m.seq < :before AND m.seq > :after ORDER BY m.seq DESC LIMIT :limit
) page ORDER BY seq
"""
)

# One statement, hence one snapshot: the messages after ``after`` (by seq), the rows at or before
# ``after`` edited or deleted after version ``since`` (by version; each as it is now), and the
# room's head and version. Kind 'h' is the room row (seq = head, version = room version).
_CHANGES = text(
    """
(SELECT 'm' AS kind,
 m.seq, m.id, m.author_id, m.body, m.key, m.sent_at, m.deleted_at, m.version, m.edited_at, a.display_name
 FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
 WHERE m.space_id = :space AND m.seq > :after ORDER BY m.seq LIMIT :limit)
UNION ALL
(SELECT 'c', m.seq, m.id, m.author_id, m.body, m.key, m.sent_at, m.deleted_at, m.version, m.edited_at, a.display_name
 FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
 WHERE m.space_id = :space AND (m.deleted_at IS NOT NULL OR m.edited_at IS NOT NULL)
   AND m.version > :since AND m.seq <= :after
 ORDER BY m.version LIMIT :dlimit)
UNION ALL
SELECT 'h', coalesce(max(head_seq), 0), NULL, NULL, NULL, NULL, NULL, NULL, coalesce(max(version), 0), NULL, NULL
FROM chat_rooms WHERE space_id = :space
"""
)

# The facts chat access depends on, for many (account, space) pairs in one statement: the space,
# the account's row in it, whether it is banned above, its role in the home network, and the
# active shares on the space's path with networks it belongs to. Deciding is left to
# federation.space_permissions (services.chat.access): no rule lives in this query.
_FACTS = text(
    """
SELECT p.account_id, p.space_id, s.network_id, s.path, s.kind, s.visibility, s.join_mode, m.role, m.status,
       coalesce(m.outside, false),
       EXISTS (SELECT 1 FROM space_members b
               WHERE b.account_id = p.account_id AND b.space_id = ANY(s.path) AND b.status = 'banned'),
       (SELECT n.role FROM network_members n WHERE n.network_id = s.network_id AND n.account_id = p.account_id),
       sh.spaces, sh.subspaces, sh.networks, sh.roles,
       EXISTS (SELECT 1 FROM chat_mutes cm
               WHERE cm.account_id = p.account_id AND cm.space_id = ANY(s.path || s.id)) AS muted
FROM unnest(:accounts, :spaces) AS p(account_id, space_id)
JOIN spaces s ON s.id = p.space_id
LEFT JOIN space_members m ON m.space_id = p.space_id AND m.account_id = p.account_id
LEFT JOIN LATERAL (
    SELECT array_agg(x.space_id) AS spaces, array_agg(x.include_subspaces) AS subspaces,
           array_agg(x.guest_network_id) AS networks, array_agg(g.role) AS roles
    FROM shares x JOIN network_members g ON g.network_id = x.guest_network_id AND g.account_id = p.account_id
    WHERE x.status = 'active' AND x.space_id = ANY(s.path || s.id)
) sh ON true
"""
).bindparams(bindparam("accounts", type_=_UUIDS), bindparam("spaces", type_=_UUIDS))

# Spaces that have a chat room (a first message made one), by network: the purge's candidates.
_ROOMS_BY_NETWORK = text(
    """
SELECT s.network_id, array_agg(s.id) FROM spaces s JOIN chat_rooms r ON r.space_id = s.id
GROUP BY s.network_id
"""
)

_PURGE_SPACE = text("DELETE FROM messages WHERE space_id = :space AND sent_at < CAST(:cutoff AS timestamptz)")


async def append(
    db: Executor,
    space: uuid.UUID,
    author: uuid.UUID,
    key: str,
    body: str,
    *,
    members_may_post: bool,
    restricted_guests: Collection[uuid.UUID] = (),
) -> tuple[StoredMessage, bool] | None:
    """Store a message with the next seq (or return the one stored under ``key``); None if refused.
    ``restricted_guests``: guest networks whose agreement lets only facilitators post here."""
    params = {
        "space": space,
        "author": author,
        "key": key,
        "body": body,
        "id": uuid.uuid4(),
        "members_may_post": members_may_post,
        "restricted_guests": list(restricted_guests),
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
    restricted_guests: Collection[uuid.UUID] = (),
) -> tuple[StoredMessage, bool] | None:
    """:func:`append` on a plain asyncpg connection outside a transaction: the one statement
    commits on its own (atomic, like any single statement), so a send is one round trip."""
    row = await db.fetchrow(
        _APPEND_NATIVE, space, author, key, body, uuid.uuid4(), members_may_post, list(restricted_guests)
    )
    return None if row is None else _appended(space, author, key, tuple(row))


def _appended(space: uuid.UUID, author: uuid.UUID, key: str, row: Any) -> tuple[StoredMessage, bool]:
    created, seq, message_id, stored_body, sent_at, deleted_at, version, edited_at, author_name = row
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
        edited_at=edited_at,
        author_name=author_name,
    )
    return message, bool(created)


def _message(space: uuid.UUID, row: Any) -> StoredMessage:
    seq, message_id, author_id, body, key, sent_at, deleted_at, version, edited_at, author_name = row
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
        edited_at=edited_at,
        author_name=author_name,
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


async def before(db: Executor, space: uuid.UUID, before: int, limit: int, after: int = 0) -> list[StoredMessage]:
    """Up to ``limit`` messages with ``after < seq < before``, ascending: the newest page below
    ``before`` (a client scrolling up). One index range scan on the primary key."""
    rows = await db.execute(_BEFORE, {"space": space, "before": before, "after": after, "limit": limit})
    return [_message(space, row) for row in rows]


async def page_before(
    db: Executor, space: uuid.UUID, before: int, limit: int, after: int = 0
) -> tuple[list[StoredMessage], int]:
    """:func:`before` and the room's head, in one statement (a second only for an empty page)."""
    rows = (
        await db.execute(_BEFORE_WITH_HEAD, {"space": space, "before": before, "after": after, "limit": limit})
    ).all()
    if not rows:
        return [], await head(db, space)
    return [_message(space, row[:10]) for row in rows], int(rows[0][10] or 0)


async def head(db: Executor, space: uuid.UUID) -> int:
    """The room's last seq (0 before the first message)."""
    return int((await db.execute(_HEAD, {"space": space})).scalar_one())


async def one(db: Executor, space: uuid.UUID, seq: int) -> StoredMessage | None:
    """Message ``seq`` as history shows it, or None."""
    found = await before(db, space, seq + 1, 1, seq - 1)
    return found[0] if found else None


async def changes(
    db: Executor, space: uuid.UUID, after: int, since: int | None, limit: int, *, deletion_limit: int
) -> Changes:
    """What a client at (``after``, ``since``) lacks, from one snapshot (see :data:`_CHANGES`).

    ``since`` None asks for no edits or deletions (a client that does not track versions)."""
    params = {
        "space": space,
        "after": after,
        "since": (1 << 62) if since is None else since,
        "limit": limit,
        "dlimit": deletion_limit + 1,
    }
    messages: list[StoredMessage] = []
    changed: list[StoredMessage] = []
    head = version = 0
    for kind, *row in await db.execute(_CHANGES, params):
        if kind == "m":
            messages.append(_message(space, row))
        elif kind == "c":
            changed.append(_message(space, row))
        else:
            head, version = int(row[0]), int(row[7])
    if messages:
        head = max(head, messages[-1].seq)
    more = len(changed) > deletion_limit
    return Changes(messages=messages, changed=changed[:deletion_limit], head=head, version=version, more_changed=more)


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """What chat access to one space depends on, for one account (plain facts, no decision)."""

    account_id: uuid.UUID
    space_id: uuid.UUID
    network_id: uuid.UUID
    path: tuple[uuid.UUID, ...]
    kind: str
    visibility: str
    join_mode: str
    role: str | None
    """The account's row in the space (None: no row)."""
    status: str | None
    banned_above: bool
    home_role: str | None
    """The account's role in the space's home network."""
    shares: tuple[tuple[uuid.UUID, bool, uuid.UUID, str], ...]
    """Active shares on the space or an ancestor with a network the account belongs to:
    (shared space, include_subspaces, guest network, the account's role there)."""
    muted: bool = False
    """Muted in the space or a space above (chat_mutes): reads, but may not post."""
    outside: bool = False
    """The account's row marks an outside facilitator (space_members.outside)."""


async def room_facts(db: Executor, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> list[RoomFacts]:
    """:class:`RoomFacts` of each (account, space) pair whose space exists, one query."""
    if not pairs:
        return []
    params = {"accounts": [a for a, _ in pairs], "spaces": [s for _, s in pairs]}
    out = []
    for (
        account,
        space,
        network,
        path,
        kind,
        vis,
        mode,
        role,
        status,
        outside,
        banned,
        home,
        sp,
        sub,
        nets,
        roles,
        muted,
    ) in await db.execute(_FACTS, params):
        shares = tuple(zip(sp, sub, nets, roles, strict=True)) if sp else ()
        out.append(
            RoomFacts(
                account,
                space,
                network,
                tuple(path),
                kind,
                vis,
                mode,
                role,
                status,
                bool(banned),
                home,
                shares,
                bool(muted),
                bool(outside),
            )
        )
    return out


async def may_post(
    db: Executor,
    space: uuid.UUID,
    author: uuid.UUID,
    *,
    members_may_post: bool,
    restricted_guests: Collection[uuid.UUID] = (),
) -> bool:
    """The send path's posting check (:data:`_MAY_POST_SQL`) on its own, for tests that tie it to
    :func:`federation.space_permissions.can_post_chat`."""
    params = {
        "space": space,
        "author": author,
        "members_may_post": members_may_post,
        "restricted_guests": list(restricted_guests),
    }
    return bool((await db.execute(_MAY_POST, params)).scalar_one())


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


async def rooms_by_network(db: Executor) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The spaces that have a chat room, per network (one query)."""
    return {network: list(spaces) for network, spaces in await db.execute(_ROOMS_BY_NETWORK)}


async def purge_space(db: Executor, space: uuid.UUID, cutoff: dt.datetime) -> int:
    """Delete one space's messages sent before ``cutoff``; return how many."""
    result: Any = await db.execute(_PURGE_SPACE, {"space": space, "cutoff": cutoff})
    return int(result.rowcount or 0)


_EDIT = text(
    """
WITH room AS (
    UPDATE chat_rooms SET version = version + 1 WHERE space_id = :space RETURNING version
)
UPDATE messages m SET body = :body, edited_at = :now, version = room.version FROM room
WHERE m.space_id = :space AND m.seq = :seq
RETURNING m.version
"""
)


async def edit(db: Executor, space: uuid.UUID, seq: int, body: str, now: dt.datetime) -> int:
    """Replace a message's body (the caller locked it with :func:`find`); bump the room's version
    and return it (the edit's version), so resuming clients learn of the edit like of a deletion."""
    return int((await db.execute(_EDIT, {"space": space, "seq": seq, "body": body, "now": now})).scalar_one())


# --- mutes ----------------------------------------------------------------------------------

_MUTED_HERE = text(
    """
SELECT EXISTS (SELECT 1 FROM chat_mutes cm JOIN spaces s ON s.id = :space
               WHERE cm.account_id = :account AND (cm.space_id = s.id OR cm.space_id = ANY(s.path)))
"""
)


async def is_muted(db: Executor, space: uuid.UUID, account: uuid.UUID) -> bool:
    """Whether ``account`` is muted in ``space`` or in a space above it."""
    return bool((await db.execute(_MUTED_HERE, {"space": space, "account": account})).scalar_one())


async def mute(db: Executor, space: uuid.UUID, account: uuid.UUID, by: uuid.UUID) -> bool:
    """Mute ``account`` in ``space`` (and so its sub-spaces); False when already muted there."""
    row = (
        await db.execute(
            text(
                "INSERT INTO chat_mutes (space_id, account_id, muted_by) VALUES (:space, :account, :by) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"space": space, "account": account, "by": by},
        )
    ).first()
    return row is not None


async def unmute(db: Executor, space: uuid.UUID, account: uuid.UUID) -> bool:
    """Lift the mute set in ``space``; False when there was none (a mute set above stays)."""
    row = (
        await db.execute(
            text("DELETE FROM chat_mutes WHERE space_id = :space AND account_id = :account RETURNING 1"),
            {"space": space, "account": account},
        )
    ).first()
    return row is not None


async def mutes(db: Executor, space: uuid.UUID) -> list[tuple[uuid.UUID, str, uuid.UUID | None, dt.datetime]]:
    """(account, display name, muted by, since) of the mutes set in ``space`` itself, oldest first."""
    rows = await db.execute(
        text(
            "SELECT cm.account_id, a.display_name, cm.muted_by, cm.created_at FROM chat_mutes cm "
            "JOIN accounts a ON a.id = cm.account_id WHERE cm.space_id = :space ORDER BY cm.created_at, a.id"
        ),
        {"space": space},
    )
    return [(a, n, b, c) for a, n, b, c in rows]


# --- read markers (the unread counts they drive are read by services.accounts.repository) -----

_MARK_READ = text(
    """
INSERT INTO chat_read_markers (account_id, space_id, seq, updated_at)
SELECT :account, :space, LEAST(:seq, coalesce((SELECT head_seq FROM chat_rooms WHERE space_id = :space), 0)), now()
ON CONFLICT (account_id, space_id) DO UPDATE
SET seq = GREATEST(chat_read_markers.seq, EXCLUDED.seq), updated_at = now()
RETURNING seq
"""
)


async def mark_read(db: Executor, account: uuid.UUID, space: uuid.UUID, seq: int) -> int:
    """Move the read marker forward to ``seq`` (clamped to the head; never backwards); return it."""
    return int((await db.execute(_MARK_READ, {"account": account, "space": space, "seq": seq})).scalar_one())
