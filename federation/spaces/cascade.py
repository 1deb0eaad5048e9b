"""Leaving, removal and bans cascade down the tree.

Leaving or being removed (or banned) from a space ends the account's membership of that space
and of every space beneath it, except memberships it holds on its own standing (e.g. joined as
a guest through a share with its own network), which do not depend on the space above.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from federation.spaces.tree import SpaceTree


@dataclass(frozen=True, slots=True)
class Membership:
    """An account's active membership of one space, as the cascade sees it."""

    space_id: uuid.UUID
    own_standing: bool = False  # held independently of the spaces above (e.g. a guest via a share)
    is_facilitator: bool = False


@dataclass(frozen=True, slots=True)
class FacilitatorShortfall:
    """A space the cascade would leave with fewer facilitators than its minimum."""

    space_id: uuid.UUID
    remaining: int
    minimum: int


@dataclass(frozen=True, slots=True)
class CascadePlan:
    """Memberships to end (the space itself first, then descendants top-down) and those kept."""

    remove: tuple[uuid.UUID, ...]
    kept: tuple[uuid.UUID, ...]
    shortfalls: tuple[FacilitatorShortfall, ...] = ()


def plan_cascade(
    tree: SpaceTree,
    space_id: uuid.UUID,
    memberships: Iterable[Membership],
    *,
    facilitator_counts: Mapping[uuid.UUID, int] | None = None,
    facilitator_minimums: Mapping[uuid.UUID, int] | None = None,
) -> CascadePlan:
    """Which of the account's memberships end when it leaves (or is removed from) ``space_id``.

    The membership of ``space_id`` itself always ends (when held). Below it, every membership
    ends except those on own standing. When ``facilitator_counts``/``facilitator_minimums`` are
    given, spaces where the account facilitates and would leave the space below its minimum are
    listed in ``shortfalls``: the caller refuses a voluntary leave, while a ban proceeds and the
    space shows as non-compliant.
    """
    held = {m.space_id: m for m in memberships}
    remove: list[uuid.UUID] = []
    kept: list[uuid.UUID] = []
    if space_id in held:
        remove.append(space_id)
    for sid in tree.descendants(space_id):
        m = held.get(sid)
        if m is None:
            continue
        (kept if m.own_standing else remove).append(sid)
    shortfalls: list[FacilitatorShortfall] = []
    if facilitator_counts is not None and facilitator_minimums is not None:
        for sid in remove:
            if not held[sid].is_facilitator:
                continue
            remaining = facilitator_counts.get(sid, 1) - 1
            minimum = facilitator_minimums.get(sid, 0)
            if remaining < minimum:
                shortfalls.append(FacilitatorShortfall(sid, remaining, minimum))
    return CascadePlan(tuple(remove), tuple(kept), tuple(shortfalls))
