"""Load the facts a space permission needs and build the domain's view of the caller.

Decisions live in :mod:`federation.space_permissions`; this module only reads rows (a space,
its ancestors, the caller's rows on that path) and turns them into plain facts. A space the
caller may not see is a 404 indistinguishable from one that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.space_permissions import SpaceActor, SpaceFacts, can_read_space, space_actor
from federation.spaces import JoinMode, MemberRole, MembershipFacts, MemberStatus, SpaceKind, Visibility
from services.errors import Conflict, NotFound
from services.persistence.models import Space, SpaceMember
from services.sharing import guests
from services.sharing.repository import GuestShare
from services.spaces import repository


@dataclass(frozen=True, slots=True)
class SpaceContext:
    """A space, its ancestors (root first), the caller's rows on that path and their roles."""

    space: Space
    ancestors: list[Space]
    mine: dict[uuid.UUID, SpaceMember]
    who: SpaceActor
    facts: SpaceFacts
    invited: bool = False
    network_slug: str = ""
    member_count: int = 0
    """Active members when the context was loaded (show only to those who may see the list)."""
    guest_shares: tuple[GuestShare, ...] = ()
    """Active sharing agreements through which the caller (not of the home network) reaches the space."""

    @property
    def membership(self) -> SpaceMember | None:
        """The caller's row in this space."""
        return self.mine.get(self.space.id)

    @property
    def banned(self) -> bool:
        """Banned here or in a space above (a ban cascades down)."""
        return any(m.status == "banned" for m in self.mine.values())


def network_actor(actor: Actor, network_id: uuid.UUID) -> SpaceActor:
    """The caller's roles relative to a network (for network-level space and template checks)."""
    return space_actor(actor, home_network_id=network_id)


def facts_of(space: Space) -> SpaceFacts:
    """Plain facts about a space for permission checks."""
    return SpaceFacts(
        kind=SpaceKind(space.kind),
        visibility=Visibility(space.visibility),
        join_mode=JoinMode(space.join_mode),
        chat_posting=str(space.settings.get("chat.posting", "members")),
    )


def _facts(row: SpaceMember | None) -> MembershipFacts | None:
    if row is None:
        return None
    return MembershipFacts(MemberRole(row.role), MemberStatus(row.status), outside=row.outside)


def refuse_if_archived(space: Space) -> None:
    """An archived space is read-only: every change to it is refused until an admin restores it."""
    if space.archived_at is not None:
        raise Conflict(
            f"'{space.name}' is archived and read-only; a network admin can restore it.", code="space_archived"
        )


def not_found(space_id: uuid.UUID) -> NotFound:
    """The one answer for a space that does not exist or that the caller may not see."""
    return NotFound(f"No space with id {space_id} is visible to you.", code="space_not_found")


async def load(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, *, lock: bool = False, must_see: bool = True
) -> SpaceContext:
    """The space with the caller's roles; 404 when it does not exist or (``must_see``) is hidden.

    One statement reads the space, its ancestors and the caller's rows on the path (two with
    ``lock``).

    ``lock`` takes the space's row lock first, so membership invariants (facilitator minimum,
    member cap) hold under concurrent requests.
    """
    if lock and not await repository.lock_space(session, space_id):
        raise not_found(space_id)
    loaded = await repository.load(session, space_id, actor.account_id)
    if loaded is None:
        raise not_found(space_id)
    space, ups, mine = loaded.space, loaded.ancestors, loaded.mine
    row = mine.get(space.id)
    invited = (row is None or row.status != "active") and loaded.pending_kind == "invitation"
    facts = _facts(row)
    if invited and (facts is None or facts.status is not MemberStatus.BANNED):
        facts = MembershipFacts(MemberRole.MEMBER, MemberStatus.INVITED)
    shares = tuple(await guests.guest_shares(session, actor, space))  # no query for home-network members
    who = space_actor(
        actor,
        home_network_id=space.network_id,
        guest_network_ids={s.guest_network_id for s in shares},
        membership=facts,
        parent_membership=_facts(mine.get(space.parent_id)) if space.parent_id else None,
        banned_above=any(mine.get(a) is not None and mine[a].status == "banned" for a in space.path),
    )
    ctx = SpaceContext(
        space, ups, mine, who, facts_of(space), invited, loaded.network_slug, loaded.member_count, shares
    )
    if must_see and not can_read_space(who, ctx.facts):
        raise not_found(space_id)
    if lock:  # every write loads with the row lock: an archived space takes none
        refuse_if_archived(space)
    return ctx
