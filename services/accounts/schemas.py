"""Wire types of the accounts area."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from federation.networks import Role


class MyNetwork(msgspec.Struct):
    """A network the caller belongs to, with the caller's role."""

    id: uuid.UUID
    slug: str
    name: str
    role: Role


class MySpace(msgspec.Struct):
    """A space the caller is an active member of, with the caller's role there."""

    id: uuid.UUID
    name: str
    kind: str
    network: str
    role: str
    unread: int = 0
    """Chat messages by others after your read marker (capped at 100; see docs/realtime.md)."""


class MeOut(msgspec.Struct):
    """Body of GET /me: the caller's account, networks with roles, and spaces."""

    id: uuid.UUID
    email: str
    display_name: str
    pronouns: str | None
    is_operator: bool
    networks: list[MyNetwork]
    credential: str
    scopes: list[str]
    spaces: list[MySpace] = []


class MeUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PATCH /me: change your own name and pronouns (absent fields stay; null pronouns clears them)."""

    display_name: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    pronouns: Annotated[str, msgspec.Meta(max_length=60)] | msgspec.UnsetType | None = msgspec.UNSET
