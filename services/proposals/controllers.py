"""HTTP handlers of the proposals area (thin: parse, call, shape)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.proposals import service
from services.proposals.schemas import (
    AnswerBody,
    ApproveBody,
    DeclineBody,
    FacilitationAnswerOut,
    FacilitationRequestList,
    ProposalCreate,
    ProposalList,
    ProposalOut,
    QuestionBody,
)
from services.settings import Settings

Slug = Annotated[str, Parameter(max_length=80)]
Status = Annotated[
    Literal["pending", "question", "approved", "declined", "withdrawn"] | None,
    Parameter(description="Only this status"),
]


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class ProposalController(Controller):
    """Members propose groups; the network's admins ask, approve and decline."""

    path = "/networks/{slug:str}/proposals"
    tags = ["proposals"]

    @post("/", summary="Propose a group (any member of the network)", status_code=201)
    async def propose(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, actor: Actor, slug: Slug, data: ProposalCreate
    ) -> ProposalOut:
        return await service.propose(db_session, _settings(request), actor, slug, data)

    @get("/", summary="Proposals: all of them for admins, your own for members")
    async def list_proposals(
        self, db_session: AsyncSession, actor: Actor, slug: Slug, status: Status = None
    ) -> ProposalList:
        return await service.list_proposals(db_session, actor, slug, status)

    @get("/{proposal_id:uuid}", summary="One proposal (its proposer, the network's admins)")
    async def read(self, db_session: AsyncSession, actor: Actor, slug: Slug, proposal_id: uuid.UUID) -> ProposalOut:
        return await service.read(db_session, actor, slug, proposal_id)

    @post("/{proposal_id:uuid}/question", summary="Ask the proposer a question (admins)", status_code=200)
    async def ask(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        actor: Actor,
        slug: Slug,
        proposal_id: uuid.UUID,
        data: QuestionBody,
    ) -> ProposalOut:
        return await service.ask(db_session, _settings(request), actor, slug, proposal_id, data=data)

    @post("/{proposal_id:uuid}/answer", summary="Answer the admins' question (the proposer)", status_code=200)
    async def answer(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        actor: Actor,
        slug: Slug,
        proposal_id: uuid.UUID,
        data: AnswerBody,
    ) -> ProposalOut:
        return await service.answer(db_session, _settings(request), actor, slug, proposal_id, data=data)

    @post(
        "/{proposal_id:uuid}/approve",
        summary="Approve: the space is created under the templates (admins)",
        status_code=200,
    )
    async def approve(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        actor: Actor,
        slug: Slug,
        proposal_id: uuid.UUID,
        data: ApproveBody | None = None,
    ) -> ProposalOut:
        return await service.approve(
            db_session, _settings(request), actor, slug, proposal_id, data=data or ApproveBody()
        )

    @post("/{proposal_id:uuid}/decline", summary="Decline with a reason (admins)", status_code=200)
    async def decline(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        actor: Actor,
        slug: Slug,
        proposal_id: uuid.UUID,
        data: DeclineBody,
    ) -> ProposalOut:
        return await service.decline(db_session, _settings(request), actor, slug, proposal_id, data=data)

    @post("/{proposal_id:uuid}/withdraw", summary="Withdraw your proposal", status_code=200)
    async def withdraw(self, db_session: AsyncSession, actor: Actor, slug: Slug, proposal_id: uuid.UUID) -> ProposalOut:
        return await service.withdraw(db_session, actor, slug, proposal_id)


class FacilitationRequestController(Controller):
    """Proposals that name you as a facilitator: agree or decline (only you, for yourself)."""

    path = "/me/facilitation-requests"
    tags = ["proposals"]

    @get("/", summary="Proposals asking you to facilitate, waiting for your answer")
    async def list_requests(self, db_session: AsyncSession, actor: Actor) -> FacilitationRequestList:
        return await service.facilitation_requests(db_session, actor)

    @post(
        "/{proposal_id:uuid}/accept",
        summary="Agree to facilitate the proposed group (a facilitator of the space once it exists)",
        status_code=200,
    )
    async def accept(self, db_session: AsyncSession, actor: Actor, proposal_id: uuid.UUID) -> FacilitationAnswerOut:
        return await service.answer_facilitation(db_session, actor, proposal_id, accept=True)

    @post("/{proposal_id:uuid}/decline", summary="Decline to facilitate the proposed group", status_code=200)
    async def decline(self, db_session: AsyncSession, actor: Actor, proposal_id: uuid.UUID) -> FacilitationAnswerOut:
        return await service.answer_facilitation(db_session, actor, proposal_id, accept=False)
