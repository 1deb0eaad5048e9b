"""Wire types of the proposals area."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Kind = Literal["identity", "role", "topic", "cohort"]
Text = Annotated[str, msgspec.Meta(max_length=2000)]


class ProposalCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/proposals."""

    name: Annotated[str, msgspec.Meta(max_length=200)]
    kind: Kind
    purpose: Annotated[str, msgspec.Meta(max_length=4000)]
    parent_id: uuid.UUID | None = None
    """Where it would sit: a space you can see in this network (none: the top level)."""
    facilitators: list[uuid.UUID] = []
    """Proposed facilitators besides you (members of the network)."""
    i_will_facilitate: bool = True
    """You agree to facilitate the space if it is approved."""


class QuestionBody(msgspec.Struct, forbid_unknown_fields=True):
    """An admin's question to the proposer."""

    question: Text


class AnswerBody(msgspec.Struct, forbid_unknown_fields=True):
    """The proposer's answer."""

    answer: Text


class DeclineBody(msgspec.Struct, forbid_unknown_fields=True):
    """Why the proposal is declined (shown to the proposer)."""

    reason: Text


class ApproveBody(msgspec.Struct, forbid_unknown_fields=True):
    """Choices the admin makes when approving; the network's templates apply as for any new space."""

    join_mode: Literal["open", "request", "invite", "parent_members"] | None = None
    visibility: Literal["listed", "unlisted"] = "listed"
    template_id: uuid.UUID | None = None


class FacilitatorAnswerOut(msgspec.Struct, kw_only=True):
    """A proposed facilitator and whether they agreed (the proposer and admins see this)."""

    account_id: uuid.UUID
    display_name: str
    answer: Literal["pending", "accepted", "declined"]
    answered_at: dt.datetime | None


class ProposalOut(msgspec.Struct, kw_only=True):
    """A proposal as its proposer and the network's admins see it."""

    id: uuid.UUID
    network: str
    name: str
    kind: Kind
    purpose: str
    parent_id: uuid.UUID | None
    facilitators: list[uuid.UUID]
    proposer_id: uuid.UUID
    proposer_name: str
    i_will_facilitate: bool
    status: Literal["pending", "question", "approved", "declined", "withdrawn"]
    question: str | None
    answer: str | None
    reason: str | None
    space_id: uuid.UUID | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    facilitator_answers: list[FacilitatorAnswerOut] = []
    """Each proposed facilitator (besides the proposer) and their answer."""


class ProposalList(msgspec.Struct, kw_only=True):
    """Proposals, newest first (admins: all of the network's; members: their own)."""

    items: list[ProposalOut]


class FacilitationRequest(msgspec.Struct, kw_only=True):
    """A proposal that asks you to facilitate the group it proposes (your home page)."""

    proposal_id: uuid.UUID
    network: str
    network_name: str
    name: str
    kind: Kind
    purpose: str
    proposer_name: str
    status: Literal["pending", "question", "approved"]
    space_id: uuid.UUID | None


class FacilitationRequestList(msgspec.Struct, kw_only=True):
    """Proposals waiting for your answer, newest first."""

    items: list[FacilitationRequest]


class FacilitationAnswerOut(msgspec.Struct, kw_only=True):
    """Your answer, and the space you now facilitate when the group exists already."""

    proposal_id: uuid.UUID
    answer: Literal["accepted", "declined"]
    space_id: uuid.UUID | None
    """Set when accepting made you a facilitator of the approved space (before approval: None;
    you become one when it is approved)."""
