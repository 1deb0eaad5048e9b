"""SQL of the stewardship area."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import (
    Account,
    NetworkMember,
    PublicSpace,
    Space,
    SpaceInvitation,
    SpaceJoinRequest,
    SpaceMember,
)


async def role_of(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> str | None:
    """The account's role in the network (locked for the removal)."""
    found = await session.scalar(
        select(NetworkMember.role)
        .where(NetworkMember.network_id == network_id, NetworkMember.account_id == account_id)
        .with_for_update()
    )
    return str(found) if found else None


async def count_admins(session: AsyncSession, network_id: uuid.UUID) -> int:
    """Admins of the network."""
    return int(
        await session.scalar(
            select(func.count()).where(NetworkMember.network_id == network_id, NetworkMember.role == "admin")
        )
        or 0
    )


async def end_network_membership(
    session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID
) -> list[uuid.UUID]:
    """Delete the role and every non-ban membership row in the network's spaces (bans stay, so a
    person added back is still kept out where they were banned); returns the spaces left."""
    in_network = select(Space.id).where(Space.network_id == network_id)
    gone = await session.execute(
        delete(SpaceMember)
        .where(
            SpaceMember.account_id == account_id,
            SpaceMember.status != "banned",
            SpaceMember.space_id.in_(in_network),
        )
        .returning(SpaceMember.space_id)
    )
    left = sorted({row[0] for row in gone})
    await session.execute(
        update(SpaceJoinRequest)
        .where(
            SpaceJoinRequest.account_id == account_id,
            SpaceJoinRequest.status == "pending",
            SpaceJoinRequest.space_id.in_(in_network),
        )
        .values(status="cancelled", decided_at=func.now())
    )
    await session.execute(
        delete(NetworkMember).where(NetworkMember.network_id == network_id, NetworkMember.account_id == account_id)
    )
    return left


async def withdraw_invitations(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> int:
    """Withdraw pending e-mail invitations of the network to the account's address."""
    email = select(func.lower(Account.email)).where(Account.id == account_id).scalar_subquery()
    result = await session.execute(
        update(SpaceInvitation)
        .where(
            SpaceInvitation.network_id == network_id,
            SpaceInvitation.status == "pending",
            func.lower(SpaceInvitation.email) == email,
        )
        .values(status="revoked", decided_at=func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def unlist_publicly(session: AsyncSession, space_id: uuid.UUID) -> None:
    """Take an archived space out of the public directory."""
    await session.execute(delete(PublicSpace).where(PublicSpace.space_id == space_id))
