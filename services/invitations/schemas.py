"""Wire types of the invitations area."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec


class EmailInvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/email-invitations."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    message: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class EmailInvitationOut(msgspec.Struct, kw_only=True):
    """An invitation as its space's facilitators and network admins see it (never the link)."""

    id: uuid.UUID
    space_id: uuid.UUID | None
    space_name: str
    email: str
    status: Literal["pending", "accepted", "revoked", "declined", "expired"]
    for_new_person: bool
    """No account had this address: accepting also makes them a member of the network."""
    delivery: Literal["queued", "sent", "failed", "suppressed", "none"]
    """The invitation e-mail's state (``none``: the invitee chose no e-mail; they see it in-app)."""
    expires_at: dt.datetime
    created_at: dt.datetime


class EmailInvitationList(msgspec.Struct, kw_only=True):
    """A space's invitations by e-mail, newest first."""

    items: list[EmailInvitationOut]


class MyInvitation(msgspec.Struct, kw_only=True):
    """A pending invitation for the caller's (verified) address, shown on their home page."""

    id: uuid.UUID
    space_id: uuid.UUID
    space_name: str
    network_name: str
    invited_by: str
    message: str
    expires_at: dt.datetime


class MyInvitationList(msgspec.Struct, kw_only=True):
    """The caller's pending invitations."""

    items: list[MyInvitation]


class AcceptedOut(msgspec.Struct, kw_only=True):
    """What accepting did."""

    space_id: uuid.UUID
    outcome: Literal["joined", "already_member"]
    joined_network: bool
