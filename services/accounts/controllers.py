"""HTTP handlers for the caller's own account."""

from __future__ import annotations

from litestar import get, patch
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts import service
from services.accounts.schemas import MeOut, MeUpdate
from services.accounts.service import RoomReadable
from services.auth.principal import Principal


@get("/me", summary="The signed-in account, its networks with roles", tags=["accounts"])
async def read_me(db_session: AsyncSession, principal: Principal, room_readable: RoomReadable) -> MeOut:
    """Who am I: account id, networks and roles, the spaces I may open."""
    return await service.me(db_session, principal, room_readable)


@patch("/me", summary="Change your own name and pronouns", tags=["accounts"])
async def update_me(
    db_session: AsyncSession, principal: Principal, data: MeUpdate, room_readable: RoomReadable
) -> MeOut:
    """Edit your display name and pronouns."""
    return await service.update_me(db_session, principal, data, room_readable)
