"""SQL for accounts."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
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
