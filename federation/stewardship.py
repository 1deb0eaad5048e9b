"""Network admins' housekeeping: removing a person from a network, archiving a space. Pure."""

from __future__ import annotations

import uuid
from enum import StrEnum

from federation.permissions import Actor, can_manage_network


class RemovalProblem(StrEnum):
    """Why a person cannot be removed from a network."""

    SELF = "self"  # admins leave by asking another admin (a network must keep an admin)
    NOT_A_MEMBER = "not_a_member"
    LAST_ADMIN = "last_admin"


def can_remove_from_network(actor: Actor, network_id: uuid.UUID) -> bool:
    """The network's admins (and operators) remove people from it."""
    return can_manage_network(actor, network_id)


def removal_problem(actor: Actor, target: uuid.UUID, *, target_role: str | None, admins: int) -> RemovalProblem | None:
    """What stops this removal, if anything. Facilitator minimums do not: like a ban, removing a
    person from the network proceeds, and a space left short shows as non-compliant."""
    if target == actor.account_id and not actor.is_operator:
        return RemovalProblem.SELF
    if target_role is None:
        return RemovalProblem.NOT_A_MEMBER
    if target_role == "admin" and admins <= 1:
        return RemovalProblem.LAST_ADMIN
    return None


def can_archive_space(actor: Actor, network_id: uuid.UUID) -> bool:
    """The space's network admins (and operators) archive and restore spaces."""
    return can_manage_network(actor, network_id)
