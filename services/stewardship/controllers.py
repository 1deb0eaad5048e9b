"""HTTP handlers of the stewardship area (thin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, put
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.persistence.session import on_commit
from services.stewardship import service
from services.stewardship.schemas import ArchiveOut, NetworkRemovalOut

Slug = Annotated[str, Parameter(max_length=80)]


class StewardshipController(Controller):
    """Remove a person from a network; archive and restore spaces (network admins)."""

    path = "/"
    tags = ["stewardship"]

    @delete(
        "/networks/{slug:str}/members/{account_id:uuid}",
        summary="Remove a person from the network: their memberships of its spaces end, live chat included",
        status_code=200,
    )
    async def remove(
        self, db_session: AsyncSession, actor: Actor, state: State, slug: Slug, account_id: uuid.UUID
    ) -> NetworkRemovalOut:
        out = await service.remove_from_network(db_session, actor, slug, account_id)
        chat = getattr(state, "chat", None)
        if chat is not None:
            # Their open websocket subscriptions end now on this node (other nodes at their next
            # periodic check), once the removal is committed.
            on_commit(db_session, chat.gateway.revalidate)
        return out

    @put(
        "/spaces/{space_id:uuid}/archive", summary="Archive a space: read-only, out of the directories", status_code=200
    )
    async def archive(self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> ArchiveOut:
        return await service.archive(db_session, actor, space_id)

    @delete("/spaces/{space_id:uuid}/archive", summary="Restore an archived space", status_code=200)
    async def restore(self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> ArchiveOut:
        return await service.restore(db_session, actor, space_id)
