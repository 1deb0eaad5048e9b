"""SQL for policy templates, their versions, attachments and non-compliance marks, and the
network-wide reads that policy evaluation needs (every space, facilitator counts)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import (
    Network,
    PolicyAttachment,
    PolicyTemplate,
    PolicyTemplateVersion,
    Space,
    SpaceMember,
    SpaceNoncompliance,
)


@dataclass(frozen=True, slots=True)
class AttachedTemplate:
    """A template's current version as attached somewhere (``space_id`` None: the whole network)."""

    space_id: uuid.UUID | None
    template_id: uuid.UUID
    name: str
    mode: str
    version: int
    constraints: dict[str, Any]


def _current_attachments() -> Select[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID, str, str, int, Any]]:
    """Attachments with their template's current version, oldest attachment first (the order
    of the layers); callers add the ``where``."""
    return (
        select(
            PolicyAttachment.network_id,
            PolicyAttachment.space_id,
            PolicyTemplate.id,
            PolicyTemplate.name,
            PolicyTemplate.mode,
            PolicyTemplate.current_version,
            PolicyTemplateVersion.constraints,
        )
        .join(PolicyTemplate, PolicyTemplate.id == PolicyAttachment.template_id)
        .join(
            PolicyTemplateVersion,
            (PolicyTemplateVersion.template_id == PolicyTemplate.id)
            & (PolicyTemplateVersion.version == PolicyTemplate.current_version),
        )
        .order_by(PolicyAttachment.created_at, PolicyAttachment.id)
    )


async def attached_templates(
    session: AsyncSession, network_id: uuid.UUID, space_ids: Sequence[uuid.UUID] | None
) -> list[AttachedTemplate]:
    """Current versions of the templates attached to the network and to ``space_ids`` (one query).

    ``space_ids`` None loads the attachments of every space of the network.
    """
    # (network-level) OR (on these spaces): two index lookups, not a scan of the network's attachments.
    where = (
        [PolicyAttachment.network_id == network_id]
        if space_ids is None
        else [
            or_(
                and_(PolicyAttachment.network_id == network_id, PolicyAttachment.space_id.is_(None)),
                and_(PolicyAttachment.network_id == network_id, PolicyAttachment.space_id.in_(list(space_ids))),
            )
        ]
    )
    rows = await session.execute(_current_attachments().where(*where))
    return [AttachedTemplate(s, t, n, m, v, c) for _net, s, t, n, m, v, c in rows]


async def attached_in_networks(
    session: AsyncSession, network_ids: Collection[uuid.UUID], space_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[AttachedTemplate]]:
    """Per network: current versions of the templates attached to it and to any of ``space_ids``
    (one query for all of them; the same rows and order :func:`attached_templates` gives each
    network, plus other spaces' attachments, which a space's policy ignores)."""
    if not network_ids:
        return {}
    rows = await session.execute(
        _current_attachments().where(
            PolicyAttachment.network_id.in_(list(network_ids)),
            or_(PolicyAttachment.space_id.is_(None), PolicyAttachment.space_id.in_(list(space_ids))),
        )
    )
    out: dict[uuid.UUID, list[AttachedTemplate]] = {n: [] for n in network_ids}
    for network, s, t, n, m, v, c in rows:
        out[network].append(AttachedTemplate(s, t, n, m, v, c))
    return out


async def get_template(
    session: AsyncSession, network_id: uuid.UUID, template_id: uuid.UUID, *, lock: bool = False
) -> PolicyTemplate | None:
    """A template of this network (optionally locked for update), or None."""
    stmt = select(PolicyTemplate).where(PolicyTemplate.id == template_id, PolicyTemplate.network_id == network_id)
    if lock:
        stmt = stmt.with_for_update()
    result: PolicyTemplate | None = await session.scalar(stmt)
    return result


async def get_template_any_network(session: AsyncSession, template_id: uuid.UUID) -> PolicyTemplate | None:
    """A template by id, whatever its network."""
    result: PolicyTemplate | None = await session.get(PolicyTemplate, template_id)
    return result


async def name_taken(
    session: AsyncSession, network_id: uuid.UUID, name: str, *, other_than: uuid.UUID | None = None
) -> bool:
    """Whether another template of the network already has this name (case-insensitive)."""
    stmt = select(PolicyTemplate.id).where(
        PolicyTemplate.network_id == network_id, func.lower(PolicyTemplate.name) == name.lower()
    )
    if other_than is not None:
        stmt = stmt.where(PolicyTemplate.id != other_than)
    return (await session.scalar(stmt.limit(1))) is not None


async def list_templates(session: AsyncSession, network_id: uuid.UUID) -> list[tuple[PolicyTemplate, dict[str, Any]]]:
    """Every template of the network with its current constraints (one query)."""
    rows = await session.execute(
        select(PolicyTemplate, PolicyTemplateVersion.constraints)
        .join(
            PolicyTemplateVersion,
            (PolicyTemplateVersion.template_id == PolicyTemplate.id)
            & (PolicyTemplateVersion.version == PolicyTemplate.current_version),
        )
        .where(PolicyTemplate.network_id == network_id)
        .order_by(PolicyTemplate.name)
    )
    return [(t, c) for t, c in rows]


