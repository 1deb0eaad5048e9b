"""``governing.posting_rules`` for many spaces at once equals the one-space-at-a-time algorithm.

``posting_rules`` computes every asked space's chat posting rule (the governing ``chat.posting``
and the guest networks whose agreements narrow it to facilitators) in a constant number of
queries. The algorithm it replaces, which loaded each space, its ancestors, the templates on its
path and the agreements reaching it one space at a time, is kept here verbatim as
:func:`reference_posting_rules`.

Hypothesis builds random worlds in the real PostgreSQL database: forests of spaces over one to
three networks, each space's own ``chat.posting`` (absent, members, facilitators, or a value
that no longer parses) and its constraints for sub-spaces, policy templates (enforce, warn and
audit; a current version and an older one) attached to a whole network or to a space, in a
drawn creation order, archived spaces, and agreements (active, pending, ended; with and without
sub-spaces) whose guest constraints narrow, widen, leave alone or fail to parse. It checks that
both answer the same for every space, for a drawn subset with duplicates and an unknown id, and
for each space alone; and that both answer what an independent model of the drawn world says,
so the comparison cannot pass on worlds where nothing is at stake. Each world lives in a
transaction rolled back at the end, so examples do not see each other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from federation.policy import governing_value
from federation.sharing import covers
from services.persistence.models import (
    Network,
    PolicyAttachment,
    PolicyTemplate,
    PolicyTemplateVersion,
    Share,
    Space,
)
from services.policies.loading import policy_of
from services.sharing import guests
from services.sharing import repository as sharing_repository
from services.spaces import governing
from services.spaces import repository as spaces_repository
from services.spaces.governing import Posting


async def reference_posting_rules(session: AsyncSession, space_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Posting]:
    """The old algorithm, one space at a time (four queries per space): the reference."""
    out = {}
    for space_id in dict.fromkeys(space_ids):
        space = await spaces_repository.get_space(session, space_id)
        if space is None:
            continue
        policy = await policy_of(session, space, await spaces_repository.ancestors(session, space))
        restricted = set()
        for share in await sharing_repository.active_shares_on(session, [space.id, *space.path]):
            if not covers(share.space_id, share.include_subspaces, space.id, space.path):
                continue
            narrowed = policy.narrow(*guests.guest_layers([share]))
            if governing_value(narrowed, space.settings, "chat.posting") == "facilitators":
                restricted.add(share.guest_network_id)
        members = governing_value(policy, space.settings, "chat.posting") != "facilitators"
        out[space_id] = Posting(members, frozenset(restricted))
    return out


DOCS: dict[str, dict[str, Any]] = {
    "none": {},
    "facilitators": {"chat.posting": {"allowed": ["facilitators"]}},
    "members": {"chat.posting": {"allowed": ["members"]}},
    "either": {"chat.posting": {"allowed": ["members", "facilitators"]}},
    "depth": {"nesting.max_depth": {"max": 3}},
    "facilitators+depth": {"chat.posting": {"allowed": ["facilitators"]}, "nesting.max_depth": {"max": 5}},
    "bogus": {"chat.posting": {"allowed": ["everyone"]}},
}
"""Constraint documents by name (World keeps names so a failing world reads well). A choice
parameter's bound takes only ``allowed`` (``federation.policy.parsing``). ``bogus`` does not
parse: only agreements use it (``guest_layers`` skips it); templates and sub-space constraints
are validated on write, so they only use the others."""
TEMPLATE_DOCS = ["facilitators", "facilitators", "facilitators+depth", "members", "members", "either", "depth", "none"]
SUBSPACE_DOCS = ["none", "none", "facilitators", "either", "members"]
SHARE_DOCS = ["none", "none", "facilitators", "facilitators", "facilitators", "members", "either", "bogus", "depth"]
SETTINGS = [None, None, None, "members", "members", "facilitators", "facilitators", "everyone"]
"""A space's own stored ``chat.posting``: None is absent; ``everyone`` is no choice (the default stands in)."""
MODES = ["enforce", "enforce", "enforce", "warn", "audit"]
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclass
class Template:
    network: int
    mode: str
    doc: str
    """The current version's constraints (a DOCS name)."""
    version: int
    """The current version (1 or 2)."""
    older: str
    """Version 1's constraints when the current version is 2."""


