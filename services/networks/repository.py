"""SQL for networks and network members."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, Network, NetworkMember


async def get_by_slug(session: AsyncSession, slug: str) -> Network | None:
    """The network with this slug, or None."""
    result: Network | None = await session.scalar(select(Network).where(Network.slug == slug))
    return result


async def list_all(session: AsyncSession) -> list[Network]:
    """Every network, by name."""
    return list(await session.scalars(select(Network).order_by(Network.name, Network.slug)))


async def insert_network(session: AsyncSession, network: Network) -> bool:
    """Insert unless the slug is taken; returns False on a duplicate slug (no exception, no rollback)."""
    stmt = (
        insert(Network)
        .values(
            id=network.id,
            slug=network.slug,
            name=network.name,
            kind=network.kind,
            description=network.description,
            time_zone=network.time_zone,
        )
        .on_conflict_do_nothing(index_elements=[Network.slug])
        .returning(Network.id)
    )
    return (await session.scalar(stmt)) is not None


async def get_member(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> NetworkMember | None:
    """One membership row (locked for update), or None."""
    result: NetworkMember | None = await session.scalar(
        select(NetworkMember)
        .where(NetworkMember.network_id == network_id, NetworkMember.account_id == account_id)
        .with_for_update()
    )
    return result


async def count_admins(session: AsyncSession, network_id: uuid.UUID) -> int:
    """How many admins the network has."""
    return int(
        await session.scalar(
            select(func.count()).where(NetworkMember.network_id == network_id, NetworkMember.role == "admin")
        )
        or 0
    )


async def account_exists(session: AsyncSession, account_id: uuid.UUID) -> bool:
    """Whether an active account has this id."""
    return (await session.scalar(select(Account.id).where(Account.id == account_id, Account.is_active))) is not None


async def roster(session: AsyncSession, network_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str, str, object]]:
    """Every member of a network with name, e-mail, role and since when (one query)."""
    rows = await session.execute(
        select(Account.id, Account.display_name, Account.email, NetworkMember.role, NetworkMember.created_at)
        .join(NetworkMember, NetworkMember.account_id == Account.id)
        .where(NetworkMember.network_id == network_id, Account.is_active)
        .order_by(func.lower(Account.display_name), Account.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]