async def versions(session: AsyncSession, template_id: uuid.UUID) -> list[PolicyTemplateVersion]:
    """Every version of a template, oldest first."""
    return list(
        await session.scalars(
            select(PolicyTemplateVersion)
            .where(PolicyTemplateVersion.template_id == template_id)
            .order_by(PolicyTemplateVersion.version)
        )
    )


async def current_constraints(session: AsyncSession, template: PolicyTemplate) -> dict[str, Any]:
    """The constraints of the template's current version."""
    row = await session.get(PolicyTemplateVersion, (template.id, template.current_version))
    assert row is not None, "a template always has its current version"
    return dict(row.constraints)


async def attachments_of(
    session: AsyncSession, template_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID | None]]:
    """Where each template is attached: None for the network, else space ids (one query)."""
    out: dict[uuid.UUID, list[uuid.UUID | None]] = {t: [] for t in template_ids}
    if not template_ids:
        return out
    rows = await session.execute(
        select(PolicyAttachment.template_id, PolicyAttachment.space_id)
        .where(PolicyAttachment.template_id.in_(list(template_ids)))
        .order_by(PolicyAttachment.created_at)
    )
    for template_id, space_id in rows:
        out[template_id].append(space_id)
    return out


async def get_attachment(
    session: AsyncSession, template_id: uuid.UUID, space_id: uuid.UUID | None
) -> PolicyAttachment | None:
    """The attachment of a template to a space (or to its network when ``space_id`` is None)."""
    stmt = select(PolicyAttachment).where(PolicyAttachment.template_id == template_id)
    stmt = stmt.where(
        PolicyAttachment.space_id.is_(None) if space_id is None else PolicyAttachment.space_id == space_id
    )
    result: PolicyAttachment | None = await session.scalar(stmt)
    return result


async def add_attachment(
    session: AsyncSession,
    template_id: uuid.UUID,
    network_id: uuid.UUID,
    space_id: uuid.UUID | None,
    created_by: uuid.UUID | None,
) -> None:
    """Attach a template to the network (``space_id`` None) or to a space and its subtree."""
    session.add(
        PolicyAttachment(
            id=uuid.uuid4(),
            template_id=template_id,
            network_id=network_id,
            space_id=space_id,
            created_by=created_by,
        )
    )
    await session.flush()


async def delete_attachment(session: AsyncSession, attachment_id: uuid.UUID) -> None:
    """Remove an attachment."""
    await session.execute(delete(PolicyAttachment).where(PolicyAttachment.id == attachment_id))


async def network_spaces(session: AsyncSession, network_id: uuid.UUID) -> list[Space]:
    """Every space of a network, shallowest first (one query)."""
    return list(
        await session.scalars(
            select(Space).where(Space.network_id == network_id).order_by(Space.depth, Space.name, Space.id)
        )
    )


async def marks_of(session: AsyncSession, space_id: uuid.UUID) -> list[SpaceNoncompliance]:
    """Non-compliance marks on one space, newest first (one query)."""
    return list(
        await session.scalars(
            select(SpaceNoncompliance)
            .where(SpaceNoncompliance.space_id == space_id)
            .order_by(SpaceNoncompliance.created_at.desc())
        )
    )


async def open_marks(session: AsyncSession, network_id: uuid.UUID) -> list[SpaceNoncompliance]:
    """Non-compliance marks on the network's spaces, newest first (one query)."""
    return list(
        await session.scalars(
            select(SpaceNoncompliance)
            .join(Space, Space.id == SpaceNoncompliance.space_id)
            .where(Space.network_id == network_id)
            .order_by(SpaceNoncompliance.created_at.desc())
        )
    )


def _holds_training() -> Any:
    """The facilitator has a training record in the space's network that has not expired
    (services/facilitation keeps them): it counts as trained like the per-space mark."""
    from services.persistence.models import FacilitatorTraining

    return exists().where(
        FacilitatorTraining.network_id == Space.network_id,
        FacilitatorTraining.account_id == SpaceMember.account_id,
        or_(FacilitatorTraining.expires_on.is_(None), FacilitatorTraining.expires_on >= func.current_date()),
    )


async def facilitator_counts(session: AsyncSession, network_id: uuid.UUID) -> dict[uuid.UUID, tuple[int, int]]:
    """(active facilitators, trained ones) per space of a network (one query)."""
    rows = await session.execute(
        select(
            SpaceMember.space_id,
            func.count(),
            func.count().filter(SpaceMember.trained.is_(True) | _holds_training()),
        )
        .join(Space, Space.id == SpaceMember.space_id)
        .where(Space.network_id == network_id, SpaceMember.role == "facilitator", SpaceMember.status == "active")
        .group_by(SpaceMember.space_id)
    )
    return {sid: (int(total), int(trained)) for sid, total, trained in rows}


async def space_and_network(session: AsyncSession, space_id: uuid.UUID) -> tuple[Space, Network] | None:
    """A space with its home network (one query), or None."""
    row = (
        await session.execute(
            select(Space, Network).join(Network, Network.id == Space.network_id).where(Space.id == space_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None
