"""Space permissions, table-driven: every function against every single role, allowed and refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from federation import space_permissions as sp
from federation.networks import Role
from federation.permissions import Actor
from federation.space_permissions import SpaceActor, SpaceFacts, SpaceRole, space_actor
from federation.spaces import JoinMode, MemberRole, MembershipFacts, MemberStatus, SpaceKind, Visibility

R = SpaceRole
LISTED = SpaceFacts(SpaceKind.IDENTITY, Visibility.LISTED, JoinMode.REQUEST, "members")
UNLISTED = SpaceFacts(SpaceKind.IDENTITY, Visibility.UNLISTED, JoinMode.REQUEST, "members")
UNLISTED_PM = SpaceFacts(SpaceKind.ROLE, Visibility.UNLISTED, JoinMode.PARENT_MEMBERS, "members")
FACILITATORS_POST = SpaceFacts(SpaceKind.TOPIC, Visibility.LISTED, JoinMode.OPEN, "facilitators")
NONE: frozenset[SpaceRole] = frozenset()
ALL_ROLES = [*SpaceRole, None]  # None: a signed-in non-member with no relation at all

SpaceCheck = Callable[[SpaceActor, SpaceFacts], bool]

# function, the space it is asked about, the roles that are allowed (every other single role is refused)
TABLE: list[tuple[str, SpaceCheck, SpaceFacts, set[SpaceRole]]] = [
    (
        "read listed",
        sp.can_read_space,
        LISTED,
        {
            R.OPERATOR,
            R.NETWORK_ADMIN,
            R.NETWORK_MEMBER,
            R.GUEST_NETWORK_MEMBER,
            R.FACILITATOR,
            R.MEMBER,
            R.GUEST,
            R.INVITED,
            R.PARENT_FACILITATOR,
        },
    ),
    (
        "read unlisted",
        sp.can_read_space,
        UNLISTED,
        {R.OPERATOR, R.NETWORK_ADMIN, R.FACILITATOR, R.MEMBER, R.GUEST, R.INVITED, R.PARENT_FACILITATOR},
    ),
    (
        "read unlisted parent_members",
        sp.can_read_space,
        UNLISTED_PM,
        {
            R.OPERATOR,
            R.NETWORK_ADMIN,
            R.FACILITATOR,
            R.MEMBER,
            R.GUEST,
            R.INVITED,
            R.PARENT_FACILITATOR,
            R.PARENT_MEMBER,
        },
    ),
    (
        "read policy",
        sp.can_read_policy,
        UNLISTED,
        {R.OPERATOR, R.NETWORK_ADMIN, R.FACILITATOR, R.MEMBER, R.GUEST, R.INVITED, R.PARENT_FACILITATOR},
    ),
    ("update settings", sp.can_update_space_settings, LISTED, {R.OPERATOR, R.NETWORK_ADMIN, R.FACILITATOR}),
    ("sub-space constraints", sp.can_set_subspace_constraints, LISTED, {R.OPERATOR, R.NETWORK_ADMIN, R.FACILITATOR}),
    ("manage facilitators", sp.can_manage_facilitators, LISTED, {R.OPERATOR, R.NETWORK_ADMIN, R.FACILITATOR}),
    ("view members (identity)", sp.can_view_members, LISTED, {R.FACILITATOR, R.MEMBER, R.GUEST}),
    ("view members (topic)", sp.can_view_members, FACILITATORS_POST, {R.FACILITATOR, R.MEMBER, R.GUEST}),
    ("approve requests", sp.can_approve_requests, LISTED, {R.FACILITATOR}),
    ("invite", sp.can_invite, LISTED, {R.FACILITATOR, R.NETWORK_ADMIN}),
    ("remove member", sp.can_remove_member, LISTED, {R.OPERATOR, R.NETWORK_ADMIN, R.FACILITATOR}),
    ("see to join listed", sp.can_see_to_join, LISTED, {R.NETWORK_MEMBER, R.GUEST_NETWORK_MEMBER}),
    ("see to join unlisted", sp.can_see_to_join, UNLISTED, set()),
    ("leave", sp.can_leave, LISTED, {R.FACILITATOR, R.MEMBER, R.GUEST}),
    ("read chat", sp.can_read_chat, LISTED, {R.FACILITATOR, R.MEMBER, R.GUEST}),
    ("post chat (members)", sp.can_post_chat, LISTED, {R.FACILITATOR, R.MEMBER, R.GUEST}),
    ("post chat (facilitators)", sp.can_post_chat, FACILITATORS_POST, {R.FACILITATOR}),
    ("moderate chat", sp.can_moderate_chat, LISTED, {R.FACILITATOR}),
    ("share", sp.can_share_space, LISTED, {R.OPERATOR, R.NETWORK_ADMIN}),
    (
        "create sub-space (actor relative to parent)",
        sp.can_create_space,
        LISTED,
        {R.OPERATOR, R.NETWORK_ADMIN, R.FACILITATOR},
    ),
]


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda r: r.value if r else "non_member")
@pytest.mark.parametrize(("name", "check", "space", "allowed"), TABLE, ids=[row[0] for row in TABLE])
def test_single_role_matrix(
    name: str, check: SpaceCheck, space: SpaceFacts, allowed: set[SpaceRole], role: SpaceRole | None
) -> None:
    actor = SpaceActor(frozenset({role}) if role else NONE)
    assert check(actor, space) is (role in allowed), f"{name}: {role}"


NetworkCheck = Callable[[SpaceActor], bool]
NETWORK_TABLE: list[tuple[str, NetworkCheck, set[SpaceRole]]] = [
    ("manage templates", sp.can_manage_templates, {R.OPERATOR, R.NETWORK_ADMIN}),
    ("read templates", sp.can_read_templates, {R.OPERATOR, R.NETWORK_ADMIN, R.NETWORK_MEMBER}),
    ("network compliance", sp.can_view_compliance, {R.OPERATOR, R.NETWORK_ADMIN}),
    ("create root space", lambda a: sp.can_create_space(a, None), {R.OPERATOR, R.NETWORK_ADMIN}),
]


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda r: r.value if r else "non_member")
@pytest.mark.parametrize(("name", "check", "allowed"), NETWORK_TABLE, ids=[row[0] for row in NETWORK_TABLE])
def test_network_level_matrix(name: str, check: NetworkCheck, allowed: set[SpaceRole], role: SpaceRole | None) -> None:
    actor = SpaceActor(frozenset({role}) if role else NONE)
    assert check(actor) is (role in allowed), f"{name}: {role}"


def test_a_ban_takes_away_space_roles_but_not_admin_rights() -> None:
    banned = SpaceActor(frozenset({R.MEMBER, R.FACILITATOR, R.BANNED, R.NETWORK_MEMBER}))
    assert banned.roles == {R.BANNED, R.NETWORK_MEMBER}
    assert not sp.can_read_chat(banned, LISTED) and not sp.can_post_chat(banned, LISTED)
    assert not sp.can_view_members(banned, LISTED) and not sp.can_see_to_join(banned, UNLISTED)
    admin = SpaceActor(frozenset({R.NETWORK_ADMIN, R.MEMBER, R.BANNED}))
    assert sp.can_update_space_settings(admin, LISTED) and not sp.can_read_chat(admin, LISTED)


def test_muted_members_and_facilitators_cannot_post_but_can_read() -> None:
    for role in (R.MEMBER, R.FACILITATOR, R.GUEST):
        muted = SpaceActor(frozenset({role, R.MUTED}))
        assert not sp.can_post_chat(muted, LISTED) and sp.can_read_chat(muted, LISTED)


def test_admins_and_operators_never_see_identity_membership_lists_or_chat() -> None:
    both = SpaceActor(frozenset({R.OPERATOR, R.NETWORK_ADMIN, R.NETWORK_MEMBER, R.PARENT_FACILITATOR}))
    assert not sp.can_view_members(both, LISTED)
    assert not sp.can_read_chat(both, LISTED)
    assert not sp.can_approve_requests(both, LISTED)


# ---- building roles from plain facts ---------------------------------------------------------

HOME = uuid.uuid5(uuid.NAMESPACE_URL, "home")
GUEST_NET = uuid.uuid5(uuid.NAMESPACE_URL, "guest")
ME = uuid.uuid5(uuid.NAMESPACE_URL, "me")
ACTIVE_MEMBER = MembershipFacts(MemberRole.MEMBER, MemberStatus.ACTIVE)
ACTIVE_FACILITATOR = MembershipFacts(MemberRole.FACILITATOR, MemberStatus.ACTIVE)


def roles(actor: Actor, **kw: object) -> frozenset[SpaceRole]:
    return space_actor(actor, home_network_id=HOME, **kw).roles  # type: ignore[arg-type]


def test_space_actor_from_network_roles() -> None:
    assert roles(Actor(ME)) == NONE
    assert roles(Actor(ME, is_operator=True)) == {R.OPERATOR}
    assert roles(Actor(ME, network_roles={HOME: Role.ADMIN})) == {R.NETWORK_ADMIN, R.NETWORK_MEMBER}
    assert roles(Actor(ME, network_roles={HOME: Role.FACILITATOR})) == {R.NETWORK_MEMBER}
    assert roles(Actor(ME, network_roles={GUEST_NET: Role.MEMBER}), guest_network_ids=[GUEST_NET]) == {
        R.GUEST_NETWORK_MEMBER
    }
    # a network the space is not shared with gives nothing
    assert roles(Actor(ME, network_roles={GUEST_NET: Role.ADMIN})) == NONE


def test_space_actor_from_membership_rows() -> None:
    home_member = Actor(ME, network_roles={HOME: Role.MEMBER})
    assert roles(home_member, membership=ACTIVE_MEMBER) == {R.NETWORK_MEMBER, R.MEMBER}
    assert roles(home_member, membership=ACTIVE_FACILITATOR) == {R.NETWORK_MEMBER, R.MEMBER, R.FACILITATOR}
    assert roles(home_member, membership=MembershipFacts(MemberRole.MEMBER, MemberStatus.INVITED)) == {
        R.NETWORK_MEMBER,
        R.INVITED,
    }
    assert roles(home_member, membership=MembershipFacts(MemberRole.MEMBER, MemberStatus.REQUESTED)) == {
        R.NETWORK_MEMBER
    }
    assert roles(home_member, membership=MembershipFacts(MemberRole.MEMBER, MemberStatus.BANNED)) == {
        R.NETWORK_MEMBER,
        R.BANNED,
    }
    assert roles(home_member, membership=ACTIVE_MEMBER, banned_above=True) == {R.NETWORK_MEMBER, R.BANNED}
    assert roles(home_member, membership=ACTIVE_MEMBER, muted=True) == {R.NETWORK_MEMBER, R.MEMBER, R.MUTED}
    assert roles(home_member, parent_membership=ACTIVE_FACILITATOR) == {
        R.NETWORK_MEMBER,
        R.PARENT_MEMBER,
        R.PARENT_FACILITATOR,
    }


def test_guests_lose_access_the_moment_a_share_ends() -> None:
    guest = Actor(ME, network_roles={GUEST_NET: Role.MEMBER})
    assert roles(guest, guest_network_ids=[GUEST_NET], membership=ACTIVE_MEMBER) == {R.GUEST_NETWORK_MEMBER, R.GUEST}
    # share ended: the row may still exist, but it no longer grants anything
    assert roles(guest, guest_network_ids=[], membership=ACTIVE_MEMBER) == NONE
    # someone who left the home network keeps no space role either
    assert roles(Actor(ME), membership=ACTIVE_FACILITATOR) == NONE


def test_an_invitation_counts_only_for_people_who_may_belong() -> None:
    invited = MembershipFacts(MemberRole.MEMBER, MemberStatus.INVITED)
    assert roles(Actor(ME), membership=invited) == NONE  # no role in the network, no share
    guest = Actor(ME, network_roles={GUEST_NET: Role.MEMBER})
    assert roles(guest, guest_network_ids=[GUEST_NET], membership=invited) == {R.GUEST_NETWORK_MEMBER, R.INVITED}
    assert roles(guest, membership=invited) == NONE  # the share ended


def test_may_belong() -> None:
    home = Actor(ME, network_roles={HOME: Role.MEMBER})
    guest = Actor(ME, network_roles={GUEST_NET: Role.MEMBER})
    assert sp.may_belong(space_actor(home, home_network_id=HOME))
    assert sp.may_belong(space_actor(guest, home_network_id=HOME, guest_network_ids=[GUEST_NET]))
    assert not sp.may_belong(space_actor(guest, home_network_id=HOME))
    assert not sp.may_belong(space_actor(Actor(ME, is_operator=True), home_network_id=HOME))
    assert not sp.may_belong(space_actor(home, home_network_id=HOME, banned_above=True))


def test_chat_posting_not_loaded_denies_members_but_not_facilitators() -> None:
    unknown = SpaceFacts(SpaceKind.TOPIC, Visibility.LISTED)
    assert unknown.chat_posting is None
    assert not sp.can_post_chat(SpaceActor(frozenset({R.MEMBER})), unknown)
    assert sp.can_post_chat(SpaceActor(frozenset({R.MEMBER, R.FACILITATOR})), unknown)


def test_a_guest_networks_agreement_narrows_posting_for_its_guests_only() -> None:
    guest = SpaceActor(frozenset({R.GUEST, R.GUEST_NETWORK_MEMBER}))
    home_member = SpaceActor(frozenset({R.MEMBER, R.NETWORK_MEMBER, R.GUEST_NETWORK_MEMBER}))
    guest_facilitator = SpaceActor(frozenset({R.GUEST, R.FACILITATOR, R.GUEST_NETWORK_MEMBER}))

    def may_post(actor: SpaceActor, space_posting: str | None, restricted: bool) -> bool:
        value = sp.chat_posting_for(actor, space_posting, guest_restricted=restricted)
        return sp.can_post_chat(actor, SpaceFacts(SpaceKind.TOPIC, Visibility.LISTED, chat_posting=value))

    assert may_post(guest, "members", restricted=False)
    assert not may_post(guest, "members", restricted=True)
    assert may_post(home_member, "members", restricted=True)  # a home member is no guest here
    assert may_post(guest_facilitator, "members", restricted=True)
    # Only ever tightens: no guest agreement lets a guest post where the host says facilitators.
    assert not may_post(guest, "facilitators", restricted=False)
    assert sp.chat_posting_for(guest, None, guest_restricted=False) is None
