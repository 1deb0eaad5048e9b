"""Stewardship use cases: remove a person from a network; archive and restore a space.

Removing someone ends their role in the network and every membership, request and pending
invitation they hold in its spaces (bans stay). The controller asks the chat gateway to re-check
live subscriptions after the commit, so their open sockets lose those rooms at once on this
node (other nodes at their next periodic check), as when a sharing agreement ends.

An archived space is read-only (every write to it is refused with ``space_archived``, chat
posting included), out of both directories, and comes back unchanged when restored.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.stewardship import RemovalProblem, can_archive_space, can_remove_from_network, removal_problem
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.networks.service import require_network
from services.persistence.models import Space
from services.spaces import access
from services.spaces import repository as spaces_repository
from services.stewardship import repository
from services.stewardship.schemas import ArchiveOut, NetworkRemovalOut


async def remove_from_network(
    session: AsyncSession, actor: Actor, slug: str, account_id: uuid.UUID
) -> NetworkRemovalOut:
    """End a person's membership of a network and of every space in it (network admins)."""
    network = await require_network(session, slug)
    if not can_remove_from_network(actor, network.id):
        raise Forbidden(f"Only admins of network '{slug}' can remove people from it.", code="forbidden")
    role = await repository.role_of(session, network.id, account_id)
    problem = removal_problem(
        actor, account_id, target_role=role, admins=await repository.count_admins(session, network.id)
    )
    if problem is RemovalProblem.SELF:
        raise Unprocessable("You cannot remove yourself; ask another admin.", code="own_role")
    if problem is RemovalProblem.NOT_A_MEMBER:
        raise NotFound(f"Account {account_id} is not a member of network '{slug}'.", code="not_a_member")
    if problem is RemovalProblem.LAST_ADMIN:
        raise Conflict("This is the network's last admin; make someone else admin first.", code="last_admin")
    left = await repository.end_network_membership(session, network.id, account_id)
    withdrawn = await repository.withdraw_invitations(session, network.id, account_id)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.member.remove",
        target_type="account",
        target_id=account_id,
        network_id=network.id,
        before={"role": role},
        after={"spaces_left": [str(s) for s in left], "invitations_withdrawn": withdrawn},
    )
    return NetworkRemovalOut(network=slug, account_id=account_id, spaces_left=left, invitations_withdrawn=withdrawn)


async def _admin_space(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> Space:
    ctx = await access.load(session, actor, space_id)  # no row lock: archived spaces refuse locked loads
    if not can_archive_space(actor, ctx.space.network_id):
        raise Forbidden("Only the network's admins archive and restore spaces.", code="forbidden")
    if not await spaces_repository.lock_space(session, space_id):
        raise access.not_found(space_id)
    return ctx.space


async def archive(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> ArchiveOut:
    """Archive a space: read-only and out of the directories (network admins). Its sub-spaces are
    not archived with it; archive them one by one if they should go too."""
    space = await _admin_space(session, actor, space_id)
    if space.archived_at is None:
        space.archived_at = dt.datetime.now(dt.UTC)
        await repository.unlist_publicly(session, space_id)
        await session.flush()
        audit.record(
            session,
            actor_id=actor.account_id,
            action="space.archive",
            target_type="space",
            target_id=space_id,
            network_id=space.network_id,
            after={"archived": True},
        )
    return ArchiveOut(space_id=space_id, archived=True, archived_at=space.archived_at)


async def restore(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> ArchiveOut:
    """Restore an archived space as it was (network admins)."""
    space = await _admin_space(session, actor, space_id)
    if space.archived_at is None:
        raise Conflict("This space is not archived.", code="space_not_archived")
    space.archived_at = None
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="space.restore",
        target_type="space",
        target_id=space_id,
        network_id=space.network_id,
        after={"archived": False},
    )
    return ArchiveOut(space_id=space_id, archived=False, archived_at=None)
