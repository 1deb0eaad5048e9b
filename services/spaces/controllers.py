"""HTTP handlers for spaces, their hierarchy, policy view and membership (thin: parse, call, shape)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, Router, delete, get, patch, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.spaces import membership, service
from services.spaces.schemas import (
    FacilitatorSet,
    HierarchyOut,
    InvitationCreate,
    JoinBody,
    JoinOut,
    MemberList,
    MemberOut,
    PolicyOut,
    RemovalOut,
    RequestList,
    RequestOut,
    SpaceCreate,
    SpaceList,
    SpaceOut,
    SpacePatch,
)

SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]
MaxDepth = Annotated[int | None, Parameter(ge=0, le=100, description="Levels below the space (default: all)")]
RequestStatus = Annotated[
    str | None,
    Parameter(pattern="^(pending|approved|declined|accepted|cancelled)$", description="Filter"),
]


class NetworkSpacesController(Controller):
    """A network's spaces: the directory and creation."""

    path = "/networks/{slug:str}/spaces"
    tags = ["spaces"]

    @post("/", summary="Create a space (network admins; facilitators of the parent)", status_code=201)
    async def create(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: SpaceCreate) -> SpaceOut:
        return await service.create_space(db_session, actor, slug, data)

    @get("/", summary="The directory: spaces you may see, without member information")
    async def directory(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> SpaceList:
        return await service.directory(db_session, actor, slug)


class SpaceController(Controller):
    """One space: read, change, hierarchy, effective policy, facilitators, membership."""

    path = "/spaces/{space_id:uuid}"
    tags = ["spaces"]

    @get("/", summary="Read a space (404 if you may not see it)")
    async def read(self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> SpaceOut:
        return await service.read_space(db_session, actor, space_id)

    @patch("/", summary="Change a space's settings, name, visibility, sub-space constraints or parent")
    async def update(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: SpacePatch
    ) -> SpaceOut:
        return await service.update_space(db_session, actor, space_id, data)

    @get("/hierarchy", summary="The visible subtree, in one query")
    async def hierarchy(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, max_depth: MaxDepth = None
    ) -> HierarchyOut:
        return await service.hierarchy(db_session, actor, space_id, max_depth)

    @get("/policy", summary="Effective constraints, each with the template or ancestor that set it")
    async def policy(self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> PolicyOut:
        return await service.read_policy(db_session, actor, space_id)

    @put("/facilitators/{account_id:uuid}", summary="Add a facilitator (or update its trained mark)")
    async def add_facilitator(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        account_id: uuid.UUID,
        data: FacilitatorSet | None = None,
    ) -> Response[MemberOut]:
        out, created = await membership.set_facilitator(
            db_session, actor, space_id, account_id, data or FacilitatorSet()
        )
        return Response(out, status_code=201 if created else 200)

    @delete("/facilitators/{account_id:uuid}", summary="Remove a facilitator (refused below the policy's minimum)")
    async def remove_facilitator(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID
    ) -> None:
        await membership.remove_facilitator(db_session, actor, space_id, account_id)

    @post("/join", summary="Join, accept an invitation, or request to join", status_code=200)
    async def join(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: JoinBody | None = None
    ) -> JoinOut:
        return await membership.join(db_session, actor, space_id, data or JoinBody())

    @post("/leave", summary="Leave the space and every space below it", status_code=200)
    async def leave(self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> RemovalOut:
        return await membership.leave(db_session, actor, space_id)

    @get("/members", summary="Member list (the space's members and facilitators only)")
    async def members(self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> MemberList:
        return await membership.members(db_session, actor, space_id)

    @delete("/members/{account_id:uuid}", summary="Remove a member (cascades down the tree)", status_code=200)
    async def remove_member(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID
    ) -> RemovalOut:
        return await membership.remove_member(db_session, actor, space_id, account_id)

    @put("/bans/{account_id:uuid}", summary="Ban an account (cascades down the tree)")
    async def ban(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID
    ) -> RemovalOut:
        return await membership.ban(db_session, actor, space_id, account_id)

    @delete("/bans/{account_id:uuid}", summary="Lift a ban")
    async def unban(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID
    ) -> None:
        await membership.unban(db_session, actor, space_id, account_id)

    @get("/requests", summary="Join requests and invitations (facilitators)")
    async def requests(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, status: RequestStatus = None
    ) -> RequestList:
        return await membership.list_requests(db_session, actor, space_id, status)

    @get("/requests/{request_id:uuid}", summary="A request's state (the requester, facilitators)")
    async def read_request(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, request_id: uuid.UUID
    ) -> RequestOut:
        return await membership.read_request(db_session, actor, space_id, request_id)

    @post("/requests/{request_id:uuid}/approve", summary="Approve a join request (facilitators)", status_code=200)
    async def approve(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, request_id: uuid.UUID
    ) -> RequestOut:
        return await membership.decide_request(db_session, actor, space_id, request_id, approve=True)

    @post(
        "/requests/{request_id:uuid}/decline",
        summary="Decline a request (facilitators), withdraw your request, or turn down your invitation",
        status_code=200,
    )
    async def decline(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, request_id: uuid.UUID
    ) -> RequestOut:
        return await membership.decide_request(db_session, actor, space_id, request_id, approve=False)

    @post("/invitations", summary="Invite an account (facilitators, network admins)", status_code=201)
    async def invite(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: InvitationCreate
    ) -> RequestOut:
        return await membership.invite(db_session, actor, space_id, data)


spaces_router = Router(path="/", route_handlers=[NetworkSpacesController, SpaceController], tags=["spaces"])
"""Every spaces route, registered with one line in ``services.app._api_routes``."""
