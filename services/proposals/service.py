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
    ProposalStatus,
    ProposalStep,
    can_act_as_proposer,
    can_decide_proposals,
    can_propose,
    can_read_proposal,
    next_status,
)
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.networks.service import require_network
from services.notifications.service import notify
from services.persistence.models import Network, SpaceProposal
from services.proposals import repository
from services.proposals.schemas import (
    AnswerBody,
    ApproveBody,
    DeclineBody,
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


def _out(p: SpaceProposal, slug: str, proposer_name: str) -> ProposalOut:
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
    who = await repository.proposer_name(session, actor.account_id)
    await _tell_admins(session, settings, network, p, title=f"{who} proposes a group: {name}", body=purpose)
    _record(session, actor, network, p, "create")
    return _out(p, slug, who)


async def list_proposals(session: AsyncSession, actor: Actor, slug: str, status: str | None) -> ProposalList:
    """Admins: every proposal of the network; members: their own."""
    network = await require_network(session, slug)
    if can_decide_proposals(actor, network.id):
        rows = await repository.listing(session, network.id, None, status)
    elif can_propose(actor, network.id):
        rows = await repository.listing(session, network.id, actor.account_id, status)
    else:
        raise Forbidden(f"Only members of network '{slug}' see proposals there.", code="forbidden")
    return ProposalList(items=[_out(p, slug, n) for p, n in rows])


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
    return _out(p, slug, await repository.proposer_name(session, p.proposed_by))


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

    The proposer facilitates if they agreed, with the proposed facilitators still in the
    network; if nobody is left, the approving admin facilitates.
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
    wanted = ([p.proposed_by] if p.proposer_facilitates else []) + list(p.facilitator_ids)
    present = await repository.network_members(session, network.id, wanted)
    facilitators = [a for a in dict.fromkeys(wanted) if a in present]
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
