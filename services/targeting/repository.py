"""All SQL of targeting and exemptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.targeting import Attachment, Exemption, target_from_dict
from services.persistence.models import PolicyAttachment, PolicyExemption, Space


async def attachment(
    session: AsyncSession, network_id: uuid.UUID, template_id: uuid.UUID, space_id: uuid.UUID | None
) -> PolicyAttachment | None:
    """The attachment of a template to the network (``space_id`` None) or to a space, locked."""
    stmt = select(PolicyAttachment).where(
        PolicyAttachment.network_id == network_id, PolicyAttachment.template_id == template_id
    )
    stmt = stmt.where(
        PolicyAttachment.space_id.is_(None) if space_id is None else PolicyAttachment.space_id == space_id
    )
    return (await session.execute(stmt.with_for_update())).scalar_one_or_none()


async def attachments(session: AsyncSession, network_id: uuid.UUID) -> list[Attachment]:
    """Every attachment of the network with its target (one query)."""
    rows = await session.execute(
        select(PolicyAttachment.template_id, PolicyAttachment.space_id, PolicyAttachment.target).where(
            PolicyAttachment.network_id == network_id
        )
    )
    return [Attachment(t, s, target_from_dict(raw)) for t, s, raw in rows.all()]


async def exemptions(session: AsyncSession, network_id: uuid.UUID) -> list[Exemption]:
    """Every exemption of the network (one query)."""
    rows = await session.execute(
        select(PolicyExemption.id, PolicyExemption.space_id, PolicyExemption.template_id, PolicyExemption.reason)
        .where(PolicyExemption.network_id == network_id)
        .order_by(PolicyExemption.created_at)
    )
    return [Exemption(i, s, t, r) for i, s, t, r in rows.all()]


async def exemption_rows(session: AsyncSession, network_id: uuid.UUID) -> Sequence[tuple[PolicyExemption, str]]:
    """The network's exemptions with their space's name, oldest first."""
    rows = await session.execute(
        select(PolicyExemption, Space.name)
        .join(Space, Space.id == PolicyExemption.space_id)
        .where(PolicyExemption.network_id == network_id)
        .order_by(PolicyExemption.created_at, PolicyExemption.id)
    )
    return [(e, name) for e, name in rows.all()]


async def find_exemption(
    session: AsyncSession, space_id: uuid.UUID, template_id: uuid.UUID | None
) -> PolicyExemption | None:
    """The exemption with exactly this scope, if any."""
    stmt = select(PolicyExemption).where(PolicyExemption.space_id == space_id)
    stmt = stmt.where(
        PolicyExemption.template_id.is_(None) if template_id is None else PolicyExemption.template_id == template_id
    )
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def get_exemption(
    session: AsyncSession, network_id: uuid.UUID, exemption_id: uuid.UUID
) -> PolicyExemption | None:
    """One exemption of the network."""
    return (
        await session.execute(
            select(PolicyExemption).where(PolicyExemption.id == exemption_id, PolicyExemption.network_id == network_id)
        )
    ).scalar_one_or_none()
