"""SQL for accounts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account


async def get_by_email(session: AsyncSession, email: str) -> Account | None:
    """The account with this e-mail address (case-insensitive), or None."""
    result: Account | None = await session.scalar(select(Account).where(func.lower(Account.email) == email.lower()))
    return result