@dataclass
class World:
    """A drawn world, as plain Python (the model's expectation is computed from this, not from SQL)."""

    networks: int
    parents: list[int | None]
    """Space i's parent index (always a lower index) or None for a root."""
    homes: list[int]
    """Home network of each space (a child inherits its parent's)."""
    settings: list[str | None]
    """Each space's own stored ``chat.posting`` (None: absent)."""
    subspace: list[str]
    """Each space's constraints for its sub-spaces (a DOCS name)."""
    archived: list[bool]
    templates: list[Template]
    attachments: list[tuple[int, int | None]]
    """(template, space or None for the whole network), in creation order."""
    shares: list[tuple[int, int, bool, str, str]]
    """(space, guest network, include_subspaces, status, guest constraints as a DOCS name)."""
    ask: list[int]
    """A subset to ask for, with duplicates; index ``len(parents)`` stands for an id no space has."""
    ids: dict[str, list[uuid.UUID]] = field(default_factory=dict)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    networks = draw(st.sampled_from([1, 2, 2, 3, 3]))
    n_spaces = draw(st.integers(1, 9))
    parents: list[int | None] = []
    homes: list[int] = []
    for i in range(n_spaces):
        parent = draw(st.one_of(st.none(), st.integers(0, i - 1), st.integers(0, i - 1))) if i else None
        parents.append(parent)
        homes.append(draw(st.integers(0, networks - 1)) if parent is None else homes[parent])
    own = [draw(st.sampled_from(SETTINGS)) for _ in range(n_spaces)]
    subspace = [draw(st.sampled_from(SUBSPACE_DOCS)) for _ in range(n_spaces)]
    archived = [draw(st.sampled_from([False, False, False, True])) for _ in range(n_spaces)]
    templates = draw(
        st.lists(
            st.builds(
                Template,
                st.integers(0, networks - 1),
                st.sampled_from(MODES),
                st.sampled_from(TEMPLATE_DOCS),
                st.integers(1, 2),
                st.sampled_from(TEMPLATE_DOCS),
            ),
            min_size=1,
            max_size=5,
        )
    )
    # Each template at most once network-wide and once per space (unique indexes). Network-wide
    # now and then only: such a template binds every space of its network and so hides the others.
    attachments: list[tuple[int, int | None]] = [
        (t, None) for t in range(len(templates)) if draw(st.sampled_from([False, False, True]))
    ]
    for space in range(n_spaces):
        theirs = [t for t, template in enumerate(templates) if template.network == homes[space]]
        if theirs:
            attachments.extend((t, space) for t in draw(st.lists(st.sampled_from(theirs), max_size=2, unique=True)))
    attachments = list(draw(st.permutations(attachments)))  # creation order, across templates and spaces
    shares: dict[tuple[int, int], tuple[bool, str, str]] = {}
    for space, other, include, status, doc in draw(
        st.lists(
            st.tuples(
                st.integers(0, n_spaces - 1),
                st.integers(1, 2),
                st.booleans(),
                st.sampled_from(["active", "active", "active", "pending", "ended"]),
                st.sampled_from(SHARE_DOCS),
            ),
            min_size=1 if networks > 1 else 0,
            max_size=8 if networks > 1 else 0,  # a space is shared with another network
        )
    ):
        guest = (homes[space] + other) % networks
        if guest != homes[space]:
            shares[(space, guest)] = (include, status, doc)  # at most one agreement per pair (unique index)
    picked = draw(st.lists(st.integers(0, n_spaces - 1), max_size=8))
    ask = list(draw(st.permutations([*picked, n_spaces, *picked[:1]])))  # an unknown id, a duplicate
    return World(
        networks,
        parents,
        homes,
        own,
        subspace,
        archived,
        templates,
        attachments,
        [(s, g, *rest) for (s, g), rest in shares.items()],
        ask,
    )


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
    nets = [uuid.uuid4() for _ in range(world.networks)]
    spaces = [uuid.uuid4() for _ in world.parents]
    templates = [uuid.uuid4() for _ in world.templates]
    world.ids = {"networks": nets, "spaces": spaces, "templates": templates}
    tag = uuid.uuid4().hex[:8]
    await conn.execute(
        insert(Network),
        [{"id": n, "slug": f"pr-{tag}-{i}", "name": f"N{i}", "kind": "district"} for i, n in enumerate(nets)],
    )
    for i, parent in enumerate(world.parents):
        path = [spaces[p] for p in path_of(world, i)]
        await conn.execute(
            insert(Space).values(
                id=spaces[i],
                network_id=nets[world.homes[i]],
                parent_id=None if parent is None else spaces[parent],
                path=path,
                depth=len(path),
                name=f"S{i}",
                kind="identity",
                join_mode="open",
                visibility="listed",
                settings={} if world.settings[i] is None else {"chat.posting": world.settings[i]},
                subspace_constraints=DOCS[world.subspace[i]],
                archived_at=T0 if world.archived[i] else None,
            )
        )
    for t, template in enumerate(world.templates):
        await conn.execute(
            insert(PolicyTemplate).values(
                id=templates[t],
                network_id=nets[template.network],
                name=f"T{t}",
                mode=template.mode,
                current_version=template.version,
            )
        )
        versions = {template.version: template.doc}
        if template.version == 2:
            versions[1] = template.older
        await conn.execute(
            insert(PolicyTemplateVersion),
            [{"template_id": templates[t], "version": v, "constraints": DOCS[doc]} for v, doc in versions.items()],
        )
    for i, (t, target) in enumerate(world.attachments):
        await conn.execute(
            insert(PolicyAttachment).values(
                id=uuid.uuid4(),
                template_id=templates[t],
                network_id=nets[world.templates[t].network],
                space_id=None if target is None else spaces[target],
                created_at=T0 + dt.timedelta(seconds=i),  # distinct: attachments are read in created_at order
            )
        )
    for i, (s, g, include, status, doc) in enumerate(world.shares):
        created = T0 + dt.timedelta(minutes=i)
        await conn.execute(
            insert(Share).values(
                id=uuid.uuid4(),
                space_id=spaces[s],
                host_network_id=nets[world.homes[s]],
                guest_network_id=nets[g],
                include_subspaces=include,
                status=status,
                constraints=DOCS[doc],
                created_at=created,
                expires_at=created + dt.timedelta(days=14),
            )
        )


