"""All SQL of calendar feeds."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.persistence.models import CalendarFeed, Meeting, Network, Space, SpaceMember


async def feed_of(session: AsyncSession, account_id: uuid.UUID) -> CalendarFeed | None:
    """The account's feed token row, or None."""
    return await session.get(CalendarFeed, account_id)


async def account_for(session: AsyncSession, token_hash: str) -> uuid.UUID | None:
    """The account whose feed token hashes to ``token_hash``."""
    found: uuid.UUID | None = await session.scalar(
        select(CalendarFeed.account_id).where(CalendarFeed.token_hash == token_hash)
    )
    return found


async def replace_feed(session: AsyncSession, account_id: uuid.UUID, token_hash: str) -> dt.datetime:
    """Store the account's (new) token hash, replacing any earlier one; returns its creation time."""
    stmt = (
        insert(CalendarFeed)
        .values(account_id=account_id, token_hash=token_hash)
        .on_conflict_do_update(
            index_elements=[CalendarFeed.account_id],
            set_={"token_hash": token_hash, "created_at": dt.datetime.now(dt.UTC)},
        )
        .returning(CalendarFeed.created_at)
    )
    created: dt.datetime = (await session.execute(stmt)).scalar_one()
    return created


async def delete_feed(session: AsyncSession, account_id: uuid.UUID) -> bool:
    """Remove the account's feed token; True when there was one."""
    result = await session.execute(
        delete(CalendarFeed).where(CalendarFeed.account_id == account_id).returning(CalendarFeed.account_id)
    )
    return result.first() is not None


async def member_spaces(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str]]:
    """(space id, name, network zone) of every space the account is an active member or
    facilitator of, leaving out any space under one they are banned from (one query)."""
    banned = aliased(SpaceMember)
    rows = await session.execute(
        select(Space.id, Space.name, Network.time_zone)
        .join(SpaceMember, and_(SpaceMember.space_id == Space.id, SpaceMember.account_id == account_id))
        .join(Network, Network.id == Space.network_id)
        .where(
            SpaceMember.status == "active",
            ~exists().where(
                banned.account_id == account_id,
                banned.status == "banned",
                banned.space_id == Space.path.any_(),
            ),
        )
        .order_by(Space.name)
    )
    return [(r[0], r[1], r[2]) for r in rows.all()]


async def meetings_since(
    session: AsyncSession, space_ids: Sequence[uuid.UUID], since: dt.datetime
) -> Sequence[Meeting]:
    """Single meetings of these spaces starting at or after ``since``, cancelled ones included (a
    feed must carry the cancellation), by start."""
    if not space_ids:
        return []
    stmt = (
        select(Meeting)
        .where(Meeting.space_id.in_(space_ids), Meeting.starts_at >= since)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(5000)
    )
    return (await session.execute(stmt)).scalars().all()
