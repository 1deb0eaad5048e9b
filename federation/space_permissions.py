"""Who may do what to a space, its policy, members and chat. Deny by default.

Network-level decisions (creating networks, network rosters) live in
:mod:`federation.permissions`. Here every function takes a :class:`SpaceActor` (the caller's
roles *relative to one space*, computed by :func:`space_actor` from plain facts) and, where it
matters, :class:`SpaceFacts` about the space. They are pure and constant-time.

Decisions (DESIGN.md "Permissions", issue 3; where they differ, the issue wins):

* Operators and network admins *manage* (settings, facilitators, templates, compliance,
  removing members) but do not see membership lists or chat of a space they do not belong to:
  membership lists are visible to the space's members and facilitators only, for every kind of
  space (identity spaces most of all), and chat is for the people in the room. An admin who
  needs to act inside a space adds themselves as a facilitator, which is audited.
* A facilitator acts on their own space (settings, facilitators, sub-space constraints,
  approving requests, moderating, inviting). Facilitating a space gives no rights over its
  sub-spaces, except that a facilitator of the parent may create sub-spaces under it and see
  the sub-spaces it holds (``PARENT_FACILITATOR``).
* Join requests are approved by facilitators only: a pending request to an identity space is
  membership information too.
* A guest is an active member admitted through a share; the moment the share ends (the
  account is no longer in a guest network) the guest role disappears, so access ends at once.
* A ban removes every space-level role (member, guest, facilitator, invitation).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from federation.permissions import Actor
from federation.spaces.model import JoinMode, MemberRole, MembershipFacts, MemberStatus, SpaceKind, Visibility


class SpaceRole(StrEnum):
    """A role an actor holds relative to one space; an actor may hold several."""

    OPERATOR = "operator"  # federation operator
    NETWORK_ADMIN = "network_admin"  # admin of the space's home network
    NETWORK_MEMBER = "network_member"  # any role in the home network
    GUEST_NETWORK_MEMBER = "guest_network_member"  # member of a network the space is actively shared with
    FACILITATOR = "facilitator"  # active facilitator of this space
    MEMBER = "member"  # active member of this space through the home network
    GUEST = "guest"  # active member of this space through a share
    INVITED = "invited"  # holds a pending invitation
    PARENT_FACILITATOR = "parent_facilitator"  # active facilitator of the parent space
    PARENT_MEMBER = "parent_member"  # active member (or facilitator) of the parent space
    MUTED = "muted"  # may read but not post in chat
    BANNED = "banned"  # banned here or in a space above


# Roles a ban takes away (network-level roles stay: a banned member still belongs to the network).
_SPACE_LEVEL = frozenset({SpaceRole.FACILITATOR, SpaceRole.MEMBER, SpaceRole.GUEST, SpaceRole.INVITED})


@dataclass(frozen=True, slots=True)
class SpaceActor:
    """The caller's roles relative to one space (or, for network-level checks, to a network)."""

    roles: frozenset[SpaceRole]

    def __post_init__(self) -> None:
        if SpaceRole.BANNED in self.roles and self.roles & _SPACE_LEVEL:
            object.__setattr__(self, "roles", self.roles - _SPACE_LEVEL)

    def has(self, *roles: SpaceRole) -> bool:
        """True when the actor holds any of ``roles``."""
        return any(r in self.roles for r in roles)


@dataclass(frozen=True, slots=True)
class SpaceFacts:
    """The facts about a space that permissions depend on (governing values for policy ones)."""

    kind: SpaceKind
    visibility: Visibility
    join_mode: JoinMode = JoinMode.REQUEST
    chat_posting: str | None = None
    """The *governing* value of ``chat.posting`` (``services.spaces.governing``), never the raw
    setting. None when the caller did not load it: then only facilitators may post (deny by
    default), so a forgotten load can never let members post in an announcement space."""


