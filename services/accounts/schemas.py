"""Wire types of the accounts area."""

from __future__ import annotations

import uuid

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
