"""Joining a space: join modes, capacity, bans.

Membership is self-selected: nothing here takes, or could take, an identity attribute
(race, gender, ...). :class:`JoinAttempt` holds only facts about the person's standing
(membership, invitation, ban) and the space's capacity; a test pins its field list.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from federation.policy import CATALOGUE, EffectivePolicy, ParameterRegistry, governing_value
from federation.spaces.model import JoinMode


class JoinOutcome(StrEnum):
    """What a join attempt leads to."""

    JOINED = "joined"
    REQUESTED = "requested"  # a pending request facilitators approve or decline
    ALREADY_MEMBER = "already_member"
    REFUSED = "refused"


class JoinRefusal(StrEnum):
    """Why a join attempt is refused."""

    BANNED = "banned"
    NOT_VISIBLE = "not_visible"  # not a member of the home network or of a network it is shared with
    INVITE_ONLY = "invite_only"
    PARENT_MEMBERSHIP_REQUIRED = "parent_membership_required"
    SPACE_FULL = "space_full"


@dataclass(frozen=True, slots=True)
class JoinAttempt:
    """The facts a join decision needs, all about standing, none about identity.

    ``join_mode`` and ``max_members`` are the space's governing values (see
    :func:`join_limits`). ``can_see`` is True for members of the space's home network and of a
    network it is actively shared with (and visibility lets them see it). ``is_banned`` covers
    bans in the space or any ancestor (a ban cascades down).
    """

    join_mode: JoinMode
    member_count: int
    max_members: int | None
    can_see: bool
    is_member: bool = False
    is_banned: bool = False
    has_invite: bool = False
    is_parent_member: bool = False


@dataclass(frozen=True, slots=True)
class JoinDecision:
    """The outcome and, when refused, why (code and words)."""

    outcome: JoinOutcome
    reason: JoinRefusal | None = None
    message: str = ""

    @property
    def allowed(self) -> bool:
        """True when the person is (or is now) a member, or has a pending request."""
        return self.outcome is not JoinOutcome.REFUSED


def _refuse(reason: JoinRefusal, message: str) -> JoinDecision:
    return JoinDecision(JoinOutcome.REFUSED, reason, message)


def has_room(member_count: int, max_members: int | None) -> bool:
    """True when one more active member fits under ``membership.max_members``."""
    return max_members is None or member_count < max_members


def decide_join(attempt: JoinAttempt) -> JoinDecision:
    """Decide a join attempt.

    An invitation lets the invitee in whatever the mode (and even if the space is unlisted).
    Otherwise: ``open`` joins, ``request`` files a request, ``parent_members`` joins active
    members of the parent space, ``invite`` refuses. A full space refuses joins and new
    requests alike (approval checks capacity again with :func:`decide_approval`).
    """
    if attempt.is_member:
        return JoinDecision(JoinOutcome.ALREADY_MEMBER, message="already a member")
    if attempt.is_banned:
        return _refuse(JoinRefusal.BANNED, "you have been removed from this space or a space above it")
    full = not has_room(attempt.member_count, attempt.max_members)
    full_message = f"this space is full ({attempt.max_members} members, membership.max_members)"
    if attempt.has_invite:
        return _refuse(JoinRefusal.SPACE_FULL, full_message) if full else JoinDecision(JoinOutcome.JOINED)
    if not attempt.can_see:
        return _refuse(JoinRefusal.NOT_VISIBLE, "this space is not open to your networks")
    mode = attempt.join_mode
    if mode is JoinMode.INVITE:
        return _refuse(JoinRefusal.INVITE_ONLY, "this space is by invitation only")
    if mode is JoinMode.PARENT_MEMBERS and not attempt.is_parent_member:
        return _refuse(JoinRefusal.PARENT_MEMBERSHIP_REQUIRED, "only members of the parent space may join this space")
    if full:
        return _refuse(JoinRefusal.SPACE_FULL, full_message)
    if mode is JoinMode.REQUEST:
        return JoinDecision(JoinOutcome.REQUESTED, message="request sent; a facilitator will approve or decline it")
    return JoinDecision(JoinOutcome.JOINED)


def decide_approval(member_count: int, max_members: int | None, *, is_banned: bool = False) -> JoinDecision:
    """Whether a pending request can be approved now (capacity and bans may have changed)."""
    if is_banned:
        return _refuse(JoinRefusal.BANNED, "the requester has been removed from this space or a space above it")
    if not has_room(member_count, max_members):
        return _refuse(JoinRefusal.SPACE_FULL, f"this space is full ({max_members} members)")
    return JoinDecision(JoinOutcome.JOINED)


def join_limits(
    policy: EffectivePolicy, settings: Mapping[str, object], registry: ParameterRegistry = CATALOGUE
) -> tuple[JoinMode, int | None]:
    """The governing join mode and member cap of a space.

    A stored join mode the policy no longer allows falls back to the most restrictive allowed
    one, so tightening a template closes a space at once instead of leaving it open.
    """
    mode = governing_value(policy, settings, "membership.join_mode", registry)
    cap = governing_value(policy, settings, "membership.max_members", registry)
    return JoinMode(str(mode)), cap if isinstance(cap, int) and not isinstance(cap, bool) else None


def banned_in_path(path: Iterable[uuid.UUID], bans: Collection[uuid.UUID]) -> bool:
    """True when the account is banned from any space on ``path`` (the space and its ancestors)."""
    return any(space_id in bans for space_id in path)
