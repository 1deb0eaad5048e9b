"""Space vocabulary shared by the tree rules, joining and permissions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class SpaceKind(StrEnum):
    """What a space gathers people around."""

    IDENTITY = "identity"  # race, gender, LGBTQIA+, language: membership is sensitive
    ROLE = "role"  # superintendents, new principals
    TOPIC = "topic"  # a book study
    COHORT = "cohort"  # a year-long course


class Visibility(StrEnum):
    """Whether the directory lists a space to the network's members."""

    LISTED = "listed"
    UNLISTED = "unlisted"


class JoinMode(StrEnum):
    """How people join a space (the ``membership.join_mode`` parameter's choices)."""

    OPEN = "open"
    REQUEST = "request"  # facilitators approve or decline
    INVITE = "invite"
    PARENT_MEMBERS = "parent_members"  # active members of the parent space may join


@dataclass(frozen=True, slots=True)
class SpaceNode:
    """A space's place in its network's tree."""

    id: uuid.UUID
    network_id: uuid.UUID
    parent_id: uuid.UUID | None = None
    name: str = ""


class MemberRole(StrEnum):
    """An account's role in one space (``space_members.role``)."""

    MEMBER = "member"
    FACILITATOR = "facilitator"


class MemberStatus(StrEnum):
    """The state of an account's row in a space (``space_members.status``)."""

    ACTIVE = "active"
    REQUESTED = "requested"
    INVITED = "invited"
    BANNED = "banned"


@dataclass(frozen=True, slots=True)
class MembershipFacts:
    """An account's row in one space, as plain data."""

    role: MemberRole
    status: MemberStatus
    outside: bool = False
    """A facilitator a network admin brought in from outside the network for this space only."""
