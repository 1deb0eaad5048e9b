"""What a policy parameter actually is for a space, for other areas that act on it (e.g. chat).

A space's *governing value* is its explicit setting, or the parameter's default, pulled inside
its effective (enforced) policy: a network template that allows only ``facilitators`` to post
makes a space that never chose announcement-only for every space under it. Other areas must not
read ``spaces.settings`` directly for rules; they ask here, so there is one implementation.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from federation.policy import SettingValue, governing_value
from federation.policy.parameters import CATALOGUE
from federation.sharing import covers
from services.policies import loading
from services.policies import repository as policies_repository
from services.sharing import guests
from services.sharing import repository as sharing_repository
from services.sharing.repository import GuestShare
from services.spaces import repository


@dataclass(frozen=True, slots=True)
class Posting:
    """A space's chat posting rule: the governing ``chat.posting`` lets members post
    (``members``), except the members of ``restricted_guests`` — guest networks whose active
    agreement reaching the space narrows ``chat.posting`` to ``facilitators`` for their members
    (``federation.space_permissions.chat_posting_for``)."""

    members: bool
    restricted_guests: frozenset[uuid.UUID] = frozenset()


async def posting_rules(session: AsyncSession, space_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Posting]:
    """The posting rule of each existing space among ``space_ids``: its governing
    ``chat.posting`` and the guest networks whose agreements narrow it to facilitators.

    Four queries however many spaces are asked (the spaces, their ancestors, the templates
    attached on their networks and paths, the active agreements reaching them), so the chat's
    cache renews every room that went stale in one go rather than a few queries per room."""
    spaces = await repository.spaces_by_ids(session, list(dict.fromkeys(space_ids)))
    if not spaces:
        return {}
    on_paths = {a for s in spaces for a in s.path}
    by_id = {s.id: s for s in spaces}
    by_id.update((a.id, a) for a in await repository.spaces_by_ids(session, list(on_paths - by_id.keys())))
    attached = await policies_repository.attached_in_networks(
        session, {s.network_id for s in spaces}, on_paths | by_id.keys()
    )
    shares_on: dict[uuid.UUID, list[GuestShare]] = {}
    for share in await sharing_repository.active_shares_on(session, on_paths | {s.id for s in spaces}):
        shares_on.setdefault(share.space_id, []).append(share)
    out: dict[uuid.UUID, Posting] = {}
    for space in spaces:
        ancestors = [by_id[i] for i in space.path if i in by_id]
        policy = loading.space_policy(space.id, ancestors, attached[space.network_id])
        restricted = set()
        for share in (share for on in (space.id, *space.path) for share in shares_on.get(on, ())):
            if not covers(share.space_id, share.include_subspaces, space.id, space.path):
                continue
            narrowed = policy.narrow(*guests.guest_layers([share]))
            if governing_value(narrowed, space.settings, "chat.posting") == "facilitators":
                restricted.add(share.guest_network_id)
        members = governing_value(policy, space.settings, "chat.posting") != "facilitators"
        out[space.id] = Posting(members, frozenset(restricted))
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
