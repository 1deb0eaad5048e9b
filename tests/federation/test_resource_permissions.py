"""Resource library rules: who reads, adds, pins, changes; what a link, tag and file name may be.

``test_chat_readers_always_hold_an_active_membership_row`` ties the search SQL to the domain:
search preselects candidate spaces by ``status = 'active'`` membership rows and then asks
``can_read_chat``; that is sound only while every actor ``can_read_chat`` accepts has an active
row, which this test checks over every combination of facts ``space_actor`` takes.
"""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation import resources as fr
from federation.networks import Role
from federation.permissions import Actor
from federation.space_permissions import SpaceActor, SpaceFacts, SpaceRole, can_read_chat, space_actor
from federation.spaces import JoinMode, MemberRole, MembershipFacts, MemberStatus, SpaceKind, Visibility

R = SpaceRole
MEMBERS_POST = SpaceFacts(SpaceKind.IDENTITY, Visibility.LISTED, JoinMode.REQUEST, "members")
FACILITATORS_POST = SpaceFacts(SpaceKind.IDENTITY, Visibility.UNLISTED, JoinMode.INVITE, "facilitators")
HOME, GUEST_NET, ELSEWHERE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def who(*roles: SpaceRole) -> SpaceActor:
    return SpaceActor(frozenset(roles))


def test_chat_readers_always_hold_an_active_membership_row() -> None:
    statuses = [None, *MemberStatus]
    memberships = [None] + [MembershipFacts(r, s) for r in MemberRole for s in MemberStatus]
    network_roles = [{}, {HOME: Role.MEMBER}, {HOME: Role.ADMIN}, {GUEST_NET: Role.MEMBER}, {ELSEWHERE: Role.ADMIN}]
    checked = 0
    for roles, operator, membership, parent, banned_above, muted, guests, facts in itertools.product(
        network_roles,
        (False, True),
        memberships,
        memberships,
        (False, True),
        (False, True),
        ((), (GUEST_NET,)),
        (MEMBERS_POST, FACILITATORS_POST),
    ):
        actor = Actor(uuid.uuid4(), is_operator=operator, network_roles=roles)
        sa = space_actor(
            actor,
            home_network_id=HOME,
            guest_network_ids=guests,
            membership=membership,
            parent_membership=parent,
            banned_above=banned_above,
            muted=muted,
        )
        if can_read_chat(sa, facts):
            assert membership is not None and membership.status is MemberStatus.ACTIVE, (roles, membership, sa)
            assert fr.can_read_space_resources(sa, facts)
        else:
            assert not fr.can_read_space_resources(sa, facts)
        checked += 1
    assert checked > 10_000 and statuses


@pytest.mark.parametrize("role", list(SpaceRole))
def test_library_follows_chat_for_every_single_role(role: SpaceRole) -> None:
    for facts in (MEMBERS_POST, FACILITATORS_POST):
        actor = who(role)
        assert fr.can_read_space_resources(actor, facts) == can_read_chat(actor, facts)
        assert fr.can_read_space_resources(actor, facts) == (role in {R.FACILITATOR, R.MEMBER, R.GUEST})
    assert fr.can_add_space_resource(who(role), MEMBERS_POST) == (role in {R.FACILITATOR, R.MEMBER, R.GUEST})
    assert fr.can_add_space_resource(who(role), FACILITATORS_POST) == (role is R.FACILITATOR)
    assert fr.can_pin_space_resource(who(role), MEMBERS_POST) == (role is R.FACILITATOR)
    assert fr.can_change_space_resource(who(role), MEMBERS_POST, is_author=False) == (role is R.FACILITATOR)


def test_authors_change_their_own_unless_muted_or_gone() -> None:
    assert fr.can_change_space_resource(who(R.MEMBER), MEMBERS_POST, is_author=True)
    assert fr.can_change_space_resource(who(R.GUEST), MEMBERS_POST, is_author=True)
    assert not fr.can_change_space_resource(who(R.MEMBER, R.MUTED), MEMBERS_POST, is_author=True)
    assert not fr.can_change_space_resource(who(R.NETWORK_MEMBER), MEMBERS_POST, is_author=True)  # left the space
    assert not fr.can_add_space_resource(who(R.MEMBER, R.MUTED), MEMBERS_POST)
    assert fr.can_change_space_resource(who(R.FACILITATOR, R.MUTED), MEMBERS_POST, is_author=False)
    # Operators and network admins manage spaces but do not read their chats or libraries.
    for role in (R.OPERATOR, R.NETWORK_ADMIN):
        assert not fr.can_read_space_resources(who(role), MEMBERS_POST)


def test_network_library() -> None:
    for role in SpaceRole:
        assert fr.can_read_network_library(who(role), public=False) == (
            role in {R.OPERATOR, R.NETWORK_ADMIN, R.NETWORK_MEMBER}
        )
        assert fr.can_read_network_library(who(role), public=True)
        assert fr.can_manage_network_library(who(role)) == (role in {R.OPERATOR, R.NETWORK_ADMIN})
    assert fr.can_read_network_library(None, public=True)
    assert not fr.can_read_network_library(None, public=False)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:x",
        "file:///etc/passwd",
        "ftp://example.org/x",
        "//example.org/x",
        "/x",
        "https://",
        "http:///x",
        "https://exa mple.org",
        "https://example.org/\x00",
        "https://example.org:notaport/",
        "https://" + "a" * 2000 + ".org",
    ],
)
def test_only_http_links(url: str) -> None:
    with pytest.raises(fr.ResourceInputError) as err:
        fr.check_url(url)
    assert err.value.code == "bad_url"


def test_good_links_and_fields() -> None:
    assert fr.check_url(" https://example.org/a?b=c#d ") == "https://example.org/a?b=c#d"
    assert fr.check_url("HTTP://Example.org") == "HTTP://Example.org"
    assert fr.check_title("  A\ttitle \n here ") == "A title here"
    assert fr.check_note("line 1\nline 2\x07") == "line 1\nline 2"
    assert fr.check_tags(["Book-Study", "book-study", " year 1 ", ""]) == ["book-study", "year 1"]
    for bad in (["x" * 41], ["<b>"], [f"t{n}" for n in range(11)]):
        with pytest.raises(fr.ResourceInputError):
            fr.check_tags(bad)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/", "file"),
        ("..", "file"),
        (".hidden.pdf", "hidden.pdf"),
        ("a/b/c.docx", "c.docx"),
        ("report (final).pdf", "report (final).pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ('x"; filename="evil.html', "x_ filename_evil.html"),
        ("informe-año.pdf", "informe-año.pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_safe_file_names(raw: str, safe: str) -> None:
    assert fr.safe_file_name(raw) == safe


@given(st.text(max_size=400))
def test_safe_file_names_never_escape_or_inject(raw: str) -> None:
    name = fr.safe_file_name(raw)
    assert name and len(name) <= fr.MAX_FILE_NAME
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert not any(c in name for c in "\r\n\"';<>\x00")
