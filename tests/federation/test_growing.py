"""Pure decisions of the growing-groups work: invitations, notifications, proposals, directory,
removal and archiving, facilitation. No database."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from federation.directory import PublicProblem, join_label, offers_join, public_listing_problem
from federation.facilitation import TrainingStatus, training_problem, training_status
from federation.invitations import (
    Eligibility,
    LinkFacts,
    LinkProblem,
    eligibility,
    expires_at,
    link_problem,
    normalize_email,
)
from federation.networks import Role
from federation.notifications import Channel, after_unsubscribe, deliveries
from federation.permissions import Actor
from federation.proposals import (
    FacilitatorAnswer,
    ProposalStatus,
    ProposalStep,
    answer_problem,
    can_answer_as_facilitator,
    can_decide_proposals,
    can_propose,
    can_read_proposal,
    facilitators_on_approval,
    next_status,
)
from federation.space_permissions import SpaceRole, space_actor
from federation.spaces.model import MemberRole, MembershipFacts, MemberStatus
from federation.stewardship import RemovalProblem, removal_problem

NET, OTHER = uuid.uuid4(), uuid.uuid4()
NOW = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ana@Example.ORG ", "ana@example.org"),
        ("x@kent.k12.wa.us", "x@kent.k12.wa.us"),
        ("nope", None),
        ("a@b", None),
        ("two@@example.org", None),
        ("a b@example.org", None),
        ("x" * 65 + "@example.org", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_who_may_be_invited() -> None:
    assert eligibility(has_account=False, account_networks=[], home_network_id=NET, guest_network_ids=[]) is (
        Eligibility.NEW_PERSON
    )
    assert eligibility(has_account=True, account_networks=[NET], home_network_id=NET, guest_network_ids=[]) is (
        Eligibility.HOME_MEMBER
    )
    assert (
        eligibility(has_account=True, account_networks=[OTHER], home_network_id=NET, guest_network_ids=[OTHER])
        is Eligibility.GUEST_MEMBER
    )
    assert eligibility(has_account=True, account_networks=[OTHER], home_network_id=NET, guest_network_ids=[]) is (
        Eligibility.NOT_ELIGIBLE
    )
    assert eligibility(has_account=True, account_networks=[], home_network_id=NET, guest_network_ids=[]) is (
        Eligibility.NOT_ELIGIBLE
    )


def _facts(**kw: object) -> LinkFacts:
    base: dict[str, object] = {
        "status": "pending",
        "expires_at": expires_at(NOW, 14),
        "space_exists": True,
        "invited_email": "ana@example.org",
    }
    return LinkFacts(**{**base, **kw})  # type: ignore[arg-type]


def test_what_a_link_means_now() -> None:
    assert link_problem(None, NOW) is LinkProblem.UNKNOWN
    assert link_problem(_facts(), NOW) is None
    assert link_problem(_facts(signed_in_email="ANA@example.org"), NOW) is None
    assert link_problem(_facts(signed_in_email="ben@example.org"), NOW) is LinkProblem.OTHER_ADDRESS
    assert link_problem(_facts(), NOW + dt.timedelta(days=14)) is LinkProblem.EXPIRED
    assert link_problem(_facts(status="revoked"), NOW) is LinkProblem.REVOKED
    # A used link says "used" even once it would have expired; a deleted space says so first.
    assert link_problem(_facts(status="accepted"), NOW + dt.timedelta(days=30)) is LinkProblem.USED
    assert link_problem(_facts(status="accepted", space_exists=False), NOW) is LinkProblem.SPACE_GONE


def test_channels() -> None:
    assert deliveries(Channel.EMAIL) == (True, True)
    assert deliveries(Channel.IN_APP) == (True, False)
    assert deliveries(Channel.OFF) == (False, False)
    assert after_unsubscribe(Channel.EMAIL) is Channel.IN_APP
    assert after_unsubscribe(Channel.OFF) is Channel.OFF


def test_proposal_steps() -> None:
    assert next_status(ProposalStatus.PENDING, ProposalStep.ASK) is ProposalStatus.QUESTION
    assert next_status(ProposalStatus.QUESTION, ProposalStep.ANSWER) is ProposalStatus.PENDING
    assert next_status(ProposalStatus.PENDING, ProposalStep.ANSWER) is None
    assert next_status(ProposalStatus.QUESTION, ProposalStep.APPROVE) is ProposalStatus.APPROVED
    for done in (ProposalStatus.APPROVED, ProposalStatus.DECLINED, ProposalStatus.WITHDRAWN):
        assert all(next_status(done, step) is None for step in ProposalStep)


def test_who_proposes_and_decides() -> None:
    member = Actor(uuid.uuid4(), network_roles={NET: Role.MEMBER})
    admin = Actor(uuid.uuid4(), network_roles={NET: Role.ADMIN})
    stranger = Actor(uuid.uuid4())
    assert can_propose(member, NET) and not can_propose(stranger, NET)
    assert can_decide_proposals(admin, NET) and not can_decide_proposals(member, NET)
    assert can_read_proposal(member, NET, member.account_id) and not can_read_proposal(member, NET, admin.account_id)


def test_nobody_facilitates_a_proposed_group_without_agreeing() -> None:
    proposer, yes, no, waiting, gone = (uuid.uuid4() for _ in range(5))
    answers = {
        yes: FacilitatorAnswer.ACCEPTED,
        no: FacilitatorAnswer.DECLINED,
        waiting: FacilitatorAnswer.PENDING,
        gone: FacilitatorAnswer.ACCEPTED,
    }
    members = {proposer, yes, no, waiting}  # ``gone`` left the network
    assert facilitators_on_approval(proposer, True, answers, members) == [proposer, yes]
    assert facilitators_on_approval(proposer, False, answers, members) == [yes]
    assert facilitators_on_approval(proposer, False, {waiting: FacilitatorAnswer.PENDING}, members) == []
    # only the person asked answers, for themselves
    assert can_answer_as_facilitator(Actor(yes), {yes, no})
    assert not can_answer_as_facilitator(Actor(proposer, network_roles={NET: Role.ADMIN}), {yes, no})


@pytest.mark.parametrize(
    ("status", "answer", "code"),
    [
        (ProposalStatus.PENDING, FacilitatorAnswer.PENDING, None),
        (ProposalStatus.QUESTION, FacilitatorAnswer.PENDING, None),
        (ProposalStatus.APPROVED, FacilitatorAnswer.PENDING, None),
        (ProposalStatus.DECLINED, FacilitatorAnswer.PENDING, "proposal_closed"),
        (ProposalStatus.WITHDRAWN, FacilitatorAnswer.PENDING, "proposal_closed"),
        (ProposalStatus.PENDING, FacilitatorAnswer.ACCEPTED, "already_answered"),
        (ProposalStatus.APPROVED, FacilitatorAnswer.DECLINED, "already_answered"),
    ],
)
def test_when_a_proposed_facilitator_may_answer(
    status: ProposalStatus, answer: FacilitatorAnswer, code: str | None
) -> None:
    problem = answer_problem(status, answer)
    assert (problem[0] if problem else None) == code


def test_directory_words_and_buttons() -> None:
    assert [join_label(m) for m in ("open", "request", "invite")] == ["open", "ask to join", "invitation only"]
    assert offers_join("invite", is_member=False) is None  # never a button that would be refused
    assert offers_join("request", is_member=False) == "Ask to join"
    assert offers_join("open", is_member=True) is None
    assert public_listing_problem(visibility="unlisted", archived=False) is PublicProblem.UNLISTED
    assert public_listing_problem(visibility="listed", archived=True) is PublicProblem.ARCHIVED
    assert public_listing_problem(visibility="listed", archived=False) is None


def test_removal_rules() -> None:
    admin = Actor(uuid.uuid4(), network_roles={NET: Role.ADMIN})
    other = uuid.uuid4()
    assert removal_problem(admin, admin.account_id, target_role="admin", admins=2) is RemovalProblem.SELF
    assert removal_problem(admin, other, target_role=None, admins=2) is RemovalProblem.NOT_A_MEMBER
    assert removal_problem(admin, other, target_role="admin", admins=1) is RemovalProblem.LAST_ADMIN
    assert removal_problem(admin, other, target_role="facilitator", admins=1) is None


def test_training_status_and_problems() -> None:
    today = dt.date(2026, 12, 2)
    assert training_status([], today) is TrainingStatus.NONE
    assert training_status([(dt.date(2025, 1, 1), dt.date(2026, 1, 1))], today) is TrainingStatus.EXPIRED
    assert training_status([(dt.date(2025, 1, 1), None)], today) is TrainingStatus.CURRENT
    assert training_problem(dt.date(2027, 1, 1), None, today) is not None
    assert training_problem(dt.date(2026, 1, 1), dt.date(2025, 1, 1), today) is not None
    assert training_problem(dt.date(2026, 1, 1), dt.date(2027, 1, 1), today) is None


def test_an_outside_facilitator_is_in_the_room_but_not_in_the_network() -> None:
    outsider = Actor(uuid.uuid4())
    facilitating = MembershipFacts(MemberRole.FACILITATOR, MemberStatus.ACTIVE, outside=True)
    who = space_actor(outsider, home_network_id=NET, membership=facilitating)
    assert who.has(SpaceRole.FACILITATOR) and not who.has(SpaceRole.NETWORK_MEMBER)
    # Someone who left the network keeps nothing from an ordinary facilitator row.
    former = MembershipFacts(MemberRole.FACILITATOR, MemberStatus.ACTIVE)
    assert space_actor(outsider, home_network_id=NET, membership=former).roles == frozenset()
    # A plain member row without a network role still counts for nothing.
    member_row = MembershipFacts(MemberRole.MEMBER, MemberStatus.ACTIVE)
    assert space_actor(outsider, home_network_id=NET, membership=member_row).roles == frozenset()
