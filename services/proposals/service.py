"""Proposal use cases: propose, list, read, ask, answer, approve (creates the space), decline, withdraw.

Decisions come from :mod:`federation.proposals`. Approving creates the space through the
spaces area's own create-space use case, so the network's templates, nesting limits and
facilitator rules apply exactly as for a space an admin creates by hand; if they refuse, the
approval is refused with their 422 and the proposal stays open.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.notifications import Kind
from federation.permissions import Actor
from federation.proposals import (
    FacilitatorAnswer,
    ProposalStatus,
    ProposalStep,
    answer_problem,
    can_act_as_proposer,
    can_answer_as_facilitator,
    can_decide_proposals,
    can_propose,
    can_read_proposal,
    facilitators_on_approval,
    next_status,
)
from federation.space_permissions import may_belong
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.networks.service import require_network
from services.notifications.service import notify
from services.persistence.models import Network, SpaceMember, SpaceProposal
from services.proposals import repository
from services.proposals.schemas import (
    AnswerBody,
    ApproveBody,
    DeclineBody,
    FacilitationAnswerOut,
    FacilitationRequest,
    FacilitationRequestList,
    FacilitatorAnswerOut,
    ProposalCreate,
    ProposalList,
    ProposalOut,
    QuestionBody,
)
from services.settings import Settings
from services.spaces import access
from services.spaces.schemas import SpaceCreate
from services.spaces.service import create_space


def _field(field: str, message: str, code: str = "validation_error") -> Unprocessable:
    return Unprocessable(message, code=code, details={"field": field})


Answers = list[tuple[uuid.UUID, str, str, dt.datetime | None]]


def _out(p: SpaceProposal, slug: str, proposer_name: str, answers: Answers) -> ProposalOut:
    return ProposalOut(
        id=p.id,
        network=slug,
        name=p.name,
        kind=p.kind,  # type: ignore[arg-type]
        purpose=p.purpose,
        parent_id=p.parent_id,
        facilitators=list(p.facilitator_ids),
        proposer_id=p.proposed_by,
        proposer_name=proposer_name,
        i_will_facilitate=p.proposer_facilitates,
        status=p.status,  # type: ignore[arg-type]
        question=p.question,
        answer=p.answer,
        reason=p.reason,
        space_id=p.space_id,
        created_at=p.created_at,
        decided_at=p.decided_at,
        facilitator_answers=[
            FacilitatorAnswerOut(account_id=a, display_name=n, answer=ans, answered_at=at)  # type: ignore[arg-type]
            for a, n, ans, at in answers
        ],
    )


async def _tell_admins(
    session: AsyncSession, settings: Settings, network: Network, p: SpaceProposal, *, title: str, body: str
) -> None:
    for admin in await repository.admins(session, network.id):
        if admin != p.proposed_by:
            await notify(
                session,
                account_id=admin,
                kind=Kind.PROPOSAL_SUBMITTED,
                title=title,
                body=body,
                link=f"/networks/{network.slug}#proposals",
            )


async def _tell_proposer(
    session: AsyncSession, settings: Settings, network: Network, p: SpaceProposal, *, title: str, body: str
) -> None:
    link = f"/spaces/{p.space_id}" if p.space_id else f"/networks/{network.slug}#proposals"
    await notify(session, account_id=p.proposed_by, kind=Kind.PROPOSAL_DECIDED, title=title, body=body, link=link)


def _record(
    session: AsyncSession, actor: Actor, network: Network, p: SpaceProposal, action: str, **after: object
) -> None:
    audit.record(
        session,
        actor_id=actor.account_id,
        action=f"proposal.{action}",
        target_type="proposal",
        target_id=p.id,
        network_id=network.id,
        after={"name": p.name, "status": p.status, **after},
    )


async def propose(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, data: ProposalCreate
) -> ProposalOut:
    """A member proposes a group. 422 names the field for a taken name, an empty purpose, a parent
    the proposer cannot see, or proposed facilitators outside the network."""
    network = await require_network(session, slug)
    if not can_propose(actor, network.id):
        raise Forbidden(f"Only members of network '{slug}' can propose a group there.", code="forbidden")
    name = data.name.strip()
    if not name:
        raise _field("name", "Give the group a name.")
    taken = await repository.name_taken(session, network.id, name)
    if taken is not None:
        what = "a space" if taken == "space" else "an open proposal"
        raise _field(
            "name", f"There is already {what} called '{name}' in this network; choose another name.", code="name_taken"
        )
    purpose = data.purpose.strip()
    if not purpose:
        raise _field("purpose", "Say in a sentence or two what the group is for and who it is for.")
    if data.parent_id is not None:
        try:
            ctx = await access.load(session, actor, data.parent_id)
        except NotFound:
            ctx = None
        if ctx is None or ctx.space.network_id != network.id:
            raise _field(
                "parent_id",
                f"No space with id {data.parent_id} is visible to you in network '{slug}'.",
                code="parent_not_found",
            )
    others = [f for f in dict.fromkeys(data.facilitators) if f != actor.account_id]
    outside = set(others) - await repository.network_members(session, network.id, others)
    if outside:
        raise Unprocessable(
            f"Proposed facilitators must be members of network '{slug}'; "
            f"{', '.join(sorted(map(str, outside)))} are not.",
            code="facilitator_not_in_network",
            details={"field": "facilitators", "accounts": sorted(map(str, outside))},
        )
    p = SpaceProposal(
        id=uuid.uuid4(),
        network_id=network.id,
        proposed_by=actor.account_id,
        name=name,
        kind=data.kind,
        purpose=purpose,
        parent_id=data.parent_id,
        facilitator_ids=others,
        proposer_facilitates=data.i_will_facilitate,
        status=ProposalStatus.PENDING.value,
    )
    session.add(p)
    await session.flush()
    await session.refresh(p)
    # Each proposed facilitator is asked now, while the admins decide: they see who agreed, and a
    # template's facilitator minimum can count them when the space is created.
    repository.ask_facilitators(session, p.id, others)
    await session.flush()
    who = await repository.proposer_name(session, actor.account_id)
    await _tell_admins(session, settings, network, p, title=f"{who} proposes a group: {name}", body=purpose)
    for account_id in others:
        await notify(
            session,
            account_id=account_id,
            kind=Kind.FACILITATION_REQUEST,
            title=f"{who} asks you to facilitate a proposed group: {name}",
            body=f"{purpose}\n\nAgree or decline on your home page; nobody facilitates without agreeing.",
            link="/#facilitation-requests",
        )
    _record(session, actor, network, p, "create")
    return await read(session, actor, slug, p.id)


async def list_proposals(session: AsyncSession, actor: Actor, slug: str, status: str | None) -> ProposalList:
    """Admins: every proposal of the network; members: their own."""
    network = await require_network(session, slug)
    if can_decide_proposals(actor, network.id):
        rows = await repository.listing(session, network.id, None, status)
    elif can_propose(actor, network.id):
        rows = await repository.listing(session, network.id, actor.account_id, status)
    else:
        raise Forbidden(f"Only members of network '{slug}' see proposals there.", code="forbidden")
    answers = await repository.answers(session, [p.id for p, _ in rows])
    return ProposalList(items=[_out(p, slug, n, answers.get(p.id, [])) for p, n in rows])


async def _load(
    session: AsyncSession, actor: Actor, slug: str, proposal_id: uuid.UUID, *, lock: bool = False
) -> tuple[Network, SpaceProposal]:
    network = await require_network(session, slug)
    p = await repository.get(session, network.id, proposal_id, lock=lock)
    if p is None or not can_read_proposal(actor, network.id, p.proposed_by):
        raise NotFound(f"No proposal with id {proposal_id} is visible to you.", code="proposal_not_found")
    return network, p


def _step(p: SpaceProposal, step: ProposalStep) -> ProposalStatus:
    after = next_status(ProposalStatus(p.status), step)
    if after is None:
        raise Conflict(f"This proposal is {p.status}; it cannot be {step.value}ed now.", code="proposal_not_open")
    return after


async def read(session: AsyncSession, actor: Actor, slug: str, proposal_id: uuid.UUID) -> ProposalOut:
    """One proposal (its proposer, the network's admins)."""
    _, p = await _load(session, actor, slug, proposal_id)
    answers = await repository.answers(session, [p.id])
    return _out(p, slug, await repository.proposer_name(session, p.proposed_by), answers.get(p.id, []))


def _must_decide(actor: Actor, network: Network) -> None:
    if not can_decide_proposals(actor, network.id):
        raise Forbidden("Only the network's admins decide proposals.", code="forbidden")


async def ask(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, proposal_id: uuid.UUID, *, data: QuestionBody
) -> ProposalOut:
    """An admin asks the proposer a question (the proposal waits for the answer)."""
    network, p = await _load(session, actor, slug, proposal_id, lock=True)
    _must_decide(actor, network)
    if not data.question.strip():
        raise _field("question", "Write the question for the proposer.")
    p.status, p.question, p.answer = _step(p, ProposalStep.ASK).value, data.question.strip(), None
    await session.flush()
    await _tell_proposer(
        session, settings, network, p, title=f"A question about your proposed group {p.name}", body=p.question
    )
    _record(session, actor, network, p, "ask")
    return await read(session, actor, slug, proposal_id)


async def answer(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, proposal_id: uuid.UUID, *, data: AnswerBody
) -> ProposalOut:
    """The proposer answers; the proposal goes back to the admins."""
    network, p = await _load(session, actor, slug, proposal_id, lock=True)
    if not can_act_as_proposer(actor, p.proposed_by):
        raise Forbidden("Only the proposer answers questions about a proposal.", code="forbidden")
    if not data.answer.strip():
        raise _field("answer", "Write your answer to the admins' question.")
    p.status, p.answer = _step(p, ProposalStep.ANSWER).value, data.answer.strip()
    await session.flush()
    await _tell_admins(
        session, settings, network, p, title=f"An answer about the proposed group {p.name}", body=p.answer
    )
    _record(session, actor, network, p, "answer")
    return await read(session, actor, slug, proposal_id)


async def approve(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, proposal_id: uuid.UUID, *, data: ApproveBody
) -> ProposalOut:
    """Create the space (under the network's templates) and mark the proposal approved.

    The proposer facilitates if they agreed, with the proposed facilitators who accepted and are
    still in the network (``federation.proposals.facilitators_on_approval``); if nobody is left,
    the approving admin facilitates. Those who have not answered yet are reminded and can still
    accept: they then join the space as facilitators.
    """
    network, p = await _load(session, actor, slug, proposal_id, lock=True)
    _must_decide(actor, network)
    status = _step(p, ProposalStep.APPROVE)
    if await repository.name_taken(session, network.id, p.name) == "space":
        raise _field(
            "name",
            f"A space called '{p.name}' was created meanwhile; decline this proposal or rename that space.",
            code="name_taken",
        )
    answered = (await repository.answers(session, [p.id])).get(p.id, [])
    answers = {a: FacilitatorAnswer(ans) for a, _, ans, _ in answered}
    present = await repository.network_members(session, network.id, [p.proposed_by, *answers])
    facilitators = facilitators_on_approval(p.proposed_by, p.proposer_facilitates, answers, present)
    created = await create_space(
        session,
        actor,
        slug,
        SpaceCreate(
            name=p.name,
            kind=p.kind,  # type: ignore[arg-type]
            parent_id=p.parent_id,
            template_id=data.template_id,
            join_mode=data.join_mode,
            visibility=data.visibility,
            description=p.purpose,
            facilitators=list(facilitators) if facilitators else None,
        ),
    )
    p.status, p.space_id = status.value, created.id
    p.decided_by, p.decided_at = actor.account_id, dt.datetime.now(dt.UTC)
    await session.flush()
    await _tell_proposer(
        session,
        settings,
        network,
        p,
        title=f"Your proposed group {p.name} was approved",
        body="The space exists now" + (" and you facilitate it." if p.proposed_by in facilitators else "."),
    )
    for account_id, answer in answers.items():
        if answer is FacilitatorAnswer.PENDING and account_id in present:
            await notify(
                session,
                account_id=account_id,
                kind=Kind.FACILITATION_REQUEST,
                title=f"{p.name} was approved: will you facilitate it?",
                body="The group exists now. Agree on your home page to become one of its facilitators.",
                link="/#facilitation-requests",
            )
    _record(session, actor, network, p, "approve", space_id=str(created.id))
    return await read(session, actor, slug, proposal_id)


async def decline(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, proposal_id: uuid.UUID, *, data: DeclineBody
) -> ProposalOut:
    """Decline with a reason the proposer sees."""
    network, p = await _load(session, actor, slug, proposal_id, lock=True)
    _must_decide(actor, network)
    reason = data.reason.strip()
    if not reason:
        raise _field("reason", "Say why, so the proposer can improve the idea or understand the decision.")
    p.status, p.reason = _step(p, ProposalStep.DECLINE).value, reason
    p.decided_by, p.decided_at = actor.account_id, dt.datetime.now(dt.UTC)
    await session.flush()
    await _tell_proposer(session, settings, network, p, title=f"Your proposed group {p.name} was declined", body=reason)
    _record(session, actor, network, p, "decline")
    return await read(session, actor, slug, proposal_id)


async def withdraw(session: AsyncSession, actor: Actor, slug: str, proposal_id: uuid.UUID) -> ProposalOut:
    """The proposer withdraws an open proposal."""
    network, p = await _load(session, actor, slug, proposal_id, lock=True)
    if not can_act_as_proposer(actor, p.proposed_by):
        raise Forbidden("Only the proposer withdraws a proposal.", code="forbidden")
    p.status = _step(p, ProposalStep.WITHDRAW).value
    await session.flush()
    _record(session, actor, network, p, "withdraw")
    return await read(session, actor, slug, proposal_id)


# --- proposed facilitators agree or decline ------------------------------------------------------


async def facilitation_requests(session: AsyncSession, actor: Actor) -> FacilitationRequestList:
    """Proposals that ask the caller to facilitate and wait for their answer (home page)."""
    rows = await repository.asked_of(session, actor.account_id)
    return FacilitationRequestList(
        items=[
            FacilitationRequest(
                proposal_id=p.id,
                network=slug,
                network_name=network_name,
                name=p.name,
                kind=p.kind,  # type: ignore[arg-type]
                purpose=p.purpose,
                proposer_name=who,
                status=p.status,  # type: ignore[arg-type]
                space_id=p.space_id,
            )
            for p, slug, network_name, who in rows
        ]
    )


async def answer_facilitation(
    session: AsyncSession, actor: Actor, proposal_id: uuid.UUID, *, accept: bool
) -> FacilitationAnswerOut:
    """The caller agrees to facilitate (or declines) a proposed group that names them.

    Before approval the answer is recorded (the approval makes those who accepted facilitators).
    After approval, accepting makes them a facilitator of the space at once, if they may belong
    to it (``federation.space_permissions.may_belong``: still in the network, not banned).
    """
    p = await repository.by_id(session, proposal_id, lock=True)
    row = await repository.answer_of(session, proposal_id, actor.account_id, lock=True) if p else None
    if p is None or row is None or not can_answer_as_facilitator(actor, {row.account_id}):
        raise NotFound(
            f"No proposal with id {proposal_id} asks you to facilitate.", code="facilitation_request_not_found"
        )
    problem = answer_problem(ProposalStatus(p.status), FacilitatorAnswer(row.answer))
    if problem is not None:
        raise Conflict(problem[1], code=problem[0])
    space_id: uuid.UUID | None = None
    if accept and p.status == ProposalStatus.APPROVED.value:
        if p.space_id is None:
            raise Conflict(
                f"The space created for '{p.name}' no longer exists; ask the network's admins.", code="space_gone"
            )
        ctx = await access.load(session, actor, p.space_id, lock=True, must_see=False)  # 409 when archived
        if not may_belong(ctx.who):
            raise Conflict(
                f"You can no longer belong to '{ctx.space.name}' (you left the network, or were removed from the "
                "space); ask the network's admins.",
                code="not_eligible",
            )
        member = ctx.mine.get(ctx.space.id)
        if member is None:
            member = SpaceMember(space_id=ctx.space.id, account_id=actor.account_id)
            session.add(member)
        member.role, member.status, member.own_standing, member.outside = "facilitator", "active", True, False
        space_id = ctx.space.id
    row.answer = (FacilitatorAnswer.ACCEPTED if accept else FacilitatorAnswer.DECLINED).value
    row.answered_at = dt.datetime.now(dt.UTC)
    await session.flush()
    who = await repository.proposer_name(session, actor.account_id)
    await notify(
        session,
        account_id=p.proposed_by,
        kind=Kind.PROPOSAL_DECIDED,
        title=f"{who} {'agreed to facilitate' if accept else 'declined to facilitate'} {p.name}",
        link=f"/spaces/{p.space_id}"
        if p.space_id
        else f"/networks/{await repository.network_slug(session, p.network_id)}#proposals",
        in_app_only=True,
    )
    audit.record(
        session,
        actor_id=actor.account_id,
        action=f"proposal.facilitator.{'accept' if accept else 'decline'}",
        target_type="proposal",
        target_id=p.id,
        network_id=p.network_id,
        after={"name": p.name, "answer": row.answer, "space_id": str(space_id) if space_id else None},
    )
    return FacilitationAnswerOut(proposal_id=p.id, answer=row.answer, space_id=space_id)  # type: ignore[arg-type]
