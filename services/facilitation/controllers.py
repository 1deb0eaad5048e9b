"""HTTP handlers of the facilitation area (thin)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.facilitation import service
from services.facilitation.schemas import (
    CompensationSet,
    FacilitatorList,
    OutsideFacilitatorOut,
    TrainingCreate,
    TrainingOut,
)

Slug = Annotated[str, Parameter(max_length=80)]


class FacilitationController(Controller):
    """The network's facilitators, their training and compensation (network admins)."""

    path = "/"
    tags = ["facilitators"]

    @get("/networks/{slug:str}/facilitators", summary="Facilitators with training status and their spaces (admins)")
    async def facilitators(self, db_session: AsyncSession, actor: Actor, slug: Slug) -> FacilitatorList:
        return await service.facilitators(db_session, actor, slug, dt.datetime.now(dt.UTC).date())

    @post("/networks/{slug:str}/trainings", summary="Record a facilitator's training (admins)", status_code=201)
    async def record_training(
        self, db_session: AsyncSession, actor: Actor, slug: Slug, data: TrainingCreate
    ) -> TrainingOut:
        return await service.record_training(db_session, actor, slug, data, dt.datetime.now(dt.UTC).date())

    @delete("/networks/{slug:str}/trainings/{training_id:uuid}", summary="Remove a training record", status_code=204)
    async def delete_training(self, db_session: AsyncSession, actor: Actor, slug: Slug, training_id: uuid.UUID) -> None:
        await service.delete_training(db_session, actor, slug, training_id)

    @put(
        "/networks/{slug:str}/compensation/{account_id:uuid}",
        summary="Record whether the network pays a facilitator (admins only see this)",
        status_code=204,
    )
    async def compensation(
        self, db_session: AsyncSession, actor: Actor, slug: Slug, account_id: uuid.UUID, data: CompensationSet
    ) -> None:
        await service.set_compensation(db_session, actor, slug, account_id, data)

    @put(
        "/spaces/{space_id:uuid}/outside-facilitators/{account_id:uuid}",
        summary="Make someone outside the network a facilitator of this space (network admins)",
        status_code=200,
    )
    async def add_outside(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID
    ) -> OutsideFacilitatorOut:
        return await service.add_outside_facilitator(db_session, actor, space_id, account_id)
