"""SQL of the proposals area."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, Network, NetworkMember, ProposalFacilitator, Space, SpaceProposal


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


def ask_facilitators(session: AsyncSession, proposal_id: uuid.UUID, account_ids: Sequence[uuid.UUID]) -> None:
    """One pending answer per proposed facilitator."""
    session.add_all(ProposalFacilitator(proposal_id=proposal_id, account_id=a, answer="pending") for a in account_ids)


async def answers(
    session: AsyncSession, proposal_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str, str, dt.datetime | None]]]:
    """(account, name, answer, answered at) per proposal, in the order they were named (one query
    for every proposal of a listing)."""
    if not proposal_ids:
        return {}
    rows = await session.execute(
        select(
            ProposalFacilitator.proposal_id,
            ProposalFacilitator.account_id,
            Account.display_name,
            ProposalFacilitator.answer,
            ProposalFacilitator.answered_at,
        )
        .join(Account, Account.id == ProposalFacilitator.account_id)
        .where(ProposalFacilitator.proposal_id.in_(list(proposal_ids)))
        .order_by(ProposalFacilitator.proposal_id, ProposalFacilitator.created_at, Account.display_name)
    )
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str, str, dt.datetime | None]]] = {}
    for pid, account_id, name, answer, at in rows:
        out.setdefault(pid, []).append((account_id, str(name), str(answer), at))
    return out


async def answer_of(
    session: AsyncSession, proposal_id: uuid.UUID, account_id: uuid.UUID, *, lock: bool = False
) -> ProposalFacilitator | None:
    """The caller's row of a proposal (None: the proposal does not name them)."""
    stmt = select(ProposalFacilitator).where(
        ProposalFacilitator.proposal_id == proposal_id, ProposalFacilitator.account_id == account_id
    )
    if lock:
        stmt = stmt.with_for_update()
    found: ProposalFacilitator | None = await session.scalar(stmt)
    return found


async def asked_of(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[SpaceProposal, str, str, str]]:
    """Proposals asking ``account_id`` to facilitate that still wait for their answer and can
    take one (open or approved), with the network's slug and name and the proposer's name,
    newest first."""
    rows = await session.execute(
        select(SpaceProposal, Network.slug, Network.name, Account.display_name)
        .join(ProposalFacilitator, ProposalFacilitator.proposal_id == SpaceProposal.id)
        .join(Network, Network.id == SpaceProposal.network_id)
        .join(Account, Account.id == SpaceProposal.proposed_by)
        .where(
            ProposalFacilitator.account_id == account_id,
            ProposalFacilitator.answer == "pending",
            SpaceProposal.status.in_(["pending", "question", "approved"]),
        )
        .order_by(SpaceProposal.created_at.desc(), SpaceProposal.id)
        .limit(200)
    )
    return [(p, str(slug), str(name), str(who)) for p, slug, name, who in rows]


async def by_id(session: AsyncSession, proposal_id: uuid.UUID, *, lock: bool = False) -> SpaceProposal | None:
    """A proposal of any network."""
    stmt = select(SpaceProposal).where(SpaceProposal.id == proposal_id)
    if lock:
        stmt = stmt.with_for_update()
    found: SpaceProposal | None = await session.scalar(stmt)
    return found


async def network_slug(session: AsyncSession, network_id: uuid.UUID) -> str:
    """A network's slug."""
    return str(await session.scalar(select(Network.slug).where(Network.id == network_id)) or "")
