"""Who may read, post and moderate in a space's chat — decided by :mod:`federation.space_permissions`.

Chat over HTTP and over the websocket (subscribe, replay, presence, the periodic and the
after-commit re-check) asks here; the facts come from one query
(:func:`services.chat.repository.room_facts`) and the decision is the same
``space_actor`` + ``can_read_chat`` / ``can_post_chat`` / ``can_moderate_chat`` that every other
route uses, so a ban above, a lost network role or an ended share closes chat exactly when it
closes the space. The one SQL copy of the posting rule, on the send path, is tied to
:func:`federation.space_permissions.can_post_chat` by a property test.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from federation.networks import Role
from federation.permissions import Actor
from federation.sharing import covers
from federation.space_permissions import (
    SpaceActor,
    SpaceFacts,
    can_moderate_chat,
    can_post_chat,
    can_read_chat,
    chat_posting_for,
    space_actor,
)
from federation.spaces import JoinMode, MemberRole, MembershipFacts, MemberStatus, SpaceKind, Visibility
from realtime.interfaces import Rights
from services.chat import repository
from services.chat.repository import Executor, RoomFacts
from services.spaces.governing import Posting


def guest_networks_of(facts: RoomFacts) -> set[uuid.UUID]:
    """The account's networks with an active agreement reaching the space."""
    return {
        network
        for shared, include_subspaces, network, _role in facts.shares
        if covers(shared, include_subspaces, facts.space_id, facts.path)
    }


def actor_of(facts: RoomFacts) -> SpaceActor:
    """The account's roles relative to the space, from the loaded facts."""
    roles: dict[uuid.UUID, Role] = {}
    if facts.home_role is not None:
        roles[facts.network_id] = Role(facts.home_role)
    guest_networks = guest_networks_of(facts)
    for shared, include_subspaces, network, role in facts.shares:
        if covers(shared, include_subspaces, facts.space_id, facts.path):
            roles.setdefault(network, Role(role))
    membership = (
        MembershipFacts(MemberRole(facts.role), MemberStatus(facts.status), outside=facts.outside)
        if facts.role is not None and facts.status is not None
        else None
    )
    return space_actor(
        Actor(facts.account_id, network_roles=roles),
        home_network_id=facts.network_id,
        guest_network_ids=guest_networks,
        membership=membership,
        banned_above=facts.banned_above,
        muted=facts.muted,
    )


def space_facts(facts: RoomFacts, chat_posting: str | None) -> SpaceFacts:
    """The space's facts; ``chat_posting`` is the *governing* value (services.spaces.governing)."""
    return SpaceFacts(
        kind=SpaceKind(facts.kind),
        visibility=Visibility(facts.visibility),
        join_mode=JoinMode(facts.join_mode),
        chat_posting=chat_posting,
    )


def rights_of(facts: RoomFacts, posting: Posting | None) -> Rights:
    """Read / post / moderate for one account in one space, through the federation predicates.
    ``posting``: the space's rule (``services.spaces.governing.posting_rules``); None: unknown,
    only facilitators post (deny by default)."""
    who = actor_of(facts)
    chat_posting = None
    if posting is not None:
        chat_posting = chat_posting_for(
            who,
            posting_value(posting.members),
            guest_restricted=bool(guest_networks_of(facts) & posting.restricted_guests),
        )
    space = space_facts(facts, chat_posting)
    read = can_read_chat(who, space)
    post = can_post_chat(who, space)
    reason = "" if post else ("not_a_member" if not read else "muted" if facts.muted else "posting_restricted")
    return Rights(read=read, post=post, moderate=can_moderate_chat(who, space), reason=reason)


def posting_value(members_may_post: bool) -> str:
    """The governing ``chat.posting`` value behind :func:`services.spaces.governing.members_may_post`."""
    return "members" if members_may_post else "facilitators"


async def rights(
    db: Executor, account: uuid.UUID, spaces: Sequence[uuid.UUID], posting: Mapping[uuid.UUID, Posting]
) -> dict[uuid.UUID, Rights]:
    """Rights of ``account`` in each of ``spaces`` (one query; a missing space has none).
    ``posting``: the posting rule per space (absent: unknown, deny members)."""
    out: dict[uuid.UUID, Rights] = {}
    for facts in await repository.room_facts(db, [(account, s) for s in dict.fromkeys(spaces)]):
        out[facts.space_id] = rights_of(facts, posting.get(facts.space_id))
    return out


async def readable(db: Executor, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Of (account, space) pairs, those where the account may read the chat now (one query)."""
    return {
        (f.account_id, f.space_id)
        for f in await repository.room_facts(db, pairs)
        if can_read_chat(actor_of(f), space_facts(f, None))
    }
