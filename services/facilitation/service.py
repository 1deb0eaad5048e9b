"""Facilitation use cases: the network's Facilitators page, training records, compensation, and
outside facilitators (a facilitator of one space who is not a member of the network).

An outside facilitator holds an active facilitator row in the space and no role in the network:
:func:`federation.space_permissions.space_actor` lets them into that space (and what facilitating
it needs: settings, policy, members, requests, meetings, chat), while every network-level check
(the roster, the directory, templates) still sees a stranger.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from federation.facilitation import (
    can_manage_facilitators_program,
    can_view_compensation,
    training_problem,
    training_status,
)
from federation.permissions import Actor
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.facilitation import repository
from services.facilitation.schemas import (
    CompensationSet,
    FacilitatedSpace,
    FacilitatorList,
    FacilitatorOut,
    OutsideFacilitatorOut,
    TrainingCreate,
    TrainingOut,
)
from services.networks.service import require_network
from services.persistence.models import FacilitatorTraining, Network, SpaceMember
from services.spaces import access
from services.spaces import repository as spaces_repository


async def _admin_network(session: AsyncSession, actor: Actor, slug: str) -> Network:
    network = await require_network(session, slug)
    if not can_manage_facilitators_program(actor, network.id):
        raise Forbidden(f"Only admins of network '{slug}' see and manage its facilitators.", code="forbidden")
    return network


def _training_out(t: FacilitatorTraining) -> TrainingOut:
    return TrainingOut(
        id=t.id, account_id=t.account_id, course=t.course, completed_on=t.completed_on, expires_on=t.expires_on
    )


async def facilitators(session: AsyncSession, actor: Actor, slug: str, today: dt.date) -> FacilitatorList:
    """Everyone facilitating a space of the network, with training status, compensation and spaces
    (network admins; three queries)."""
    network = await _admin_network(session, actor, slug)
    rows = await repository.facilitators(session, network.id)
    records: dict[uuid.UUID, list[FacilitatorTraining]] = defaultdict(list)
    for t in await repository.trainings(session, network.id):
        records[t.account_id].append(t)
    paid = await repository.compensation(session, network.id) if can_view_compensation(actor, network.id) else {}
    people: dict[uuid.UUID, tuple[str, str, list[FacilitatedSpace]]] = {}
    for account_id, name, email, space_id, space_name in rows:
        people.setdefault(account_id, (name, email, []))[2].append(FacilitatedSpace(id=space_id, name=space_name))
    in_network = await repository.members(session, network.id, list(people))
    return FacilitatorList(
        network=network.slug,
        items=[
            FacilitatorOut(
                account_id=account_id,
                display_name=name,
                email=email,
                outside=account_id not in in_network,
                training=training_status(
                    [(t.completed_on, t.expires_on) for t in records.get(account_id, [])], today
                ).value,
                trainings=[_training_out(t) for t in records.get(account_id, [])],
                compensated=account_id in paid,
                compensation_note=paid.get(account_id, ""),
                spaces=spaces,
            )
            for account_id, (name, email, spaces) in people.items()
        ],
    )


async def _must_facilitate_or_belong(session: AsyncSession, network: Network, account_id: uuid.UUID) -> None:
    facilitating = {a for a, *_ in await repository.facilitators(session, network.id)}
    if account_id not in facilitating and not await repository.members(session, network.id, [account_id]):
        raise Unprocessable(
            f"Account {account_id} neither belongs to network '{network.slug}' nor facilitates one of its spaces.",
            code="not_in_network",
            details={"field": "account_id"},
        )


async def record_training(
    session: AsyncSession, actor: Actor, slug: str, data: TrainingCreate, today: dt.date
) -> TrainingOut:
    """Record a completed training (course, date, expiry) for a facilitator of the network."""
    network = await _admin_network(session, actor, slug)
    problem = training_problem(data.completed_on, data.expires_on, today)
    if problem is not None:
        field = "completed_on" if "future" in problem else "expires_on"
        raise Unprocessable(
            f"Cannot record this training: {problem}.", code="validation_error", details={"field": field}
        )
    if not data.course.strip():
        raise Unprocessable("Name the course.", code="validation_error", details={"field": "course"})
    await _must_facilitate_or_belong(session, network, data.account_id)
    row = FacilitatorTraining(
        id=uuid.uuid4(),
        network_id=network.id,
        account_id=data.account_id,
        course=data.course.strip(),
        completed_on=data.completed_on,
        expires_on=data.expires_on,
        recorded_by=actor.account_id,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="facilitator.training.record",
        target_type="account",
        target_id=data.account_id,
        network_id=network.id,
        after={
            "course": row.course,
            "completed_on": str(row.completed_on),
            "expires_on": str(row.expires_on) if row.expires_on else None,
        },
    )
    return _training_out(row)


async def delete_training(session: AsyncSession, actor: Actor, slug: str, training_id: uuid.UUID) -> None:
    """Remove a training record entered by mistake."""
    network = await _admin_network(session, actor, slug)
    row = await repository.training(session, network.id, training_id)
    if row is None:
        raise NotFound(f"Network '{slug}' has no training record {training_id}.", code="training_not_found")
    await session.delete(row)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="facilitator.training.delete",
        target_type="account",
        target_id=row.account_id,
        network_id=network.id,
        after={"training_id": str(training_id)},
    )


async def set_compensation(
    session: AsyncSession, actor: Actor, slug: str, account_id: uuid.UUID, data: CompensationSet
) -> FacilitatorOut | None:
    """Record whether the network pays a facilitator (admins only; nobody else ever sees it)."""
    network = await _admin_network(session, actor, slug)
    await _must_facilitate_or_belong(session, network, account_id)
    if data.compensated:
        await repository.set_compensation(session, network.id, account_id, data.note.strip(), actor.account_id)
    else:
        await repository.clear_compensation(session, network.id, account_id)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="facilitator.compensation.set",
        target_type="account",
        target_id=account_id,
        network_id=network.id,
        after={"compensated": data.compensated},
    )
    return None


async def add_outside_facilitator(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID
) -> OutsideFacilitatorOut:
    """Make someone from outside the network a facilitator of this one space (network admins)."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_manage_facilitators_program(actor, ctx.space.network_id):
        raise Forbidden("Only the network's admins add facilitators from outside the network.", code="forbidden")
    if not await repository.account_exists(session, account_id):
        raise NotFound(f"No active account has id {account_id}.", code="account_not_found")
    theirs = await spaces_repository.memberships(session, account_id, [*ctx.space.path, ctx.space.id])
    if any(m.status == "banned" for m in theirs.values()):
        raise Conflict("That account is banned from this space or a space above it.", code="banned")
    outside = not await repository.members(session, ctx.space.network_id, [account_id])
    row = theirs.get(ctx.space.id)
    if row is None:
        row = SpaceMember(space_id=ctx.space.id, account_id=account_id, role="facilitator", status="active")
        session.add(row)
    row.role, row.status, row.own_standing, row.outside = "facilitator", "active", True, outside
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="space.facilitator.add_outside",
        target_type="space",
        target_id=ctx.space.id,
        network_id=ctx.space.network_id,
        after={"account_id": str(account_id), "outside": outside},
    )
    return OutsideFacilitatorOut(space_id=ctx.space.id, account_id=account_id, outside=outside)
