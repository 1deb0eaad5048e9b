"""Chat access in the database equals the federation predicates, on random worlds.

Hypothesis builds random space trees across networks, network roles, space memberships (active,
facilitator, banned, invited, requested), bans above, and shares (active, pending, ended; with
and without sub-spaces) in the real PostgreSQL database. For every (account, space) it checks
that

* the send path's SQL posting check (``services.chat.repository._MAY_POST_SQL``, the one copy of
  the rule in SQL, kept for the hot path), for both governing ``chat.posting`` values, with
  agreements whose guest constraints let only facilitators post (``chat_posting_for``),
* the rights every other chat path uses (:func:`services.chat.access.rights`: HTTP, websocket
  subscribe, replay, presence), and the re-check of live subscriptions
  (:func:`services.chat.access.readable`),

answer exactly what ``space_actor`` + ``can_read_chat`` / ``can_post_chat`` / ``can_moderate_chat``
answer from the world as Hypothesis drew it. Each world lives in a transaction rolled back at
the end, so examples do not see each other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from federation.networks import Role
from federation.permissions import Actor
from federation.sharing import covers
from federation.space_permissions import (
    SpaceFacts,
    can_moderate_chat,
    can_post_chat,
    can_read_chat,
    chat_posting_for,
    space_actor,
)
from federation.spaces import JoinMode, MemberRole, MembershipFacts, MemberStatus, SpaceKind, Visibility
from services.chat import access, repository
from services.persistence.models import Account, Network, NetworkMember, Share, Space, SpaceMember
from services.spaces import governing
from services.spaces.governing import Posting

NETWORKS = 3
ACCOUNTS = 4
RESTRICT = {"chat.posting": {"allowed": ["facilitators"]}}
"""A guest network's constraint: its members may not post (only facilitators) in the shared space."""
ROW_KINDS = [None, ("member", "active"), ("facilitator", "active"), ("member", "banned"), ("member", "invited"),
             ("member", "requested"), ("facilitator", "banned")]  # fmt: skip


@dataclass
class World:
    """A drawn world, as plain Python (the expectation is computed from this, not from SQL)."""

    parents: list[int | None]
    """Space i's parent index (always a lower index) or None for a root."""
    root_networks: list[int]
    """Home network of each space (a child inherits its parent's)."""
    network_roles: dict[tuple[int, int], str]
    """(account, network) -> role."""
    rows: dict[tuple[int, int], tuple[str, str]]
    """(account, space) -> (role, status)."""
    shares: list[tuple[int, int, bool, str, bool]]
    """(space, guest network, include_subspaces, status, the agreement lets only facilitators post)."""
    ids: dict[str, list[uuid.UUID]] = field(default_factory=dict)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_spaces = draw(st.integers(1, 6))
    parents: list[int | None] = []
    homes: list[int] = []
    for i in range(n_spaces):
        parent = draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None
        parents.append(parent)
        homes.append(draw(st.integers(0, NETWORKS - 1)) if parent is None else homes[parent])
    network_roles = draw(
        st.dictionaries(
            st.tuples(st.integers(0, ACCOUNTS - 1), st.integers(0, NETWORKS - 1)),
            st.sampled_from(["member", "facilitator", "admin"]),
            max_size=ACCOUNTS * NETWORKS,
        )
    )
    rows: dict[tuple[int, int], tuple[str, str]] = {}
    for account in range(ACCOUNTS):
        for space in range(n_spaces):
            kind = draw(st.sampled_from(ROW_KINDS))
            if kind is not None:
                rows[(account, space)] = kind
    shares: dict[tuple[int, int], tuple[bool, str, bool]] = {}
    for space, guest, include, status, restrict in draw(
        st.lists(
            st.tuples(
                st.integers(0, n_spaces - 1),
                st.integers(0, NETWORKS - 1),
                st.booleans(),
                st.sampled_from(["active", "active", "pending", "ended"]),
                st.booleans(),
            ),
            max_size=5,
        )
    ):
        if guest != homes[space]:  # a space is shared with another network
            shares[(space, guest)] = (include, status, restrict)  # at most one agreement per pair (unique index)
    return World(parents, homes, network_roles, rows, [(s, g, *rest) for (s, g), rest in shares.items()])


def path_of(world: World, space: int) -> list[int]:
    """Ancestor indexes, root first."""
    out: list[int] = []
    parent = world.parents[space]
    while parent is not None:
        out.insert(0, parent)
        parent = world.parents[parent]
    return out


async def store(conn: AsyncConnection, world: World) -> None:
    """Insert the world (inside the caller's transaction)."""
    nets = [uuid.uuid4() for _ in range(NETWORKS)]
    accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
    spaces = [uuid.uuid4() for _ in world.parents]
    world.ids = {"networks": nets, "accounts": accounts, "spaces": spaces}
    tag = uuid.uuid4().hex[:8]
    await conn.execute(
        insert(Network),
        [{"id": n, "slug": f"p-{tag}-{i}", "name": f"N{i}", "kind": "district"} for i, n in enumerate(nets)],
    )
    await conn.execute(
        insert(Account),
        [{"id": a, "email": f"a{i}-{tag}@example.org", "display_name": f"A{i}"} for i, a in enumerate(accounts)],
    )
    if world.network_roles:
        await conn.execute(
            insert(NetworkMember),
            [
                {"network_id": nets[n], "account_id": accounts[a], "role": r}
                for (a, n), r in world.network_roles.items()
            ],
        )
    for i, parent in enumerate(world.parents):
        path = [spaces[p] for p in path_of(world, i)]
        await conn.execute(
            insert(Space).values(
                id=spaces[i],
                network_id=nets[world.root_networks[i]],
                parent_id=None if parent is None else spaces[parent],
                path=path,
                depth=len(path),
                name=f"S{i}",
                kind="identity",
                join_mode="open",
                visibility="unlisted" if i % 2 else "listed",
                settings={},
                subspace_constraints={},
            )
        )
    if world.rows:
        await conn.execute(
            insert(SpaceMember),
            [
                {"space_id": spaces[s], "account_id": accounts[a], "role": role, "status": status}
                for (a, s), (role, status) in world.rows.items()
            ],
        )
    now = dt.datetime.now(dt.UTC)
    for s, g, include, status, restrict in world.shares:
        await conn.execute(
            insert(Share).values(
                id=uuid.uuid4(),
                space_id=spaces[s],
                host_network_id=nets[world.root_networks[s]],
                guest_network_id=nets[g],
                include_subspaces=include,
                status=status,
                constraints=RESTRICT if restrict else {},
                created_at=now,
                expires_at=now + dt.timedelta(days=14),
            )
        )


