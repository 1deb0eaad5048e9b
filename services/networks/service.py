"""Use cases of the networks area: check, then do, then record."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation import permissions
from federation.networks import Role, slug_problem
from federation.permissions import Actor
from federation.schedule import ScheduleError, time_zone
from services import audit
from services.accounts import repository as accounts_repository
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.networks import repository
from services.networks.schemas import (
    MemberAdd,
    MemberOut,
    MemberRoleSet,
    NetworkCreate,
    NetworkOut,
    NetworkTimeZone,
    Roster,
    RosterEntry,
)
from services.persistence.models import Network, NetworkMember


def to_out(network: Network, actor: Actor | None = None) -> NetworkOut:
    """Shape a network for the wire."""
    return NetworkOut(
        id=network.id,
        slug=network.slug,
        name=network.name,
        kind=network.kind,  # type: ignore[arg-type]
        description=network.description,
        created_at=network.created_at,
        my_role=actor.role_in(network.id) if actor else None,
        time_zone=network.time_zone,
    )


async def require_network(session: AsyncSession, slug: str) -> Network:
    """The network with this slug or a 404 that says so."""
    network = await repository.get_by_slug(session, slug)
    if network is None:
        raise NotFound(f"No network has the slug '{slug}'.", code="network_not_found")
    return network


async def create_network(
    session: AsyncSession, actor: Actor, data: NetworkCreate, *, default_time_zone: str = "UTC"
) -> NetworkOut:
    """Create a network (operators only); its time zone defaults to ``default_time_zone``."""
    if not permissions.can_create_network(actor):
        raise Forbidden("Only federation operators can create networks.", code="forbidden")
    problem = slug_problem(data.slug)
    if problem:
        raise Unprocessable(
            f"The slug '{data.slug}' cannot be used: {problem}.", code="invalid_slug", details={"field": "slug"}
        )
    name = data.name.strip()
    if not name:
        raise Unprocessable("The name must not be blank.", code="validation_error", details={"field": "name"})
    zone = _zone_or_422(data.time_zone or default_time_zone)
    network = Network(
        id=uuid.uuid4(),
        slug=data.slug,
        name=name,
        kind=data.kind.value,
        description=data.description.strip(),
        time_zone=zone,
    )
    if not await repository.insert_network(session, network):
        raise Conflict(
            f"A network with the slug '{data.slug}' already exists; choose another slug.",
            code="slug_taken",
            details={"field": "slug"},
        )
    created = await repository.get_by_slug(session, data.slug)
    assert created is not None
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.create",
        target_type="network",
        target_id=created.id,
        network_id=created.id,
        after={"slug": created.slug, "name": created.name, "kind": created.kind},
    )
    return to_out(created, actor)


async def set_member_role(
    session: AsyncSession, actor: Actor, slug: str, account_id: uuid.UUID, data: MemberRoleSet
) -> MemberOut:
    """Add an account to a network with a role, or change its role."""
    network = await require_network(session, slug)
    if not permissions.can_manage_network(actor, network.id):
        raise Forbidden("Only this network's admins can set member roles.", code="forbidden")
    if not permissions.can_set_member_role(actor, network.id, target=account_id, new_role=data.role):
        raise Forbidden("Admins cannot change their own role; ask another admin.", code="own_role")
    if not await repository.account_exists(session, account_id):
        raise NotFound(f"No active account has id {account_id}.", code="account_not_found")
    existing = await repository.get_member(session, network.id, account_id)
    before = {"role": existing.role} if existing else None
    if existing is None:
        session.add(NetworkMember(network_id=network.id, account_id=account_id, role=data.role.value))
    elif existing.role != data.role.value:
        if existing.role == Role.ADMIN and await repository.count_admins(session, network.id) <= 1:
            raise Conflict("This is the network's last admin; make someone else admin first.", code="last_admin")
        existing.role = data.role.value
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.member.set_role",
        target_type="account",
        target_id=account_id,
        network_id=network.id,
        before=before,
        after={"role": data.role.value},
    )
    return MemberOut(network=network.slug, account_id=account_id, role=data.role, created=existing is None)


async def roster(session: AsyncSession, actor: Actor, slug: str) -> Roster:
    """The network's people with their roles (admins and facilitators of the network)."""
    network = await require_network(session, slug)
    if not permissions.can_view_network_members(actor, network.id):
        raise Forbidden("Only this network's admins and facilitators can see its members.", code="forbidden")
    rows = await repository.roster(session, network.id)
    return Roster(
        network=network.slug,
        items=[
            RosterEntry(account_id=i, display_name=n, email=e, role=Role(r), since=since)  # type: ignore[arg-type]
            for i, n, e, r, since in rows
        ],
    )


async def add_member_by_email(session: AsyncSession, actor: Actor, slug: str, data: MemberAdd) -> MemberOut:
    """Add an existing account to the network by its e-mail address (network admins)."""
    network = await require_network(session, slug)
    if not permissions.can_manage_network(actor, network.id):
        raise Forbidden("Only this network's admins can add people.", code="forbidden")
    account = await accounts_repository.get_by_email(session, data.email.strip())
    if account is None or not account.is_active:
        raise NotFound(
            f"No account uses {data.email.strip()}. Ask the person to sign in once (through your network's "
            "provider, or with an account the operator created), then add them.",
            code="account_not_found",
        )
    if await repository.get_member(session, network.id, account.id) is not None:
        raise Conflict(
            f"{account.display_name} is already in this network; change their role instead.", code="already_member"
        )
    return await set_member_role(session, actor, slug, account.id, MemberRoleSet(role=data.role))


def _zone_or_422(name: str) -> str:
    try:
        return time_zone(name).key
    except ScheduleError as exc:
        raise Unprocessable(exc.message, code="invalid_time_zone", details={"field": "time_zone"}) from None


async def set_time_zone(session: AsyncSession, actor: Actor, slug: str, data: NetworkTimeZone) -> NetworkOut:
    """PUT /networks/{slug}/time-zone (network admins): meeting days and the program year follow it."""
    network = await require_network(session, slug)
    if not permissions.can_manage_network(actor, network.id):
        raise Forbidden("Only this network's admins can set its time zone.", code="forbidden")
    zone = _zone_or_422(data.time_zone)
    if zone != network.time_zone:
        before = {"time_zone": network.time_zone}
        network.time_zone = zone
        await session.flush()
        audit.record(
            session,
            actor_id=actor.account_id,
            action="network.time_zone",
            target_type="network",
            target_id=network.id,
            network_id=network.id,
            before=before,
            after={"time_zone": zone},
        )
    return to_out(network, actor)
