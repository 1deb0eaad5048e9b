"""What a policy parameter actually is for a space, for other areas that act on it (e.g. chat).

A space's *governing value* is its explicit setting, or the parameter's default, pulled inside
its effective (enforced) policy: a network template that allows only ``facilitators`` to post
makes a space that never chose announcement-only for every space under it. Other areas must not
read ``spaces.settings`` directly for rules; they ask here, so there is one implementation.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from federation.policy import SettingValue, governing_value
from federation.policy.parameters import CATALOGUE
from federation.sharing import covers
from services.policies import loading
from services.policies import repository as policies_repository
from services.policies.loading import policy_of
from services.sharing import guests
from services.sharing import repository as sharing_repository
from services.spaces import repository


async def governing_values(
    session: AsyncSession, space_ids: Sequence[uuid.UUID], parameter: str
) -> dict[uuid.UUID, SettingValue]:
    """The governing value of ``parameter`` for each existing space (three queries per space)."""
    out: dict[uuid.UUID, SettingValue] = {}
    for space_id in dict.fromkeys(space_ids):
        space = await repository.get_space(session, space_id)
        if space is None:
            continue
        policy = await policy_of(session, space, await repository.ancestors(session, space))
        out[space_id] = governing_value(policy, space.settings, parameter)
    return out


async def members_may_post(session: AsyncSession, space_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """Whether members (not only facilitators) may post in each space's chat."""
    rules = await governing_values(session, space_ids, "chat.posting")
    return {space_id: rule != "facilitators" for space_id, rule in rules.items()}


@dataclass(frozen=True, slots=True)
class Posting:
    """A space's chat posting rule: the governing ``chat.posting`` lets members post
    (``members``), except the members of ``restricted_guests`` — guest networks whose active
    agreement reaching the space narrows ``chat.posting`` to ``facilitators`` for their members
    (``federation.space_permissions.chat_posting_for``)."""

    members: bool
    restricted_guests: frozenset[uuid.UUID] = frozenset()


async def posting_rules(session: AsyncSession, space_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Posting]:
    """The posting rule of each existing space: its governing ``chat.posting`` and the guest
    networks whose agreements narrow it (four queries per space)."""
    out: dict[uuid.UUID, Posting] = {}
    for space_id in dict.fromkeys(space_ids):
        space = await repository.get_space(session, space_id)
        if space is None:
            continue
        policy = await policy_of(session, space, await repository.ancestors(session, space))
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


@dataclass(frozen=True, slots=True)
class Governed:
    """A space's governing value of one parameter, and why its own stored setting was not usable
    (a value from before bounds existed, or written around the API; the default stood in)."""

    value: SettingValue
    unusable: str | None = None


async def in_network(
    session: AsyncSession, network_id: uuid.UUID, parameter: str, spaces: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, Governed]:
    """The governing value of ``parameter`` for the network's spaces (all, or those in ``spaces``):
    two queries for the whole network (its spaces, its attached templates), for background jobs
    that act on many spaces at once (the chat retention purge)."""
    everything = await policies_repository.network_spaces(session, network_id)
    resolver = loading.resolver_for(everything, await policies_repository.attached_templates(session, network_id, None))
    param = CATALOGUE[parameter]
    out: dict[uuid.UUID, Governed] = {}
    for space in everything:
        if spaces is not None and space.id not in spaces:
            continue
        unusable = None
        if parameter in space.settings:
            try:
                param.normalise(space.settings[parameter])
            except (ValueError, OverflowError) as exc:
                unusable = str(exc)
        out[space.id] = Governed(governing_value(resolver.policy(space.id), space.settings, parameter), unusable)
    return out
