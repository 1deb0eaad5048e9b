"""HTTP handlers for networks (thin: parse, call the service, shape)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.networks import repository, service
from services.networks.schemas import (
    MemberAdd,
    MemberOut,
    MemberRoleSet,
    NetworkCreate,
    NetworkList,
    NetworkOut,
    NetworkTimeZone,
    Roster,
)
from services.settings import Settings

SlugParam = Annotated[str, Parameter(description="The network's slug, e.g. 'kent-sd'", max_length=80)]


class NetworkController(Controller):
    """Networks: the independent organisations of the federation."""

    path = "/networks"
    tags = ["networks"]

    @post("/", summary="Create a network (operators)", status_code=201)
    async def create(self, db_session: AsyncSession, actor: Actor, state: State, data: NetworkCreate) -> NetworkOut:
        settings: Settings = state.settings
        return await service.create_network(db_session, actor, data, default_time_zone=settings.default_time_zone)

    @get("/", summary="List networks")
    async def list_networks(self, db_session: AsyncSession, actor: Actor) -> NetworkList:
        return NetworkList(items=[service.to_out(n, actor) for n in await repository.list_all(db_session)])

    @get("/{slug:str}", summary="Read a network")
    async def read(self, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> NetworkOut:
        return service.to_out(await service.require_network(db_session, slug), actor)

    @get("/{slug:str}/members", summary="The network's people and roles (network admins and facilitators)")
    async def members(self, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> Roster:
        return await service.roster(db_session, actor, slug)

    @post("/{slug:str}/members", summary="Add an existing account by e-mail (network admins)", status_code=201)
    async def add_member(self, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: MemberAdd) -> MemberOut:
        return await service.add_member_by_email(db_session, actor, slug, data)

    @put("/{slug:str}/members/{account_id:uuid}", summary="Add a member or change a member's role (network admins)")
    async def set_member(
        self, db_session: AsyncSession, actor: Actor, slug: SlugParam, account_id: uuid.UUID, data: MemberRoleSet
    ) -> Response[MemberOut]:
        out = await service.set_member_role(db_session, actor, slug, account_id, data)
        return Response(out, status_code=201 if out.created else 200)

    @put("/{slug:str}/time-zone", summary="Set the network's IANA time zone (network admins)")
    async def set_time_zone(
        self, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: NetworkTimeZone
    ) -> NetworkOut:
        return await service.set_time_zone(db_session, actor, slug, data)
