"""Wire types of the stewardship area."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class NetworkRemovalOut(msgspec.Struct, kw_only=True):
    """What removing a person from a network ended."""

    network: str
    account_id: uuid.UUID
    spaces_left: list[uuid.UUID]
    """Spaces of the network whose membership (or pending request or invitation) ended."""
    invitations_withdrawn: int


class ArchiveOut(msgspec.Struct, kw_only=True):
    """A space's archive state."""

    space_id: uuid.UUID
    archived: bool
    archived_at: dt.datetime | None
