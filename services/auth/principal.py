"""The authenticated caller of a request or websocket."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

FULL_ACCESS = frozenset({"read", "write"})
"""Scopes of a web session and of a personal token created without --scope."""

KNOWN_SCOPES = frozenset({"read", "write"})


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling and through what credential."""

    account_id: uuid.UUID
    is_operator: bool = False
    scopes: frozenset[str] = FULL_ACCESS
    via: Literal["personal_token", "access_token", "session"] = "personal_token"
    token_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    client_id: str | None = None

    def may_write(self) -> bool:
        """Whether the credential allows changing anything."""
        return "write" in self.scopes
