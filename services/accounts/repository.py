"""SQL for accounts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, Network, NetworkMember, Space, SpaceMember


async def get_by_email(session: AsyncSession, email: str) -> Account | None:
    """The account with this e-mail address (case-insensitive), or None."""
    result: Account | None = await session.scalar(select(Account).where(func.lower(Account.email) == email.lower()))
    return result


async def my_spaces(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str, str, str]]:
    """(space id, name, kind, network slug, role) of the account's active memberships (one query)."""
    rows = await session.execute(
        select(Space.id, Space.name, Space.kind, Network.slug, SpaceMember.role)
        .join(SpaceMember, SpaceMember.space_id == Space.id)
        .join(Network, Network.id == Space.network_id)
        .where(SpaceMember.account_id == account_id, SpaceMember.status == "active")
        .order_by(Network.slug, Space.depth, Space.name)
    )
    return [(i, n, k, s, r) for i, n, k, s, r in rows]


async def my_networks(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str, str]]:
    """(network id, slug, name, role) of every network the account has a role in (one query)."""
    rows = await session.execute(
        select(Network.id, Network.slug, Network.name, NetworkMember.role)
        .join(NetworkMember, NetworkMember.network_id == Network.id)
        .where(NetworkMember.account_id == account_id)
        .order_by(Network.name)
    )
    return [(i, s, n, r) for i, s, n, r in rows]


UNREAD_CAP = 100
"""Unread counts stop at this many (the UI shows "99+"), so a long-unread room costs a bounded scan."""

# Messages by others after the caller's read marker (chat_read_markers, 0013), not deleted.
_UNREAD = text(
    """
SELECT p.space_id, coalesce(r.seq, 0),
       (SELECT count(*) FROM (
            SELECT 1 FROM messages m
            WHERE m.space_id = p.space_id AND m.seq > coalesce(r.seq, 0)
              AND m.deleted_at IS NULL AND m.author_id IS DISTINCT FROM :account
            LIMIT :cap) x)
FROM unnest(:spaces) AS p(space_id)
LEFT JOIN chat_read_markers r ON r.space_id = p.space_id AND r.account_id = :account
"""
).bindparams(bindparam("spaces", type_=ARRAY(UUID(as_uuid=True))))


async def unread_counts(
    db: AsyncSession, account: uuid.UUID, spaces: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per space: (read marker, unread messages by others after it, capped at :data:`UNREAD_CAP`).
    One query; the caller passes only spaces the account may read."""
    if not spaces:
        return {}
    rows = await db.execute(_UNREAD, {"account": account, "spaces": list(spaces), "cap": UNREAD_CAP})
    return {space: (int(marker), int(count)) for space, marker, count in rows}
