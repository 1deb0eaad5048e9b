"""Wire types of the spaces area (spaces, hierarchy, policy view, membership)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from federation.wire import JsonObject, Text

Name = Annotated[Text, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[Text, msgspec.Meta(max_length=4000)]
Kind = Literal["identity", "role", "topic", "cohort"]
JoinModeName = Literal["open", "request", "invite", "parent_members"]
VisibilityName = Literal["listed", "unlisted"]


class FacilitatorIn(msgspec.Struct, forbid_unknown_fields=True):
    """A facilitator named at creation, optionally marked trained."""

    account_id: uuid.UUID
    trained: bool = False


class SpaceCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/spaces.

    ``facilitators`` defaults to the caller. ``join_mode`` is the ``membership.join_mode``
    setting (either may be given; they must agree). ``subspace_constraints`` bound every space
    created below this one and must lie inside this space's own policy. ``template_id``
    attaches one of the network's templates to the new space (network admins).
    """

    name: Name
    kind: Kind
    parent_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None
    join_mode: JoinModeName | None = None
    visibility: VisibilityName = "listed"
    settings: JsonObject = {}
    subspace_constraints: JsonObject = {}
    facilitators: list[uuid.UUID | FacilitatorIn] | None = None
    description: Description = ""


class SpacePatch(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PATCH /spaces/{id}. Absent fields stay; ``settings`` is merged key by key (a
    ``null`` value returns a parameter to its default); ``subspace_constraints`` replaces;
    ``parent_id`` moves the space with its subtree (``null``: to the root)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    visibility: VisibilityName | msgspec.UnsetType = msgspec.UNSET
    join_mode: JoinModeName | msgspec.UnsetType = msgspec.UNSET
    settings: JsonObject | msgspec.UnsetType = msgspec.UNSET
    subspace_constraints: JsonObject | msgspec.UnsetType = msgspec.UNSET
    parent_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET


class SpaceOut(msgspec.Struct):
    """A space as the API shows it. ``member_count`` only for those who may see the member list."""

    id: uuid.UUID
    network: str
    parent_id: uuid.UUID | None
    path: list[uuid.UUID]
    depth: int
    name: str
    description: str
    kind: Kind
    join_mode: JoinModeName
    visibility: VisibilityName
    settings: dict[str, Any]
    subspace_constraints: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    my_role: str | None = None
    my_status: str | None = None
    member_count: int | None = None
    warnings: list[dict[str, Any]] = []
    archived_at: dt.datetime | None = None
    """Set while the space is archived (read-only; a network admin can restore it)."""


class SpaceSummary(msgspec.Struct):
    """A space in the directory or a hierarchy (no member information)."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    depth: int
    name: str
    description: str
    kind: Kind
    join_mode: JoinModeName
    visibility: VisibilityName
    my_role: str | None = None


class SpaceList(msgspec.Struct):
    """Body of GET /networks/{slug}/spaces (the directory)."""

    network: str
    items: list[SpaceSummary]


class HierarchyOut(msgspec.Struct):
    """Body of GET /spaces/{id}/hierarchy: the visible subtree, shallowest first."""

    root: uuid.UUID
    max_depth: int | None
    items: list[SpaceSummary]


class PolicyOut(msgspec.Struct):
    """Body of GET /spaces/{id}/policy.

    ``constraints`` refuse writes (each bound with its ``sources``); ``warn``/``audit`` appear
    when warn- or audit-mode templates add bounds; ``settings`` are the space's effective values;
    ``noncompliance`` lists marks from applied template versions with their deadlines.
    """

    space_id: uuid.UUID
    constraints: dict[str, Any]
    conflicts: list[dict[str, Any]]
    settings: dict[str, Any]
    subspace_constraints: dict[str, Any]
    noncompliance: list[dict[str, Any]]
    warn: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None


class FacilitatorSet(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body of PUT /spaces/{id}/facilitators/{account_id}."""

    trained: bool = False


class MemberOut(msgspec.Struct):
    """A member of a space."""

    account_id: uuid.UUID
    display_name: str
    role: str
    trained: bool
    joined_at: dt.datetime


class MemberList(msgspec.Struct):
    """Body of GET /spaces/{id}/members."""

    space_id: uuid.UUID
    items: list[MemberOut]


class RequestOut(msgspec.Struct):
    """A join request (by the requester) or an invitation (by a facilitator)."""

    id: uuid.UUID
    space_id: uuid.UUID
    account_id: uuid.UUID
    kind: Literal["request", "invitation"]
    status: Literal["pending", "approved", "declined", "accepted", "cancelled"]
    message: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class RequestList(msgspec.Struct):
    """Body of GET /spaces/{id}/requests."""

    items: list[RequestOut]


class JoinBody(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body of POST /spaces/{id}/join: a note for the facilitators."""

    message: Annotated[Text, msgspec.Meta(max_length=1000)] = ""


class JoinOut(msgspec.Struct):
    """Outcome of POST /spaces/{id}/join: joined, requested (see ``request``) or already a member."""

    space_id: uuid.UUID
    outcome: Literal["joined", "requested", "already_member"]
    request: RequestOut | None = None


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/invitations."""

    account_id: uuid.UUID
    message: Annotated[Text, msgspec.Meta(max_length=1000)] = ""


class RemovalOut(msgspec.Struct):
    """What a leave, removal or ban ended: the space itself and every space below it, except
    memberships held on own standing."""

    space_id: uuid.UUID
    account_id: uuid.UUID
    removed_from: list[uuid.UUID]
    kept: list[uuid.UUID]
    banned: bool = False
