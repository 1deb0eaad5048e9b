"""What other areas call when something happens that members should hear about.

Each function runs in the caller's transaction (rows commit or roll back with the event) and
only reads what it needs to address the notification; the member's own choice per kind decides
in-app, e-mail or nothing (:func:`services.notifications.service.notify`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.notifications import Kind
from services.notifications.service import notify
from services.persistence.models import Account, Network, NetworkMember, Space, SpaceMember


async def _name(session: AsyncSession, account_id: uuid.UUID) -> str:
    return str(await session.scalar(select(Account.display_name).where(Account.id == account_id)) or "Someone")


async def join_requested(session: AsyncSession, space: Space, requester_id: uuid.UUID, message: str) -> None:
    """Tell the space's facilitators that someone asks to join."""
    who = await _name(session, requester_id)
    facilitators = await session.scalars(
        select(SpaceMember.account_id).where(
            SpaceMember.space_id == space.id, SpaceMember.role == "facilitator", SpaceMember.status == "active"
        )
    )
    for account_id in list(facilitators):
        await notify(
            session,
            account_id=account_id,
            kind=Kind.JOIN_REQUEST,
            title=f"{who} asks to join {space.name}",
            body=message,
            link=f"/spaces/{space.id}",
        )


async def request_decided(session: AsyncSession, space: Space, requester_id: uuid.UUID, *, approved: bool) -> None:
    """Tell the requester how their request to join was answered."""
    await notify(
        session,
        account_id=requester_id,
        kind=Kind.REQUEST_DECIDED,
        title=f"Your request to join {space.name} was {'approved' if approved else 'declined'}",
        body="Welcome: the space is on your home page now." if approved else "",
        link=f"/spaces/{space.id}" if approved else "/",
    )


async def share_offered(
    session: AsyncSession, *, space_name: str, host_network_id: uuid.UUID, guest_network_id: uuid.UUID, accepted: bool
) -> None:
    """Tell the guest network's admins that a space is offered to (or, if trusted, shared with) them."""
    host = await session.scalar(select(Network.name).where(Network.id == host_network_id))
    guest = await session.scalar(select(Network.slug).where(Network.id == guest_network_id))
    admins = await session.scalars(
        select(NetworkMember.account_id).where(
            NetworkMember.network_id == guest_network_id, NetworkMember.role == "admin"
        )
    )
    verb = "shares" if accepted else "offers to share"
    for account_id in list(admins):
        await notify(
            session,
            account_id=account_id,
            kind=Kind.SHARE_OFFERED,
            title=f"{host} {verb} “{space_name}” with your network",
            body="" if accepted else "Accept or decline it on your network's page.",
            link=f"/networks/{guest}",
        )
