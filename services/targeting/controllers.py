"""HTTP handlers for template targeting and exemptions (thin: parse, call, shape)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Router, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.targeting import service
from services.targeting.schemas import ExemptionCreate, ExemptionList, ExemptionOut, TargetOut, TargetSet

SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]


class TargetingController(Controller):
    """What a network's template attachments bind, and the sub-trees exempt from them (admins)."""

    path = "/networks/{slug:str}"
    tags = ["policy"]

    @put("/templates/{template_id:uuid}/target", summary="Set what a template attachment binds (network admins)")
    async def set_target(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, template_id: uuid.UUID, data: TargetSet
    ) -> TargetOut:
        return await service.set_target(db_session, actor, slug, template_id, data)

    @get("/exemptions", summary="Sub-trees exempt from templates (network admins)")
    async def list_exemptions(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> ExemptionList:
        return await service.list_exemptions(db_session, actor, slug)

    @post("/exemptions", summary="Exempt a sub-tree from a template, or from all, with a reason", status_code=201)
    async def create_exemption(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: ExemptionCreate
    ) -> ExemptionOut:
        return await service.create_exemption(db_session, actor, slug, data)

    @delete("/exemptions/{exemption_id:uuid}", summary="End an exemption", status_code=204)
    async def delete_exemption(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, exemption_id: uuid.UUID
    ) -> None:
        await service.delete_exemption(db_session, actor, slug, exemption_id)


targeting_router = Router(path="/", route_handlers=[TargetingController], tags=["policy"])
"""Every targeting route, registered with one line in ``services.app._api_routes``."""
