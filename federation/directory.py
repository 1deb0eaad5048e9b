"""The directory: how a space's join mode reads to newcomers, and what may be listed publicly. Pure."""

from __future__ import annotations

import uuid
from enum import StrEnum

from federation.permissions import Actor, can_manage_network

JOIN_LABELS = {
    "open": "open",
    "request": "ask to join",
    "invite": "invitation only",
    "parent_members": "members of the parent space",
}

HOW_TO_JOIN = {
    "open": "Anyone in the network can join: sign in and press Join.",
    "request": "Sign in and ask to join; a facilitator answers.",
    "invite": "By invitation only: ask a facilitator or the network's office.",
    "parent_members": "Open to members of the space it sits in.",
}


def join_label(join_mode: str) -> str:
    """The join mode in the directory's words."""
    return JOIN_LABELS.get(join_mode, join_mode)


def offers_join(join_mode: str, *, is_member: bool) -> str | None:
    """The button the directory offers: "Join", "Ask to join", or None (invite-only spaces, and
    members already in). An invite-only space never shows a button that would then be refused."""
    if is_member:
        return None
    return {"open": "Join", "request": "Ask to join", "parent_members": "Join"}.get(join_mode)


class PublicProblem(StrEnum):
    """Why a space cannot be listed in the public directory."""

    UNLISTED = "unlisted"  # the network keeps it out of even its own directory
    ARCHIVED = "archived"


def public_listing_problem(*, visibility: str, archived: bool) -> PublicProblem | None:
    """Only listed, live spaces go into the public directory."""
    if visibility != "listed":
        return PublicProblem.UNLISTED
    if archived:
        return PublicProblem.ARCHIVED
    return None


def can_manage_directory(actor: Actor, network_id: uuid.UUID) -> bool:
    """The network's admins (and operators) switch the public directory and choose what is in it."""
    return can_manage_network(actor, network_id)