def allowed(doc: str) -> frozenset[str] | None:
    """The ``chat.posting`` choices a constraint document allows (None: it does not bound it, or
    does not parse)."""
    spec = DOCS[doc].get("chat.posting")
    if spec is None or not set(spec["allowed"]) <= {"members", "facilitators"}:
        return None
    return frozenset(spec["allowed"])


def governed(own: str | None, bounds: list[frozenset[str]]) -> str:
    """The space's ``chat.posting`` (default ``members``) pulled inside every bound: kept when
    allowed, else the strictest allowed choice, else (no choice left) ``facilitators``."""
    value = own if own in ("members", "facilitators") else "members"
    if not bounds:
        return value
    left = frozenset.intersection(*bounds)
    if value in left:
        return value
    return "members" if left == {"members"} else "facilitators"


def modelled(world: World, space: int) -> Posting:
    """A space's posting rule from the drawn world alone: the enforce-mode templates attached to its
    network or on its path (current version), its ancestors' constraints for sub-spaces, its own
    setting; and per active agreement reaching it, those narrowed by the guest constraints."""
    path = path_of(world, space)
    bounds: list[frozenset[str]] = []
    for t, target in world.attachments:
        template = world.templates[t]
        if template.network != world.homes[space] or template.mode != "enforce":
            continue
        if target is None or target == space or target in path:
            bound = allowed(template.doc)
            if bound is not None:
                bounds.append(bound)
    bounds.extend(b for a in path if (b := allowed(world.subspace[a])) is not None)
    own = world.settings[space]
    restricted = set()
    for s, g, include, status, doc in world.shares:
        if status != "active" or not (s == space or (include and s in path)):
            continue
        guest = allowed(doc)
        if governed(own, [*bounds, guest] if guest is not None else bounds) == "facilitators":
            restricted.add(world.ids["networks"][g])
    return Posting(governed(own, bounds) != "facilitators", frozenset(restricted))


