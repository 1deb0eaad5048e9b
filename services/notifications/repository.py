"""SQL of the notifications area."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, MailSuppression, Notification, NotificationPreference


async def channel(session: AsyncSession, account_id: uuid.UUID, kind: str) -> str | None:
    """The stored channel for (account, kind), or None for the default."""
    return await session.scalar(
        select(NotificationPreference.channel).where(
            NotificationPreference.account_id == account_id, NotificationPreference.kind == kind
        )
    )


async def channels(session: AsyncSession, account_id: uuid.UUID) -> dict[str, str]:
    """Every stored channel of an account."""
    rows = await session.execute(
        select(NotificationPreference.kind, NotificationPreference.channel).where(
            NotificationPreference.account_id == account_id
        )
    )
    return {str(kind): str(ch) for kind, ch in rows}


async def set_channel(session: AsyncSession, account_id: uuid.UUID, kind: str, value: str) -> None:
    """Store a channel (insert or replace)."""
    stmt = insert(NotificationPreference).values(account_id=account_id, kind=kind, channel=value)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[NotificationPreference.account_id, NotificationPreference.kind],
            set_={"channel": value, "updated_at": func.now()},
        )
    )


async def recipient(session: AsyncSession, account_id: uuid.UUID) -> tuple[str, bool] | None:
    """(e-mail, active) of an account."""
    row = (
        await session.execute(select(Account.email, Account.is_active).where(Account.id == account_id))
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def accounts_by_email(session: AsyncSession, address: str) -> list[uuid.UUID]:
    """Accounts with this address (case-insensitive)."""
    return list(await session.scalars(select(Account.id).where(func.lower(Account.email) == address.lower())))


async def suppress(session: AsyncSession, address: str, kind: str) -> None:
    """Stop ``kind`` mail to ``address`` (idempotent)."""
    await session.execute(insert(MailSuppression).values(address=address.lower(), kind=kind).on_conflict_do_nothing())


async def is_suppressed(session: AsyncSession, address: str, kind: str) -> bool:
    """Whether ``address`` unsubscribed from ``kind``."""
    found = await session.scalar(
        select(MailSuppression.kind).where(MailSuppression.address == address.lower(), MailSuppression.kind == kind)
    )
    return found is not None


async def listing(session: AsyncSession, account_id: uuid.UUID, limit: int) -> tuple[list[Notification], int]:
    """Newest notifications and the unread count."""
    items = list(
        await session.scalars(
            select(Notification)
            .where(Notification.account_id == account_id)
            .order_by(Notification.created_at.desc(), Notification.id)
            .limit(limit)
        )
    )
    unread = await session.scalar(
        select(func.count()).where(Notification.account_id == account_id, Notification.read_at.is_(None))
    )
    return items, int(unread or 0)


async def mark_read(session: AsyncSession, account_id: uuid.UUID, notification_id: uuid.UUID, now: dt.datetime) -> bool:
    """Mark one of the account's notifications read; False when it is not theirs or missing."""
    found = await session.scalar(
        select(Notification.id).where(Notification.id == notification_id, Notification.account_id == account_id)
    )
    if found is None:
        return False
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return True
