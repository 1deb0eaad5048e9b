"""All SQL of the sharing area: agreements, the guest memberships they admit, trust marks.

Also read by the spaces area (:mod:`services.spaces.access`, hierarchy, join) to learn which of
the caller's networks a space is actively shared with: one indexed query, made only when the
caller has no role in the space's home network. This module and :mod:`services.sharing.guests`
are the guest-share read model: they stand below the spaces area and import nothing of it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.persistence.models import (
    Network,
    NetworkMember,
    Share,
    ShareMembership,
    Space,
    SpaceJoinRequest,
    SpaceMember,
    TrustedNetwork,
)
from services.persistence.models.spaces import below

_OPEN = ("pending", "active")


@dataclass(frozen=True, slots=True)
class GuestShare:
    """An active agreement as access checks need it."""

    share_id: uuid.UUID
    space_id: uuid.UUID
    guest_network_id: uuid.UUID
    guest_network_name: str
    include_subspaces: bool
    constraints: dict[str, Any]


def _covering(space_ids: Collection[uuid.UUID]) -> Any:
    return Share.space_id.in_(list(space_ids))


async def active_guest_shares(
    session: AsyncSession, space_ids: Collection[uuid.UUID], network_ids: Collection[uuid.UUID]
) -> list[GuestShare]:
    """Active agreements on any of ``space_ids`` with any of ``network_ids`` (one query).

    Callers pass a space and its ancestors (or a subtree and its ancestors) and decide coverage
    with :func:`federation.sharing.covers`.
    """
    if not space_ids or not network_ids:
        return []
    rows = await session.execute(
        select(
            Share.id, Share.space_id, Share.guest_network_id, Network.name, Share.include_subspaces, Share.constraints
        )
        .join(Network, Network.id == Share.guest_network_id)
        .where(_covering(space_ids), Share.guest_network_id.in_(list(network_ids)), Share.status == "active")
        .order_by(Share.created_at, Share.id)
    )
    return [GuestShare(i, s, g, n, inc, dict(c)) for i, s, g, n, inc, c in rows]


async def active_shares_on(session: AsyncSession, space_ids: Collection[uuid.UUID]) -> list[GuestShare]:
    """Active agreements on any of ``space_ids``, whatever the guest network (one query); callers
    decide coverage with :func:`federation.sharing.covers`."""
    if not space_ids:
        return []
    rows = await session.execute(
        select(
            Share.id, Share.space_id, Share.guest_network_id, Network.name, Share.include_subspaces, Share.constraints
        )
        .join(Network, Network.id == Share.guest_network_id)
        .where(_covering(space_ids), Share.status == "active")
        .order_by(Share.created_at, Share.id)
    )
    return [GuestShare(i, s, g, n, inc, dict(c)) for i, s, g, n, inc, c in rows]


async def network_ids_of(session: AsyncSession, account_id: uuid.UUID) -> list[uuid.UUID]:
    """The networks an account has a role in."""
    return list(await session.scalars(select(NetworkMember.network_id).where(NetworkMember.account_id == account_id)))


async def get_share(session: AsyncSession, share_id: uuid.UUID, *, lock: bool = False) -> Share | None:
    """One agreement (optionally locked for update)."""
    stmt = select(Share).where(Share.id == share_id)
    if lock:
        stmt = stmt.with_for_update()
    result: Share | None = await session.scalar(stmt)
    return result


async def open_share(session: AsyncSession, space_id: uuid.UUID, guest_network_id: uuid.UUID) -> Share | None:
    """The pending or active agreement on this space with this network, if any (locked)."""
    result: Share | None = await session.scalar(
        select(Share)
        .where(Share.space_id == space_id, Share.guest_network_id == guest_network_id, Share.status.in_(_OPEN))
        .with_for_update()
    )
    return result


async def trusts(session: AsyncSession, network_id: uuid.UUID, trusted_id: uuid.UUID) -> bool:
    """Whether ``network_id`` marked ``trusted_id`` as trusted."""
    found = await session.scalar(
        select(TrustedNetwork.network_id).where(
            TrustedNetwork.network_id == network_id, TrustedNetwork.trusted_network_id == trusted_id
        )
    )
    return found is not None


async def trusted_list(session: AsyncSession, network_id: uuid.UUID) -> list[tuple[str, str, dt.datetime]]:
    """(slug, name, since) of the networks ``network_id`` trusts."""
    rows = await session.execute(
        select(Network.slug, Network.name, TrustedNetwork.created_at)
        .join(Network, Network.id == TrustedNetwork.trusted_network_id)
        .where(TrustedNetwork.network_id == network_id)
        .order_by(Network.slug)
    )
    return [(s, n, c) for s, n, c in rows]


async def remove_trust(session: AsyncSession, network_id: uuid.UUID, trusted_id: uuid.UUID) -> bool:
    """Drop a trust mark; False when there was none."""
    result = await session.execute(
        delete(TrustedNetwork)
        .where(TrustedNetwork.network_id == network_id, TrustedNetwork.trusted_network_id == trusted_id)
        .returning(TrustedNetwork.network_id)
    )
    return result.first() is not None


@dataclass(frozen=True, slots=True)
class ShareRow:
    """An agreement with the names the API shows (no member information)."""

    share: Share
    space_name: str
    space_kind: str
    host_slug: str
    guest_slug: str


_HOST = aliased(Network)
_GUEST = aliased(Network)


def _listing() -> Any:
    return (
        select(Share, Space.name, Space.kind, _HOST.slug, _GUEST.slug)
        .join(Space, Space.id == Share.space_id)
        .join(_HOST, _HOST.id == Share.host_network_id)
        .join(_GUEST, _GUEST.id == Share.guest_network_id)
    )


async def share_row(session: AsyncSession, share_id: uuid.UUID) -> ShareRow | None:
    """One agreement with its names."""
    row = (await session.execute(_listing().where(Share.id == share_id))).first()
    return ShareRow(*row) if row else None


async def network_shares(session: AsyncSession, network_id: uuid.UUID) -> list[ShareRow]:
    """Every agreement the network is host or guest of, newest first (one query)."""
    rows = await session.execute(
        _listing()
        .where(or_(Share.host_network_id == network_id, Share.guest_network_id == network_id))
        .order_by(Share.created_at.desc(), Share.id)
    )
    return [ShareRow(*r) for r in rows]


async def covered_space_ids(session: AsyncSession, share: Share) -> list[uuid.UUID]:
    """The spaces an agreement reaches: its space, and every space below when it includes them."""
    if not share.include_subspaces:
        return [share.space_id]
    rows = await session.scalars(select(Space.id).where(or_(Space.id == share.space_id, below(share.space_id))))
    return list(rows)


async def end_guest_memberships(session: AsyncSession, share_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Delete the memberships this agreement admitted (bans stay, so a new agreement does not
    lift them); returns the (space, account) pairs removed."""
    linked = select(ShareMembership.space_id, ShareMembership.account_id).where(ShareMembership.share_id == share_id)
    result = await session.execute(
        delete(SpaceMember)
        .where(tuple_(SpaceMember.space_id, SpaceMember.account_id).in_(linked), SpaceMember.status != "banned")
        .returning(SpaceMember.space_id, SpaceMember.account_id)
    )
    removed = [(s, a) for s, a in result]
    await session.execute(delete(ShareMembership).where(ShareMembership.share_id == share_id))
    return removed