async def compare(conn: AsyncConnection, world: World, space_ids: list[uuid.UUID]) -> dict[uuid.UUID, Posting]:
    """``posting_rules`` and the reference on ``space_ids``, each in its own session; asserts they
    agree and returns the answer."""
    async with AsyncSession(bind=conn) as session:
        got = await governing.posting_rules(session, space_ids)
    async with AsyncSession(bind=conn) as session:
        want = await reference_posting_rules(session, space_ids)
    assert got == want, f"asked {space_ids} in {world}"
    return got


# Always tried (random worlds reach each part only now and then):
# * network 0 lets only facilitators post (a network-wide template), so its spaces 0 and 1 (an
#   archived sub-space; archived spaces have rules too) have members=False, and its agreement
#   with network 2 on space 0 and its sub-spaces restricts network 2's members in both;
# * space 2 of network 1 chose facilitators-only, but a template attached to it (current version
#   2 allows only members; its older version 1 only facilitators) pulls it back to members, and
#   so for its sub-space 3 (the template binds the subtree); a warn-mode facilitators-only
#   template on network 1 does not govern; its agreement with network 0, with sub-spaces, narrows
#   chat.posting to facilitators (no choice left) for network 0's members in spaces 2 and 3;
# * a pending restricting agreement on space 1 restricts nobody.
FACILITATORS_ONLY_AND_A_RESTRICTING_AGREEMENT = World(
    networks=3,
    parents=[None, 0, None, 2],
    homes=[0, 0, 1, 1],
    settings=[None, "members", "facilitators", "facilitators"],
    subspace=["none", "none", "none", "none"],
    archived=[False, True, False, False],
    templates=[
        Template(0, "enforce", "facilitators", 1, "none"),
        Template(1, "enforce", "members", 2, "facilitators"),
        Template(1, "warn", "facilitators", 1, "none"),
    ],
    attachments=[(0, None), (2, None), (1, 2)],
    shares=[
        (2, 0, True, "active", "facilitators"),
        (0, 2, True, "active", "none"),
        (1, 1, False, "pending", "facilitators"),
    ],
    ask=[3, 4, 0, 3],
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
@example(world=FACILITATORS_ONLY_AND_A_RESTRICTING_AGREEMENT)
async def test_posting_rules_for_many_spaces_equal_the_one_by_one_algorithm(engine: AsyncEngine, world: World) -> None:
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            await store(conn, world)
            spaces = world.ids["spaces"]
            unknown = uuid.uuid4()
            everything = await compare(conn, world, spaces)
            # Not vacuous: both answer what the drawn world says (no templates, settings or
            # agreements: members post and no guest is restricted).
            assert everything == {spaces[s]: modelled(world, s) for s in range(len(spaces))}, world
            event(f"a space where members may not post: {any(not p.members for p in everything.values())}")
            event(f"a space with restricted guests: {any(p.restricted_guests for p in everything.values())}")
            event(f"a template attached to a space: {any(t is not None for _, t in world.attachments)}")
            asked = [spaces[i] if i < len(spaces) else unknown for i in world.ask]
            some = await compare(conn, world, asked)
            assert set(some) == set(asked) - {unknown}, world
            assert some == {s: everything[s] for s in some}, world
            for s in spaces:
                assert await compare(conn, world, [s]) == {s: everything[s]}, world
            assert await compare(conn, world, [unknown]) == {}
            assert await compare(conn, world, []) == {}
        finally:
            await trans.rollback()


async def test_a_facilitators_only_network_and_a_restricting_agreement(engine: AsyncEngine) -> None:
    """The world above, answered exactly: members=False and restricted guests both occur."""
    world = FACILITATORS_ONLY_AND_A_RESTRICTING_AGREEMENT
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            await store(conn, world)
            nets, spaces = world.ids["networks"], world.ids["spaces"]
            assert await compare(conn, world, spaces) == {
                spaces[0]: Posting(False, frozenset({nets[2]})),
                spaces[1]: Posting(False, frozenset({nets[2]})),
                spaces[2]: Posting(True, frozenset({nets[0]})),
                spaces[3]: Posting(True, frozenset({nets[0]})),
            }
            assert await compare(conn, world, [spaces[3]]) == {spaces[3]: Posting(True, frozenset({nets[0]}))}
        finally:
            await trans.rollback()
