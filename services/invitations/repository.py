"""SQL of the invitations area."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import (
    Account,
    MailOutbox,
    Network,
    NetworkMember,
    Space,
    SpaceInvitation,
    SpaceJoinRequest,
)


async def account_by_email(session: AsyncSession, address: str) -> Account | None:
    """The account with this address (case-insensitive)."""
    found: Account | None = await session.scalar(select(Account).where(func.lower(Account.email) == address.lower()))
    return found


async def network_roles(session: AsyncSession, account_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """The networks an account belongs to, with its role."""
    rows = await session.execute(
        select(NetworkMember.network_id, NetworkMember.role).where(NetworkMember.account_id == account_id)
    )
    return {n: str(r) for n, r in rows}


async def pending_for(session: AsyncSession, space_id: uuid.UUID, address: str) -> SpaceInvitation | None:
    """The pending invitation of this address to this space (locked)."""
    found: SpaceInvitation | None = await session.scalar(
        select(SpaceInvitation)
        .where(
            SpaceInvitation.space_id == space_id,
            func.lower(SpaceInvitation.email) == address.lower(),
            SpaceInvitation.status == "pending",
        )
        .with_for_update()
    )
    return found


async def by_token_hash(session: AsyncSession, token_hash: bytes, *, lock: bool = False) -> SpaceInvitation | None:
    """The invitation a link points to."""
    stmt = select(SpaceInvitation).where(SpaceInvitation.token_hash == token_hash)
    if lock:
        stmt = stmt.with_for_update()
    found: SpaceInvitation | None = await session.scalar(stmt)
    return found


async def by_id(session: AsyncSession, invitation_id: uuid.UUID, *, lock: bool = False) -> SpaceInvitation | None:
    """One invitation."""
    stmt = select(SpaceInvitation).where(SpaceInvitation.id == invitation_id)
    if lock:
        stmt = stmt.with_for_update()
    found: SpaceInvitation | None = await session.scalar(stmt)
    return found


async def for_space(session: AsyncSession, space_id: uuid.UUID) -> list[SpaceInvitation]:
    """A space's invitations, newest first."""
    return list(
        await session.scalars(
            select(SpaceInvitation)
            .where(SpaceInvitation.space_id == space_id)
            .order_by(SpaceInvitation.created_at.desc(), SpaceInvitation.id)
            .limit(500)
        )
    )


async def deliveries(session: AsyncSession, invitation_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The latest e-mail state per invitation (one query)."""
    if not invitation_ids:
        return {}
    wanted = [str(i) for i in invitation_ids]
    key = MailOutbox.headers["_invitation_id"].astext
    rows = await session.execute(select(key, MailOutbox.status).where(key.in_(wanted)).order_by(MailOutbox.created_at))
    return {uuid.UUID(k): str(s) for k, s in rows}


async def mine(session: AsyncSession, address: str, now: dt.datetime) -> list[tuple[SpaceInvitation, str, str]]:
    """Pending, unexpired invitations to ``address`` whose space still exists, with network and inviter names."""
    rows = await session.execute(
        select(SpaceInvitation, Network.name, func.coalesce(Account.display_name, ""))
        .join(Space, Space.id == SpaceInvitation.space_id)
        .join(Network, Network.id == SpaceInvitation.network_id)
        .outerjoin(Account, Account.id == SpaceInvitation.invited_by)
        .where(
            func.lower(SpaceInvitation.email) == address.lower(),
            SpaceInvitation.status == "pending",
            SpaceInvitation.expires_at > now,
        )
        .order_by(SpaceInvitation.created_at.desc())
    )
    return [(inv, str(net), str(by)) for inv, net, by in rows]


async def names(session: AsyncSession, invitation: SpaceInvitation) -> tuple[str, str, str | None]:
    """(network name, inviter's name, network slug if it has its own sign-in provider)."""
    from services.persistence.models.identity import UpstreamProvider

    row = (
        await session.execute(
            select(Network.name, Network.slug, UpstreamProvider.id)
            .outerjoin(UpstreamProvider, UpstreamProvider.network_id == Network.id)
            .where(Network.id == invitation.network_id)
        )
    ).one()
    inviter = ""
    if invitation.invited_by is not None:
        inviter = str(
            await session.scalar(select(Account.display_name).where(Account.id == invitation.invited_by)) or ""
        )
    return str(row[0]), inviter, (str(row[1]) if row[2] is not None else None)


async def space_exists(session: AsyncSession, space_id: uuid.UUID | None) -> bool:
    """Whether the invitation's space is still there."""
    if space_id is None:
        return False
    return await session.scalar(select(Space.id).where(Space.id == space_id)) is not None


async def ensure_space_invitation(
    session: AsyncSession, space_id: uuid.UUID, account_id: uuid.UUID, invited_by: uuid.UUID | None
) -> None:
    """Make sure the account holds a pending invitation in the spaces area's own table, so that
    joining takes the ordinary path (bans, caps, guests, audit) and counts as invited. A pending
    join request of theirs is superseded (the invitation answers it)."""
    pending = await session.scalar(
        select(SpaceJoinRequest)
        .where(
            SpaceJoinRequest.space_id == space_id,
            SpaceJoinRequest.account_id == account_id,
            SpaceJoinRequest.status == "pending",
        )
        .with_for_update()
    )
    if pending is not None and pending.kind == "invitation":
        return
    if pending is not None:
        pending.status = "cancelled"
        await session.flush()
    session.add(
        SpaceJoinRequest(
            id=uuid.uuid4(),
            space_id=space_id,
            account_id=account_id,
            kind="invitation",
            status="pending",
            message="",
            created_by=invited_by,
        )
    )
    await session.flush()


async def add_network_member(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Make an account a member of a network."""
    session.add(NetworkMember(network_id=network_id, account_id=account_id, role="member"))
    await session.flush()