def space_actor(
    actor: Actor,
    *,
    home_network_id: uuid.UUID,
    guest_network_ids: Collection[uuid.UUID] = (),
    membership: MembershipFacts | None = None,
    parent_membership: MembershipFacts | None = None,
    banned_above: bool = False,
    muted: bool = False,
) -> SpaceActor:
    """Roles of ``actor`` relative to a space, from plain facts.

    ``guest_network_ids`` are the networks the space is *actively* shared with (accepted, not
    ended). ``membership``/``parent_membership`` are the actor's rows in this space and its
    parent. An active row (or a pending invitation) counts only while the actor still belongs to
    the home network (member) or to a guest network (guest).
    """
    roles: set[SpaceRole] = set()
    if actor.is_operator:
        roles.add(SpaceRole.OPERATOR)
    home = actor.role_in(home_network_id) is not None
    guest_net = any(actor.role_in(g) is not None for g in guest_network_ids)
    if home:
        roles.add(SpaceRole.NETWORK_MEMBER)
        if actor.is_admin_of(home_network_id):
            roles.add(SpaceRole.NETWORK_ADMIN)
    if guest_net:
        roles.add(SpaceRole.GUEST_NETWORK_MEMBER)
    if membership is not None:
        # An outside facilitator (brought in by a network admin for this space, from neither the
        # home network nor a guest network) is in the room: this space and what facilitating needs.
        outside = membership.outside and membership.role is MemberRole.FACILITATOR
        if membership.status is MemberStatus.ACTIVE and (home or guest_net or outside):
            roles.add(SpaceRole.MEMBER if home else SpaceRole.GUEST)
            if membership.role is MemberRole.FACILITATOR:
                roles.add(SpaceRole.FACILITATOR)
        elif membership.status is MemberStatus.INVITED and (home or guest_net):
            # Like an active row, an invitation counts only while the account may belong.
            roles.add(SpaceRole.INVITED)
        elif membership.status is MemberStatus.BANNED:
            roles.add(SpaceRole.BANNED)
    if parent_membership is not None and parent_membership.status is MemberStatus.ACTIVE and (home or guest_net):
        roles.add(SpaceRole.PARENT_MEMBER)
        if parent_membership.role is MemberRole.FACILITATOR:
            roles.add(SpaceRole.PARENT_FACILITATOR)
    if banned_above:
        roles.add(SpaceRole.BANNED)
    if muted:
        roles.add(SpaceRole.MUTED)
    return SpaceActor(frozenset(roles))


_R = SpaceRole
_MANAGERS = (_R.OPERATOR, _R.NETWORK_ADMIN, _R.FACILITATOR)
_IN_ROOM = (_R.FACILITATOR, _R.MEMBER, _R.GUEST)


def can_read_space(actor: SpaceActor, space: SpaceFacts) -> bool:
    """See the space (profile, settings, place in the hierarchy, directory entry).

    Always: operators, home-network admins, its facilitators, members, guests, invitees and
    the parent's facilitators. A listed space: also members of its home network and of networks
    it is shared with. An unlisted ``parent_members`` space: also the parent's members, who may
    join it.
    """
    if actor.has(*_IN_ROOM, _R.OPERATOR, _R.NETWORK_ADMIN, _R.INVITED, _R.PARENT_FACILITATOR):
        return True
    if space.visibility is Visibility.LISTED:
        return actor.has(_R.NETWORK_MEMBER, _R.GUEST_NETWORK_MEMBER)
    return space.join_mode is JoinMode.PARENT_MEMBERS and actor.has(_R.PARENT_MEMBER)


def can_read_policy(actor: SpaceActor, space: SpaceFacts) -> bool:
    """See the effective policy with its sources: whoever can see the space."""
    return can_read_space(actor, space)


