"""HTTP: GET /search."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.auth.resolve import READ_ONLY
from services.search import service
from services.search.schemas import SearchPage


@get("/search", summary="Search chat messages and resources you may read", tags=["search"], opt={READ_ONLY: True})
async def search(
    *,
    db_session: AsyncSession,
    actor: Actor,
    q: Annotated[str, Parameter(min_length=1, max_length=200, description='words; "quotes", or, -not work')],
    space: Annotated[uuid.UUID | None, Parameter(description="only this space")] = None,
    page: Annotated[int, Parameter(ge=1, le=1000)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=50)] = 20,
) -> SearchPage:
    """Ranked, highlighted hits; nothing from a space whose chat you may not read."""
    return await service.search(db_session, actor, q, space=space, page=page, limit=limit)
