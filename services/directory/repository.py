"""SQL of the directory area."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Network, NetworkDirectory, PublicSpace, Space


async def settings_of(session: AsyncSession, network_id: uuid.UUID) -> NetworkDirectory | None:
    """The network's directory row (None until an admin first switches it)."""
    found: NetworkDirectory | None = await session.get(NetworkDirectory, network_id)
    return found


async def ensure_settings(session: AsyncSession, network_id: uuid.UUID) -> NetworkDirectory:
    """The directory row, created with a fresh short code on first use (the code never changes after)."""
    row = await settings_of(session, network_id)
    if row is None:
        row = NetworkDirectory(network_id=network_id, public=False, code=secrets.token_urlsafe(6))
        session.add(row)
        await session.flush()
    return row


async def by_code(session: AsyncSession, code: str) -> str | None:
    """The slug of the network whose short code this is."""
    found = await session.scalar(
        select(Network.slug)
        .join(NetworkDirectory, NetworkDirectory.network_id == Network.id)
        .where(NetworkDirectory.code == code)
    )
    return str(found) if found else None


async def public_ids(session: AsyncSession, network_id: uuid.UUID) -> list[uuid.UUID]:
    """Spaces the network lists publicly."""
    return list(await session.scalars(select(PublicSpace.space_id).where(PublicSpace.network_id == network_id)))


async def public_spaces(session: AsyncSession, network_id: uuid.UUID) -> list[tuple[Space, str]]:
    """Listed spaces marked public, with their how-to-join words, by name (one query)."""
    rows = await session.execute(
        select(Space, PublicSpace.how_to_join)
        .join(PublicSpace, PublicSpace.space_id == Space.id)
        .where(PublicSpace.network_id == network_id, Space.visibility == "listed", Space.archived_at.is_(None))
        .order_by(Space.name, Space.id)
    )
    return [(s, str(h)) for s, h in rows]


async def set_public(session: AsyncSession, space: Space, how_to_join: str) -> None:
    """List a space publicly (or update its words)."""
    row = await session.get(PublicSpace, space.id)
    if row is None:
        session.add(PublicSpace(space_id=space.id, network_id=space.network_id, how_to_join=how_to_join))
    else:
        row.how_to_join = how_to_join
    await session.flush()


async def unset_public(session: AsyncSession, space_id: uuid.UUID) -> bool:
    """Take a space out of the public directory; False when it was not in it."""
    result = await session.execute(delete(PublicSpace).where(PublicSpace.space_id == space_id))
    return bool(getattr(result, "rowcount", 0))


async def archived_ids(session: AsyncSession, network_id: uuid.UUID) -> set[uuid.UUID]:
    """Archived spaces of the network (kept out of the directories)."""
    return set(
        await session.scalars(select(Space.id).where(Space.network_id == network_id, Space.archived_at.is_not(None)))
    )
