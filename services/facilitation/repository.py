"""SQL of the facilitation area."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import (
    Account,
    FacilitatorCompensation,
    FacilitatorTraining,
    NetworkMember,
    Space,
    SpaceMember,
)


async def facilitators(
    session: AsyncSession, network_id: uuid.UUID
) -> list[tuple[uuid.UUID, str, str, uuid.UUID, str]]:
    """(account, name, e-mail, space id, space name) for every active facilitator of the network's spaces."""
    rows = await session.execute(
        select(Account.id, Account.display_name, Account.email, Space.id, Space.name)
        .join(SpaceMember, SpaceMember.account_id == Account.id)
        .join(Space, Space.id == SpaceMember.space_id)
        .where(Space.network_id == network_id, SpaceMember.role == "facilitator", SpaceMember.status == "active")
        .order_by(Account.display_name, Account.id, Space.name)
    )
    return [(a, str(n), str(e), s, str(sn)) for a, n, e, s, sn in rows]


async def members(session: AsyncSession, network_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``ids`` with a role in the network."""
    if not ids:
        return set()
    return set(
        await session.scalars(
            select(NetworkMember.account_id).where(
                NetworkMember.network_id == network_id, NetworkMember.account_id.in_(ids)
            )
        )
    )


async def trainings(session: AsyncSession, network_id: uuid.UUID) -> list[FacilitatorTraining]:
    """Every training record of the network."""
    return list(
        await session.scalars(
            select(FacilitatorTraining)
            .where(FacilitatorTraining.network_id == network_id)
            .order_by(FacilitatorTraining.completed_on.desc())
        )
    )


async def compensation(session: AsyncSession, network_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Compensated facilitators of the network, with the note."""
    rows = await session.execute(
        select(FacilitatorCompensation.account_id, FacilitatorCompensation.note).where(
            FacilitatorCompensation.network_id == network_id
        )
    )
    return {a: str(n) for a, n in rows}


async def set_compensation(
    session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID, note: str, by: uuid.UUID
) -> None:
    """Record (or update) that the network pays this facilitator."""
    stmt = insert(FacilitatorCompensation).values(
        network_id=network_id, account_id=account_id, note=note, recorded_by=by
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[FacilitatorCompensation.network_id, FacilitatorCompensation.account_id],
            set_={"note": note, "recorded_by": by},
        )
    )


async def clear_compensation(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """The network no longer pays this facilitator."""
    await session.execute(
        delete(FacilitatorCompensation).where(
            FacilitatorCompensation.network_id == network_id, FacilitatorCompensation.account_id == account_id
        )
    )


async def training(session: AsyncSession, network_id: uuid.UUID, training_id: uuid.UUID) -> FacilitatorTraining | None:
    """One training record of the network."""
    found: FacilitatorTraining | None = await session.scalar(
        select(FacilitatorTraining).where(
            FacilitatorTraining.id == training_id, FacilitatorTraining.network_id == network_id
        )
    )
    return found


async def account_exists(session: AsyncSession, account_id: uuid.UUID) -> bool:
    """An active account with this id exists."""
    return (
        await session.scalar(select(Account.id).where(Account.id == account_id, Account.is_active.is_(True)))
        is not None
    )


async def compensated_counts(session: AsyncSession, network_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Active facilitators recorded as compensated by the network, per space of the network (one
    grouped query for every space; spaces with none are left out)."""
    rows = await session.execute(
        select(SpaceMember.space_id, func.count())
        .join(Space, Space.id == SpaceMember.space_id)
        .join(
            FacilitatorCompensation,
            (FacilitatorCompensation.network_id == Space.network_id)
            & (FacilitatorCompensation.account_id == SpaceMember.account_id),
        )
        .where(Space.network_id == network_id, SpaceMember.role == "facilitator", SpaceMember.status == "active")
        .group_by(SpaceMember.space_id)
    )
    return {sid: int(n) for sid, n in rows}
