"""Which spaces' chats (and hence libraries) a caller may read, decided by the domain.

Search must filter in SQL for speed, so it needs the list of readable spaces up front. The list
is built here by asking :func:`federation.resources.can_read_space_resources` (that is,
``can_read_chat``) about every *candidate* space: those where the caller has an active
membership row. The prefilter is sound because every role ``can_read_chat`` accepts
(facilitator, member, guest) requires an active row — ``tests/federation/test_resource_permissions.py``
checks that over every combination of facts, so a change to the predicate that broke the
assumption would fail there.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.resources import can_read_space_resources
from federation.sharing import covers
from federation.space_permissions import space_actor
from federation.spaces import MemberRole, MembershipFacts, MemberStatus
from services.persistence.models import Space, SpaceMember
from services.sharing import repository as sharing
from services.spaces.access import facts_of


def _facts(row: SpaceMember | None) -> MembershipFacts | None:
    return None if row is None else MembershipFacts(MemberRole(row.role), MemberStatus(row.status))


async def readable_spaces(session: AsyncSession, actor: Actor, only: uuid.UUID | None = None) -> list[uuid.UUID]:
    """The spaces whose chat ``actor`` may read (restricted to ``only`` when given); three queries
    at most, however many spaces the caller belongs to."""
    stmt = (
        select(Space)
        .join(SpaceMember, SpaceMember.space_id == Space.id)
        .where(SpaceMember.account_id == actor.account_id, SpaceMember.status == "active")
    )
    if only is not None:
        stmt = stmt.where(Space.id == only)
    spaces = list(await session.scalars(stmt))
    if not spaces:
        return []
    on_paths = {s.id for s in spaces} | {a for s in spaces for a in s.path}
    rows = {
        r.space_id: r
        for r in await session.scalars(
            select(SpaceMember).where(SpaceMember.account_id == actor.account_id, SpaceMember.space_id.in_(on_paths))
        )
    }
    away = [s for s in spaces if actor.role_in(s.network_id) is None]
    shares = (
        await sharing.active_guest_shares(
            session, {s.id for s in away} | {a for s in away for a in s.path}, list(actor.network_roles)
        )
        if away and actor.network_roles
        else []
    )
    out = []
    for s in spaces:
        guests = {g.guest_network_id for g in shares if covers(g.space_id, g.include_subspaces, s.id, s.path)}
        who = space_actor(
            actor,
            home_network_id=s.network_id,
            guest_network_ids=guests,
            membership=_facts(rows.get(s.id)),
            parent_membership=_facts(rows.get(s.parent_id)) if s.parent_id else None,
            banned_above=any(rows[a].status == "banned" for a in s.path if a in rows),
        )
        if can_read_space_resources(who, facts_of(s)):
            out.append(s.id)
    return out