async def cancel_guest_requests(
    session: AsyncSession, space_ids: Sequence[uuid.UUID], guest_network_id: uuid.UUID, host_network_id: uuid.UUID
) -> int:
    """Cancel pending join requests and invitations in these spaces by members of the guest
    network who have no role in the host network (they came through the agreement)."""
    if not space_ids:
        return 0
    in_guest = select(NetworkMember.account_id).where(NetworkMember.network_id == guest_network_id)
    in_host = select(NetworkMember.account_id).where(NetworkMember.network_id == host_network_id)
    result = await session.execute(
        update(SpaceJoinRequest)
        .where(
            SpaceJoinRequest.space_id.in_(list(space_ids)),
            SpaceJoinRequest.status == "pending",
            SpaceJoinRequest.account_id.in_(in_guest),
            SpaceJoinRequest.account_id.not_in(in_host),
        )
        .values(status="cancelled", decided_at=func.now())
        .returning(SpaceJoinRequest.id)
    )
    return len(result.all())


async def link_guest(session: AsyncSession, share_id: uuid.UUID, space_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Tie a guest's membership row to the agreement that admitted it (idempotent)."""
    existing = await session.get(ShareMembership, (space_id, account_id))
    if existing is None:
        session.add(ShareMembership(space_id=space_id, account_id=account_id, share_id=share_id))
    else:
        existing.share_id = share_id
