"""Joining, capacity, facilitator minimum and cascading removal."""

from __future__ import annotations

import dataclasses

import pytest

from federation.policy import UNCONSTRAINED, effective_policy
from federation.spaces import (
    FacilitatorCode,
    JoinAttempt,
    JoinMode,
    JoinOutcome,
    JoinRefusal,
    Membership,
    SpaceNode,
    SpaceTree,
    banned_in_path,
    check_facilitator_removal,
    decide_approval,
    decide_join,
    facilitator_requirements,
    has_room,
    join_limits,
    plan_cascade,
)
from tests.federation.builders import layer, sid, template


def attempt(mode: JoinMode, **kw: object) -> JoinAttempt:
    base: dict[str, object] = {"join_mode": mode, "member_count": 3, "max_members": None, "can_see": True}
    base.update(kw)
    return JoinAttempt(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "facts", "outcome", "reason"),
    [
        (JoinMode.OPEN, {}, JoinOutcome.JOINED, None),
        (JoinMode.REQUEST, {}, JoinOutcome.REQUESTED, None),
        (JoinMode.INVITE, {}, JoinOutcome.REFUSED, JoinRefusal.INVITE_ONLY),
        (JoinMode.INVITE, {"has_invite": True}, JoinOutcome.JOINED, None),
        (JoinMode.REQUEST, {"has_invite": True}, JoinOutcome.JOINED, None),
        (JoinMode.PARENT_MEMBERS, {}, JoinOutcome.REFUSED, JoinRefusal.PARENT_MEMBERSHIP_REQUIRED),
        (JoinMode.PARENT_MEMBERS, {"is_parent_member": True}, JoinOutcome.JOINED, None),
        (JoinMode.OPEN, {"is_member": True}, JoinOutcome.ALREADY_MEMBER, None),
        (JoinMode.OPEN, {"is_banned": True}, JoinOutcome.REFUSED, JoinRefusal.BANNED),
        (JoinMode.INVITE, {"is_banned": True, "has_invite": True}, JoinOutcome.REFUSED, JoinRefusal.BANNED),
        (JoinMode.OPEN, {"can_see": False}, JoinOutcome.REFUSED, JoinRefusal.NOT_VISIBLE),
        (JoinMode.OPEN, {"can_see": False, "has_invite": True}, JoinOutcome.JOINED, None),
        (JoinMode.OPEN, {"max_members": 3}, JoinOutcome.REFUSED, JoinRefusal.SPACE_FULL),
        (JoinMode.OPEN, {"max_members": 4}, JoinOutcome.JOINED, None),
        (JoinMode.REQUEST, {"max_members": 3}, JoinOutcome.REFUSED, JoinRefusal.SPACE_FULL),
        (JoinMode.INVITE, {"max_members": 3, "has_invite": True}, JoinOutcome.REFUSED, JoinRefusal.SPACE_FULL),
        (
            JoinMode.PARENT_MEMBERS,
            {"max_members": 3, "is_parent_member": True},
            JoinOutcome.REFUSED,
            JoinRefusal.SPACE_FULL,
        ),
    ],
)
def test_join_modes(mode: JoinMode, facts: dict[str, object], outcome: JoinOutcome, reason: JoinRefusal | None) -> None:
    decision = decide_join(attempt(mode, **facts))
    assert decision.outcome is outcome
    assert decision.reason is reason
    assert decision.allowed == (outcome is not JoinOutcome.REFUSED)
    if reason is not None:
        assert decision.message


def test_no_identity_attribute_can_gate_joining() -> None:
    # Membership is self-selected: the join decision takes standing and capacity, nothing else.
    fields = {f.name for f in dataclasses.fields(JoinAttempt)}
    assert fields == {
        "join_mode",
        "member_count",
        "max_members",
        "can_see",
        "is_member",
        "is_banned",
        "has_invite",
        "is_parent_member",
    }


def test_approval_rechecks_capacity_and_bans() -> None:
    assert decide_approval(3, None).outcome is JoinOutcome.JOINED
    assert decide_approval(3, 3).reason is JoinRefusal.SPACE_FULL
    assert decide_approval(1, 3, is_banned=True).reason is JoinRefusal.BANNED
    assert has_room(0, 1) and not has_room(1, 1) and has_room(10**6, None)


