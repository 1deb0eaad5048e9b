"""Wire types of the directory area."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Kind = Literal["identity", "role", "topic", "cohort"]


class PublicSpace(msgspec.Struct, kw_only=True):
    """A space in the public directory: never members, counts or anything about who belongs."""

    name: str
    kind: Kind
    description: str
    join: str
    """The join mode in words: open, ask to join, invitation only, members of the parent space."""
    how_to_join: str
    next_meeting: dt.date | None


class PublicDirectory(msgspec.Struct, kw_only=True):
    """A network's public directory."""

    network: str
    name: str
    description: str
    short_url: str
    spaces: list[PublicSpace]


class DirectorySettings(msgspec.Struct, kw_only=True):
    """A network's public directory as its admins manage it."""

    public: bool
    short_url: str | None
    page_url: str | None
    qr_url: str | None
    spaces: list[uuid.UUID]


class DirectorySwitch(msgspec.Struct, forbid_unknown_fields=True):
    """Turn the public directory on or off."""

    public: bool


class PublicListing(msgspec.Struct, forbid_unknown_fields=True):
    """List a space publicly, with optional words for newcomers."""

    how_to_join: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class DirectoryEntry(msgspec.Struct, kw_only=True):
    """A space in the signed-in directory."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    kind: Kind
    description: str
    join_mode: str
    join: str
    """The join mode in words."""
    join_button: str | None
    """"Join", "Ask to join", or null when there is nothing to press (invitation only, or already in)."""
    my_role: str | None
    public: bool


class DirectoryList(msgspec.Struct, kw_only=True):
    """The signed-in directory, filtered."""

    network: str
    items: list[DirectoryEntry]
