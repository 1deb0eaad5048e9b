"""HTTP handlers for sharing agreements (thin: parse, call the service, shape)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, Router, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.sharing import service
from services.sharing.schemas import ShareAccept, ShareCreate, ShareList, ShareOut, TrustedList, TrustedOut

SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]
HostSlug = Annotated[str, Parameter(description="The slug of the network to trust", max_length=80)]


class SpaceSharesController(Controller):
    """Offer a space to another network."""

    path = "/spaces/{space_id:uuid}/shares"
    tags = ["sharing"]

    @post(
        "/",
        summary="Offer the space (optionally with its sub-spaces) to another network (host admins)",
        status_code=201,
    )
    async def offer(self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: ShareCreate) -> ShareOut:
        return await service.offer(db_session, actor, space_id, data)


class NetworkSharesController(Controller):
    """A network's agreements, both directions, and its answers to offers."""

    path = "/networks/{slug:str}"
    tags = ["sharing"]

    @get("/shares", summary="Agreements the network offered or received: pending, active, ended, expired (admins)")
    async def list_shares(self, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> ShareList:
        return await service.list_shares(db_session, actor, slug)

    @post(
        "/shares/{share_id:uuid}/accept",
        summary="Accept an offer, with optional guest constraints (guest admins)",
        status_code=200,
    )
    async def accept(
        self,
        db_session: AsyncSession,
        actor: Actor,
        slug: SlugParam,
        share_id: uuid.UUID,
        data: ShareAccept | None = None,
    ) -> ShareOut:
        return await service.accept(db_session, actor, slug, share_id, data or ShareAccept())

    @post("/shares/{share_id:uuid}/decline", summary="Decline an offer (guest admins)", status_code=200)
    async def decline(self, db_session: AsyncSession, actor: Actor, slug: SlugParam, share_id: uuid.UUID) -> ShareOut:
        return await service.decline(db_session, actor, slug, share_id)

    @get("/trusted-networks", summary="Networks whose offers are accepted at once (admins)")
    async def trusted(self, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> TrustedList:
        return await service.trusted(db_session, actor, slug)

    @put("/trusted-networks/{host_slug:str}", summary="Trust a network: its offers are accepted at once (admins)")
    async def trust(
        self, db_session: AsyncSession, actor: Actor, slug: SlugParam, host_slug: HostSlug
    ) -> Response[TrustedOut]:
        out, created = await service.trust(db_session, actor, slug, host_slug)
        return Response(out, status_code=201 if created else 200)

    @delete("/trusted-networks/{host_slug:str}", summary="Stop trusting a network (admins)")
    async def untrust(self, db_session: AsyncSession, actor: Actor, slug: SlugParam, host_slug: HostSlug) -> None:
        await service.untrust(db_session, actor, slug, host_slug)


class ShareController(Controller):
    """One agreement."""

    path = "/shares/{share_id:uuid}"
    tags = ["sharing"]

    @delete(
        "/",
        summary="End an agreement or withdraw an offer (either side's admins); guests lose access at once",
        status_code=200,
    )
    async def end(self, db_session: AsyncSession, actor: Actor, share_id: uuid.UUID) -> ShareOut:
        # Open websocket subscriptions of removed guests end once this commits, on every node
        # (services.chat.recheck watches the session's writes).
        return await service.end(db_session, actor, share_id)


sharing_router = Router(
    path="/", route_handlers=[SpaceSharesController, NetworkSharesController, ShareController], tags=["sharing"]
)
"""Every sharing route, registered with one line in ``services.app._api_routes``."""