def restricted_guests(world: World, space: int) -> frozenset[uuid.UUID]:
    """Guest networks whose active agreement reaching ``space`` lets only facilitators post."""
    nets, spaces = world.ids["networks"], world.ids["spaces"]
    path = [spaces[p] for p in path_of(world, space)]
    return frozenset(
        nets[g]
        for s, g, include, status, restrict in world.shares
        if restrict and status == "active" and covers(spaces[s], include, spaces[space], path)
    )


def expected(world: World, account: int, space: int, chat_posting: str) -> tuple[bool, bool, bool]:
    """(read, post, moderate) by the federation predicates, from the drawn world alone;
    ``chat_posting`` is the space's governing value (guest agreements may narrow it per actor)."""
    nets, spaces = world.ids["networks"], world.ids["spaces"]
    actor = Actor(
        world.ids["accounts"][account],
        network_roles={nets[n]: Role(r) for (a, n), r in world.network_roles.items() if a == account},
    )
    path = path_of(world, space)
    guest_networks = {
        nets[g]
        for s, g, include, status, _restrict in world.shares
        if status == "active" and covers(spaces[s], include, spaces[space], [spaces[p] for p in path])
    }
    row = world.rows.get((account, space))
    who = space_actor(
        actor,
        home_network_id=nets[world.root_networks[space]],
        guest_network_ids=guest_networks,
        membership=None if row is None else MembershipFacts(MemberRole(row[0]), MemberStatus(row[1])),
        banned_above=any(world.rows.get((account, p), ("", ""))[1] == "banned" for p in path),
    )
    mine = {n for (a, n), _r in world.network_roles.items() if a == account}
    restricted = any(nets[n] in restricted_guests(world, space) for n in mine)
    actor_posting = chat_posting_for(who, chat_posting, guest_restricted=restricted)
    facts = SpaceFacts(SpaceKind.IDENTITY, Visibility.LISTED, JoinMode.OPEN, actor_posting)
    return can_read_chat(who, facts), can_post_chat(who, facts), can_moderate_chat(who, facts)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds(), members_may_post=st.booleans())
# Always tried: a guest (account 0, only in network 0) in a space of network 1 whose agreement
# with network 0 lets only facilitators post; random worlds reach this only now and then.
@example(
    world=World([None], [1], {(0, 0): "member"}, {(0, 0): ("member", "active")}, [(0, 0, False, "active", True)]),
    members_may_post=True,
)
async def test_chat_access_in_sql_equals_the_federation_predicates(
    engine: AsyncEngine, world: World, members_may_post: bool
) -> None:
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            await store(conn, world)
            accounts, spaces = world.ids["accounts"], world.ids["spaces"]
            pairs = [(accounts[a], spaces[s]) for a in range(ACCOUNTS) for s in range(len(spaces))]
            readable = await access.readable(conn, pairs)
            posting = "members" if members_may_post else "facilitators"
            # The guest networks each space's agreements restrict, as the services compute them.
            async with AsyncSession(bind=conn) as session:
                rules = await governing.posting_rules(session, spaces)
            for s in range(len(spaces)):
                assert rules[spaces[s]].restricted_guests == restricted_guests(world, s), world
            restricted = {space: rule.restricted_guests for space, rule in rules.items()}
            drawn = {space: Posting(members_may_post, restricted[space]) for space in spaces}
            for a in range(ACCOUNTS):
                got = await access.rights(conn, accounts[a], spaces, drawn)
                for s in range(len(spaces)):
                    read, post, moderate = expected(world, a, s, posting)
                    where = f"account {a}, space {s} in {world}"
                    rights = got[spaces[s]]
                    assert (rights.read, rights.post, rights.moderate) == (read, post, moderate), where
                    assert ((accounts[a], spaces[s]) in readable) == read, where
                    for rule in (True, False):
                        sql = await repository.may_post(
                            conn,
                            spaces[s],
                            accounts[a],
                            members_may_post=rule,
                            restricted_guests=restricted[spaces[s]],
                        )
                        assert sql == expected(world, a, s, "members" if rule else "facilitators")[1], where
        finally:
            await trans.rollback()


def test_the_send_statements_check_is_the_tested_fragment() -> None:
    """Both send paths (SQLAlchemy for HTTP, plain asyncpg for the websocket) run the fragment the
    property test above checks, not a copy of it."""
    fragment = repository._MAY_POST_SQL.strip()
    assert fragment in repository._APPEND_SQL
    native = (
        fragment.replace(":space", "$1")
        .replace(":author", "$2")
        .replace(":members_may_post", "$6")
        .replace(":restricted_guests", "$7")
    )
    assert native in repository._APPEND_NATIVE
