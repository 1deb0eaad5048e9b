"""What an active agreement changes for the guest network's members, as the spaces area asks it.

* :func:`guest_shares` — the active agreements through which a caller (with no role in the
  space's home network) reaches a space; their guest networks feed ``space_actor``.
* :func:`guest_layers` — those agreements' guest constraints as policy layers (source: the guest
  network), to narrow the space's effective policy for that caller.
* :func:`admit_guest` — after a guest's membership row becomes active (join, approved request),
  mark it ``own_standing`` and tie it to the agreement, so ending the agreement removes it and a
  cascade from a parent they never belonged to does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.policy import PolicyInputError, PolicyLayer, Source, parse_constraints
from federation.sharing import covers
from services.persistence.models import Space, SpaceMember
from services.sharing import repository
from services.sharing.repository import GuestShare


async def guest_shares(session: AsyncSession, actor: Actor, space: Space) -> list[GuestShare]:
    """Active agreements reaching ``space`` for the caller's networks; empty (and no query) when
    the caller belongs to the home network or to no network."""
    if actor.role_in(space.network_id) is not None or not actor.network_roles:
        return []
    found = await repository.active_guest_shares(session, [space.id, *space.path], list(actor.network_roles))
    return [s for s in found if covers(s.space_id, s.include_subspaces, space.id, space.path)]


def guest_layers(shares: Sequence[GuestShare]) -> list[PolicyLayer]:
    """The guest constraints of these agreements as enforce-mode layers named after the guest
    network (stored constraints were validated on accept; any that no longer parse are skipped)."""
    out = []
    for s in shares:
        if not s.constraints:
            continue
        try:
            out.append(parse_constraints(s.constraints, Source.guest_network(s.guest_network_id, s.guest_network_name)))
        except PolicyInputError:
            continue
    return out


async def admit_guest(session: AsyncSession, space: Space, row: SpaceMember) -> uuid.UUID | None:
    """Mark ``row`` as a guest membership when its account reaches ``space`` only through an
    active agreement; returns the agreement's id (None for a home-network member)."""
    networks = await repository.network_ids_of(session, row.account_id)
    if space.network_id in networks or not networks:
        return None
    found = await repository.active_guest_shares(session, [space.id, *space.path], networks)
    reaching = [s for s in found if covers(s.space_id, s.include_subspaces, space.id, space.path)]
    if not reaching:
        return None
    row.own_standing = True
    await session.flush()
    await repository.link_guest(session, reaching[0].share_id, space.id, row.account_id)
    await session.flush()
    return reaching[0].share_id
