"""SQL of the proposals area."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, NetworkMember, Space, SpaceProposal


async def name_taken(session: AsyncSession, network_id: uuid.UUID, name: str) -> str | None:
    """'space' or 'proposal' when the network already has one by this name (case-insensitive)."""
    lowered = name.strip().lower()
    if await session.scalar(
        select(Space.id).where(Space.network_id == network_id, func.lower(Space.name) == lowered).limit(1)
    ):
        return "space"
    if await session.scalar(
        select(SpaceProposal.id)
        .where(
            SpaceProposal.network_id == network_id,
            func.lower(SpaceProposal.name) == lowered,
            SpaceProposal.status.in_(["pending", "question"]),
        )
        .limit(1)
    ):
        return "proposal"
    return None


async def network_members(session: AsyncSession, network_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``ids`` who belong to the network."""
    if not ids:
        return set()
    rows = await session.scalars(
        select(NetworkMember.account_id).where(
            NetworkMember.network_id == network_id, NetworkMember.account_id.in_(ids)
        )
    )
    return set(rows)


async def admins(session: AsyncSession, network_id: uuid.UUID) -> list[uuid.UUID]:
    """The network's admins."""
    return list(
        await session.scalars(
            select(NetworkMember.account_id).where(
                NetworkMember.network_id == network_id, NetworkMember.role == "admin"
            )
        )
    )


async def get(
    session: AsyncSession, network_id: uuid.UUID, proposal_id: uuid.UUID, *, lock: bool = False
) -> SpaceProposal | None:
    """One proposal of the network."""
    stmt = select(SpaceProposal).where(SpaceProposal.id == proposal_id, SpaceProposal.network_id == network_id)
    if lock:
        stmt = stmt.with_for_update()
    found: SpaceProposal | None = await session.scalar(stmt)
    return found


async def listing(
    session: AsyncSession, network_id: uuid.UUID, proposer: uuid.UUID | None, status: str | None
) -> list[tuple[SpaceProposal, str]]:
    """Proposals with the proposer's name, newest first (``proposer``: only theirs)."""
    stmt = (
        select(SpaceProposal, Account.display_name)
        .join(Account, Account.id == SpaceProposal.proposed_by)
        .where(SpaceProposal.network_id == network_id)
        .order_by(SpaceProposal.created_at.desc(), SpaceProposal.id)
        .limit(500)
    )
    if proposer is not None:
        stmt = stmt.where(SpaceProposal.proposed_by == proposer)
    if status is not None:
        stmt = stmt.where(SpaceProposal.status == status)
    return [(p, str(n)) for p, n in await session.execute(stmt)]


async def proposer_name(session: AsyncSession, account_id: uuid.UUID) -> str:
    """Display name of an account."""
    return str(await session.scalar(select(Account.display_name).where(Account.id == account_id)) or "")
