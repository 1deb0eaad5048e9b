"""Proposals for new spaces: who may propose, read and decide, and which steps follow which. Pure."""

from __future__ import annotations

import uuid
from enum import StrEnum

from federation.permissions import Actor


class ProposalStatus(StrEnum):
    """Where a proposal stands."""

    PENDING = "pending"  # waiting for the network's admins
    QUESTION = "question"  # an admin asked something; waiting for the proposer's answer
    APPROVED = "approved"  # the space exists
    DECLINED = "declined"  # with a reason
    WITHDRAWN = "withdrawn"  # by the proposer


class ProposalStep(StrEnum):
    """What someone does to a proposal."""

    ASK = "ask"  # admin asks a question
    ANSWER = "answer"  # proposer answers
    APPROVE = "approve"
    DECLINE = "decline"
    WITHDRAW = "withdraw"


_FROM: dict[ProposalStep, frozenset[ProposalStatus]] = {
    ProposalStep.ASK: frozenset({ProposalStatus.PENDING, ProposalStatus.QUESTION}),
    ProposalStep.ANSWER: frozenset({ProposalStatus.QUESTION}),
    ProposalStep.APPROVE: frozenset({ProposalStatus.PENDING, ProposalStatus.QUESTION}),
    ProposalStep.DECLINE: frozenset({ProposalStatus.PENDING, ProposalStatus.QUESTION}),
    ProposalStep.WITHDRAW: frozenset({ProposalStatus.PENDING, ProposalStatus.QUESTION}),
}
_TO = {
    ProposalStep.ASK: ProposalStatus.QUESTION,
    ProposalStep.ANSWER: ProposalStatus.PENDING,
    ProposalStep.APPROVE: ProposalStatus.APPROVED,
    ProposalStep.DECLINE: ProposalStatus.DECLINED,
    ProposalStep.WITHDRAW: ProposalStatus.WITHDRAWN,
}


def next_status(current: ProposalStatus, step: ProposalStep) -> ProposalStatus | None:
    """The status after ``step``, or None when the step does not apply now (e.g. approving twice)."""
    return _TO[step] if current in _FROM[step] else None


def can_propose(actor: Actor, network_id: uuid.UUID) -> bool:
    """Any member of the network (any role) proposes a group; so do operators."""
    return actor.is_operator or actor.role_in(network_id) is not None


def can_decide_proposals(actor: Actor, network_id: uuid.UUID) -> bool:
    """The network's admins (and operators) list all proposals, ask, approve and decline."""
    return actor.is_operator or actor.is_admin_of(network_id)


def can_read_proposal(actor: Actor, network_id: uuid.UUID, proposer: uuid.UUID) -> bool:
    """The proposer and those who decide."""
    return actor.account_id == proposer or can_decide_proposals(actor, network_id)


def can_act_as_proposer(actor: Actor, proposer: uuid.UUID) -> bool:
    """Only the proposer answers a question or withdraws."""
    return actor.account_id == proposer


# --- proposed facilitators agree -------------------------------------------------------------


class FacilitatorAnswer(StrEnum):
    """What a proposed facilitator said about facilitating the proposed group."""

    PENDING = "pending"  # asked (when the proposal was made), not answered yet
    ACCEPTED = "accepted"
    DECLINED = "declined"


_ANSWERABLE = frozenset({ProposalStatus.PENDING, ProposalStatus.QUESTION, ProposalStatus.APPROVED})


def can_answer_as_facilitator(actor: Actor, asked: frozenset[uuid.UUID] | set[uuid.UUID]) -> bool:
    """Only the person a proposal names as facilitator agrees or declines, for themselves."""
    return actor.account_id in asked


def answer_problem(status: ProposalStatus, current: FacilitatorAnswer) -> tuple[str, str] | None:
    """Why a proposed facilitator cannot answer now, as (code, sentence), or None.

    One answer each, while the proposal is open or approved: declined or withdrawn proposals
    take no answers (there is no group to facilitate)."""
    if status not in _ANSWERABLE:
        return "proposal_closed", f"This proposal was {status.value}; there is no group to facilitate."
    if current is not FacilitatorAnswer.PENDING:
        return (
            "already_answered",
            f"You already {current.value} this; ask the proposer or the network's admins if that should change.",
        )
    return None


def facilitators_on_approval(
    proposer: uuid.UUID,
    proposer_facilitates: bool,
    answers: dict[uuid.UUID, FacilitatorAnswer],
    in_network: set[uuid.UUID] | frozenset[uuid.UUID],
) -> list[uuid.UUID]:
    """Who facilitates the space an approval creates: the proposer if they said they would, and
    every proposed facilitator who accepted — each only while still a member of the network.
    Nobody else: a pending or declined answer is not an agreement. May be empty (then the
    approving admin facilitates)."""
    wanted = [proposer] if proposer_facilitates else []
    wanted += [a for a, answer in answers.items() if answer is FacilitatorAnswer.ACCEPTED]
    return [a for a in dict.fromkeys(wanted) if a in in_network]