def can_update_space_settings(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Change settings (within policy), name, visibility: operators, admins, its facilitators."""
    del space
    return actor.has(*_MANAGERS)


def can_set_subspace_constraints(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Set the constraints this space imposes on its sub-spaces: operators, admins, its facilitators."""
    del space
    return actor.has(*_MANAGERS)


def can_manage_facilitators(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Add or remove facilitators (the minimum is checked separately): operators, admins, facilitators."""
    del space
    return actor.has(*_MANAGERS)


def can_create_space(actor: SpaceActor, parent: SpaceFacts | None) -> bool:
    """Create a space. At the root (``parent`` None; ``actor`` relative to the network):
    operators and network admins. Under a parent (``actor`` relative to the parent): also the
    parent's facilitators."""
    if actor.has(_R.OPERATOR, _R.NETWORK_ADMIN):
        return True
    return parent is not None and actor.has(_R.FACILITATOR)


def can_move_out_of(actor: SpaceActor, parent: SpaceFacts) -> bool:
    """Move a sub-space out from under ``parent`` (``actor`` relative to the parent): whoever
    may create spaces there. A sub-space's own facilitators may not: the move would shed the
    bounds the parent (and its templates) set for everything beneath it."""
    return can_create_space(actor, parent)


def can_manage_templates(actor: SpaceActor) -> bool:
    """Create, version, dry-run and attach policy templates (``actor`` relative to the network)."""
    return actor.has(_R.OPERATOR, _R.NETWORK_ADMIN)


def can_view_compliance(actor: SpaceActor) -> bool:
    """The network-wide compliance report (``actor`` relative to the network)."""
    return actor.has(_R.OPERATOR, _R.NETWORK_ADMIN)


def can_view_members(actor: SpaceActor, space: SpaceFacts) -> bool:
    """The member list: the space's members (guests included) and facilitators only, for every
    kind of space. Not operators or admins: membership of an identity space is sensitive, and
    issue 3 applies the rule to every space."""
    del space
    return actor.has(*_IN_ROOM)


def can_approve_requests(actor: SpaceActor, space: SpaceFacts) -> bool:
    """See, approve and decline join requests: the space's facilitators only."""
    del space
    return actor.has(_R.FACILITATOR)


def can_invite(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Invite someone: facilitators and home-network admins."""
    del space
    return actor.has(_R.FACILITATOR, _R.NETWORK_ADMIN)


def can_remove_member(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Remove or ban a member (cascades down): operators, admins, facilitators."""
    del space
    return actor.has(*_MANAGERS)


def can_see_to_join(actor: SpaceActor, space: SpaceFacts) -> bool:
    """The ``can_see`` fact of a join attempt: a member of the home network or of a network the
    space is shared with, who can see the space. Invitations are handled by the join rules."""
    return actor.has(_R.NETWORK_MEMBER, _R.GUEST_NETWORK_MEMBER) and can_read_space(actor, space)


def may_belong(actor: SpaceActor) -> bool:
    """Whether an account may hold a membership of the space at all (``actor`` is *that*
    account's roles relative to the space): it belongs to the home network or to a network the
    space is actively shared with, and is not banned here or above. Invitations are limited to
    such accounts, and checked again when the invitation is accepted."""
    return actor.has(_R.NETWORK_MEMBER, _R.GUEST_NETWORK_MEMBER) and not actor.has(_R.BANNED)


def can_leave(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Leave: anyone with an active membership (the facilitator minimum is checked separately)."""
    del space
    return actor.has(*_IN_ROOM)


def can_read_chat(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Read the chat, its history and its presence: facilitators, members and guests — which
    :func:`space_actor` grants only to an active row whose account still belongs to the home
    network or to a guest network reaching the space, with no ban here or above. The one rule
    for HTTP and websocket chat alike (``services.chat.access``)."""
    del space
    return actor.has(*_IN_ROOM)


def can_post_chat(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Post: facilitators always; members and guests when the governing ``chat.posting`` is
    ``members``; never while muted."""
    if actor.has(_R.MUTED):
        return False
    if actor.has(_R.FACILITATOR):
        return True
    return space.chat_posting == "members" and actor.has(_R.MEMBER, _R.GUEST)


def chat_posting_for(actor: SpaceActor, space_posting: str | None, *, guest_restricted: bool) -> str | None:
    """The governing ``chat.posting`` for this actor, for :attr:`SpaceFacts.chat_posting`.

    The space's governing value, except for a guest (reaching the space only through a guest
    network): when the agreement of one of its guest networks narrows ``chat.posting`` to
    ``facilitators`` (``guest_restricted``), that governs its members there. A guest network's
    constraints only ever tighten: they never let a guest post where the host's rule does not.
    """
    if guest_restricted and actor.has(_R.GUEST_NETWORK_MEMBER) and not actor.has(_R.NETWORK_MEMBER):
        return "facilitators"
    return space_posting


def can_moderate_chat(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Delete messages and mute people: the space's facilitators."""
    del space
    return actor.has(_R.FACILITATOR)


def can_share_space(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Offer the space to another network: operators and home-network admins
    (``membership.guests_allowed`` is a policy check, made separately)."""
    del space
    return actor.has(_R.OPERATOR, _R.NETWORK_ADMIN)


def can_read_templates(actor: SpaceActor) -> bool:
    """Read a network's policy templates — the basic structure every space works within
    (``actor`` relative to the network): operators and anyone with a role in the network."""
    return actor.has(_R.OPERATOR, _R.NETWORK_ADMIN, _R.NETWORK_MEMBER)
