"""Who may do what at the network level. Deny by default; every controller asks here.

Space- and policy-level decisions live in :mod:`federation.space_permissions`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from federation.networks import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in caller as the domain sees it: an account, its operator flag and network roles."""

    account_id: uuid.UUID
    is_operator: bool = False
    network_roles: Mapping[uuid.UUID, Role] = field(default_factory=dict)

    def role_in(self, network_id: uuid.UUID) -> Role | None:
        """The actor's role in a network, or None if not a member."""
        return self.network_roles.get(network_id)

    def is_admin_of(self, network_id: uuid.UUID) -> bool:
        """True if the actor administers the network."""
        return self.network_roles.get(network_id) is Role.ADMIN


def can_create_network(actor: Actor) -> bool:
    """Only federation operators create networks."""
    return actor.is_operator


def can_read_network(actor: Actor, network_id: uuid.UUID) -> bool:
    """Any signed-in account may read a network's public profile (the directory)."""
    del network_id
    return isinstance(actor.account_id, uuid.UUID)


def can_manage_network(actor: Actor, network_id: uuid.UUID) -> bool:
    """Operators and the network's admins manage it (members, templates, agreements, clients)."""
    return actor.is_operator or actor.is_admin_of(network_id)


def can_set_member_role(actor: Actor, network_id: uuid.UUID, *, target: uuid.UUID, new_role: Role) -> bool:
    """Network admins (and operators) set roles.

    An admin may not demote themselves: a network must not be left without an admin by
    accident, and the check for the last admin needs data, so the service enforces that one.
    """
    del new_role
    if not can_manage_network(actor, network_id):
        return False
    return not (target == actor.account_id and not actor.is_operator)


def can_view_network_members(actor: Actor, network_id: uuid.UUID) -> bool:
    """Network rosters are visible to the network's admins and facilitators."""
    if actor.is_operator:
        return True
    return actor.role_in(network_id) in {Role.ADMIN, Role.FACILITATOR}
