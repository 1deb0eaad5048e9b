"""Pure rules of the space tree and membership: placement, joining, facilitators, cascades."""

from federation.spaces.cascade import CascadePlan, FacilitatorShortfall, Membership, plan_cascade
from federation.spaces.facilitators import (
    FacilitatorCode,
    FacilitatorProblem,
    check_facilitator_removal,
    facilitator_requirements,
)
from federation.spaces.joining import (
    JoinAttempt,
    JoinDecision,
    JoinOutcome,
    JoinRefusal,
    banned_in_path,
    decide_approval,
    decide_join,
    has_room,
    join_limits,
)
from federation.spaces.model import (
    JoinMode,
    MemberRole,
    MembershipFacts,
    MemberStatus,
    SpaceKind,
    SpaceNode,
    Visibility,
)
from federation.spaces.tree import (
    PlacementCode,
    PlacementProblem,
    SpaceTree,
    TreeError,
    check_placement,
    nesting_limit,
)

__all__ = [
    "CascadePlan",
    "FacilitatorCode",
    "FacilitatorProblem",
    "FacilitatorShortfall",
    "JoinAttempt",
    "JoinDecision",
    "JoinMode",
    "JoinOutcome",
    "JoinRefusal",
    "MemberRole",
    "MemberStatus",
    "Membership",
    "MembershipFacts",
    "PlacementCode",
    "PlacementProblem",
    "SpaceKind",
    "SpaceNode",
    "SpaceTree",
    "TreeError",
    "Visibility",
    "banned_in_path",
    "check_facilitator_removal",
    "check_placement",
    "decide_approval",
    "decide_join",
    "facilitator_requirements",
    "has_room",
    "join_limits",
    "nesting_limit",
    "plan_cascade",
]
