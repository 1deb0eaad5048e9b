"""Wire types of the sharing area. No member information ever appears here: sharing a space
tells the guest network's admins its name and kind, never who is in it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from federation.wire import JsonObject, Text

Slug = Annotated[Text, msgspec.Meta(min_length=1, max_length=80)]
Message = Annotated[Text, msgspec.Meta(max_length=1000)]
StatusName = Literal["pending", "active", "declined", "ended", "expired"]


class ShareCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/shares: offer the space to another network."""

    guest_network: Slug
    """The guest network's slug."""
    include_subspaces: bool = False
    """Also share every space below this one (each must allow guests)."""
    message: Message = ""


class ShareAccept(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/shares/{id}/accept (optional).

    ``constraints``: guest constraints — policy constraints (same form as a template's) that
    apply to the guest network's own members in the shared space(s)."""

    constraints: JsonObject = {}


class ShareOut(msgspec.Struct):
    """A sharing agreement. ``status`` is computed at read time (a pending offer past
    ``expires_at`` is ``expired``). ``direction`` is relative to the network in the URL
    (``outgoing``: it hosts; ``incoming``: it is the guest), when there is one."""

    id: uuid.UUID
    space_id: uuid.UUID
    space_name: str
    space_kind: str
    host_network: str
    guest_network: str
    include_subspaces: bool
    message: str
    status: StatusName
    constraints: dict[str, Any]
    auto_accepted: bool
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_at: dt.datetime | None
    ended_at: dt.datetime | None
    direction: Literal["outgoing", "incoming"] | None = None
    removed_memberships: int | None = None
    """On DELETE: how many guest memberships ending the agreement removed."""


class ShareList(msgspec.Struct):
    """Body of GET /networks/{slug}/shares."""

    network: str
    items: list[ShareOut]


class TrustedOut(msgspec.Struct):
    """A network marked as trusted: its offers are accepted at once."""

    network: str
    trusted_network: str
    name: str
    since: dt.datetime


class TrustedList(msgspec.Struct):
    """Body of GET /networks/{slug}/trusted-networks."""

    network: str
    items: list[TrustedOut]
