"""Wire types of the networks area."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from federation.networks import NetworkKind, Role
from federation.wire import Text

Name = Annotated[Text, msgspec.Meta(min_length=1, max_length=200)]
Slug = Annotated[Text, msgspec.Meta(min_length=1, max_length=80)]  # rules checked by federation.networks
Description = Annotated[Text, msgspec.Meta(max_length=2000)]
TimeZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone name")]


class NetworkCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks."""

    slug: Slug
    name: Name
    kind: NetworkKind
    description: Description = ""
    time_zone: TimeZoneName | None = None
    """IANA zone (e.g. America/Los_Angeles); default AFFINITY_DEFAULT_TIME_ZONE."""


class NetworkTimeZone(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /networks/{slug}/time-zone: the network's IANA zone; meeting days and the
    program year follow it."""

    time_zone: TimeZoneName


class NetworkOut(msgspec.Struct):
    """A network as the API shows it."""

    id: uuid.UUID
    slug: str
    name: str
    kind: NetworkKind
    description: str
    created_at: dt.datetime
    my_role: Role | None = None
    time_zone: str = "UTC"


class NetworkList(msgspec.Struct):
    """Body of GET /networks."""

    items: list[NetworkOut]


class MemberRoleSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /networks/{slug}/members/{account_id}."""

    role: Role


class MemberOut(msgspec.Struct):
    """A network member's role."""

    network: str
    account_id: uuid.UUID
    role: Role
    created: bool


class RosterEntry(msgspec.Struct):
    """A person in a network's roster, as its admins and facilitators see it."""

    account_id: uuid.UUID
    display_name: str
    email: str
    role: Role
    since: dt.datetime


class Roster(msgspec.Struct):
    """Body of GET /networks/{slug}/members."""

    network: str
    items: list[RosterEntry]


class MemberAdd(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/members: add an existing account by e-mail address."""

    email: Annotated[Text, msgspec.Meta(min_length=3, max_length=320)]
    role: Role = Role.MEMBER