def test_join_limits_follow_policy() -> None:
    assert join_limits(UNCONSTRAINED, {}) == (JoinMode.OPEN, None)
    assert join_limits(UNCONSTRAINED, {"membership.join_mode": "invite", "membership.max_members": 12}) == (
        JoinMode.INVITE,
        12,
    )
    closed = effective_policy(
        [
            layer(
                {"membership.join_mode": {"allowed": ["request", "invite"]}, "membership.max_members": {"max": 30}},
                template("T"),
            )
        ]
    )
    # a stored "open" the policy no longer allows falls back to the most restrictive allowed mode
    assert join_limits(closed, {"membership.join_mode": "open"}) == (JoinMode.INVITE, 30)
    assert join_limits(closed, {"membership.join_mode": "request", "membership.max_members": 20}) == (
        JoinMode.REQUEST,
        20,
    )


def test_bans_anywhere_on_the_path_count() -> None:
    path = [sid("root"), sid("a"), sid("a1")]
    assert banned_in_path(path, {sid("root")})
    assert not banned_in_path(path, {sid("b")})


def test_facilitator_minimum() -> None:
    f = [sid("ana"), sid("bea")]
    assert check_facilitator_removal(f, sid("ana"), 1) is None
    problem = check_facilitator_removal(f, sid("ana"), 2)
    assert problem is not None and problem.code is FacilitatorCode.FACILITATOR_MINIMUM
    assert problem.remaining == 1 and problem.minimum == 2
    assert "needs at least 2 facilitator(s)" in problem.message
    # already below the minimum: cannot lose more
    below = check_facilitator_removal([sid("ana")], sid("ana"), 2)
    assert below is not None and below.code is FacilitatorCode.FACILITATOR_MINIMUM
    missing = check_facilitator_removal(f, sid("cy"), 0)
    assert missing is not None and missing.code is FacilitatorCode.NOT_A_FACILITATOR
    assert missing.to_dict()["code"] == "not_a_facilitator"


def test_facilitator_requirements_follow_policy() -> None:
    assert facilitator_requirements(UNCONSTRAINED, {}) == (1, False)
    alas = effective_policy(
        [
            layer(
                {
                    "facilitators.min_count": {"min": 2},
                    "facilitators.training_required": {"locked": True, "value": True},
                },
                template("ALAS"),
            )
        ]
    )
    assert facilitator_requirements(alas, {}) == (2, True)
    assert facilitator_requirements(alas, {"facilitators.min_count": 3}) == (3, True)


#   root ── a ── a1 ── a11
#       └── b (guest via share: own standing)
CASCADE_TREE = SpaceTree(
    [
        SpaceNode(sid("root"), sid("net"), None),
        SpaceNode(sid("a"), sid("net"), sid("root")),
        SpaceNode(sid("a1"), sid("net"), sid("a")),
        SpaceNode(sid("a11"), sid("net"), sid("a1")),
        SpaceNode(sid("b"), sid("net"), sid("root")),
    ]
)


def test_leaving_removes_every_membership_below_except_own_standing() -> None:
    held = [
        Membership(sid("root")),
        Membership(sid("a")),
        Membership(sid("a11")),
        Membership(sid("b"), own_standing=True),
    ]
    plan = plan_cascade(CASCADE_TREE, sid("root"), held)
    assert plan.remove == (sid("root"), sid("a"), sid("a11"))
    assert plan.kept == (sid("b"),)
    assert plan.shortfalls == ()
    # leaving a sub-space touches nothing above it
    assert plan_cascade(CASCADE_TREE, sid("a"), held).remove == (sid("a"), sid("a11"))
    # the target itself always goes, even if held on own standing
    assert plan_cascade(CASCADE_TREE, sid("b"), held).remove == (sid("b"),)


def test_cascade_reports_facilitator_shortfalls() -> None:
    held = [
        Membership(sid("root")),
        Membership(sid("a"), is_facilitator=True),
        Membership(sid("a1"), is_facilitator=True),
    ]
    plan = plan_cascade(
        CASCADE_TREE,
        sid("root"),
        held,
        facilitator_counts={sid("a"): 2, sid("a1"): 1},
        facilitator_minimums={sid("a"): 1, sid("a1"): 1},
    )
    assert [(s.space_id, s.remaining, s.minimum) for s in plan.shortfalls] == [(sid("a1"), 0, 1)]
