"""Load the facts a space permission needs and build the domain's view of the caller.

Decisions live in :mod:`federation.space_permissions`; this module only reads rows (a space,
its ancestors, the caller's rows on that path) and turns them into plain facts. A space the
caller may not see is a 404 indistinguishable from one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.sharing import covers
from federation.space_permissions import SpaceActor, SpaceFacts, can_read_space, space_actor
from federation.spaces import JoinMode, MemberRole, MembershipFacts, MemberStatus, SpaceKind, Visibility
from services.auth.guards import load_actor
from services.auth.principal import Principal
from services.errors import Conflict, NotFound
from services.persistence.models import Space, SpaceMember
from services.sharing import guests
from services.sharing import repository as sharing_repository
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


async def standing_of(session: AsyncSession, account_id: uuid.UUID, ctx: SpaceContext) -> SpaceActor:
    """Another account's roles relative to ``ctx.space`` (e.g. an invitee's), from the same facts
    :func:`load` uses: its network roles, the shares reaching the space for its networks, its rows
    on the path (a ban here or above). Three queries."""
    space = ctx.space
    them = await load_actor(session, Principal(account_id=account_id))
    shares = await guests.guest_shares(session, them, space)
    rows = await repository.memberships(session, account_id, [*space.path, space.id])
    return space_actor(
        them,
        home_network_id=space.network_id,
        guest_network_ids={s.guest_network_id for s in shares},
        membership=_facts(rows.get(space.id)),
        parent_membership=_facts(rows.get(space.parent_id)) if space.parent_id else None,
        banned_above=any(rows[a].status == "banned" for a in space.path if a in rows),
    )


async def visible(session: AsyncSession, actor: Actor, spaces: Sequence[Space]) -> set[uuid.UUID]:
    """The ids of ``spaces`` the caller may see (:func:`can_read_space`, from the same facts as
    :func:`load`: rows on each path, bans above, invitations, shares). For listings, so a list
    never shows a space its own route would answer 404 for. Two queries, three for a guest."""
    if not spaces:
        return set()
    ids = [s.id for s in spaces]
    on_paths = list({*ids, *(a for s in spaces for a in s.path)})
    mine = await repository.memberships(session, actor.account_id, on_paths)
    invited = await repository.invited_to(session, actor.account_id, ids)
    foreign = [n for n in actor.network_roles if any(n != s.network_id for s in spaces)]
    shares = await sharing_repository.active_guest_shares(session, on_paths, foreign) if foreign else []
    out = set()
    for space in spaces:
        row = _facts(mine.get(space.id))
        if space.id in invited and (row is None or row.status is not MemberStatus.BANNED):
            row = MembershipFacts(MemberRole.MEMBER, MemberStatus.INVITED)
        who = space_actor(
            actor,
            home_network_id=space.network_id,
            guest_network_ids={
                g.guest_network_id
                for g in shares
                if g.guest_network_id != space.network_id
                and covers(g.space_id, g.include_subspaces, space.id, space.path)
            },
            membership=row,
            parent_membership=_facts(mine.get(space.parent_id)) if space.parent_id else None,
            banned_above=any(mine[a].status == "banned" for a in space.path if a in mine),
        )
        if can_read_space(who, facts_of(space)):
            out.add(space.id)
    return out


async def visible_ids(session: AsyncSession, actor: Actor, space_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """:func:`visible` for ids (one more query to load the spaces)."""
    return await visible(session, actor, await repository.spaces_by_ids(session, list(dict.fromkeys(space_ids))))


def network_actor(actor: Actor, network_id: uuid.UUID) -> SpaceActor:
    """The caller's roles relative to a network (for network-level space and template checks)."""
    return space_actor(actor, home_network_id=network_id)


def facts_of(space: Space) -> SpaceFacts:
    """Plain facts about a space for permission checks.

    Policy values are not read here: a raw ``settings`` entry is not the value that governs
    (templates and ancestors may pin it). The one consumer of a policy fact, chat posting,
    loads the governing value through :mod:`services.spaces.governing` (``services.chat``);
    left unset, ``chat_posting`` denies members (deny by default).
    """
    return SpaceFacts(
        kind=SpaceKind(space.kind), visibility=Visibility(space.visibility), join_mode=JoinMode(space.join_mode)
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
