"""The space tree and the rules for placing a space in it.

Placing (creating under a parent, or moving) a space is refused when the parent is unknown,
belongs to another network, is the space itself or one of its descendants (a cycle), or when
the space's subtree would nest deeper below some ancestor than that ancestor's
``nesting.max_depth`` allows. Every ancestor's limit applies, not just the parent's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from federation.policy import CATALOGUE, EffectivePolicy, ParameterRegistry, governing_value
from federation.spaces.model import SpaceNode


class TreeError(ValueError):
    """The stored parent links are broken (a cycle or a missing ancestor): a data bug, not input."""


class SpaceTree:
    """An immutable view of (part of) a network's space tree.

    It holds whichever nodes the caller loaded; ancestors of every node asked about must be
    included. Children are indexed lazily, on the first descendant query.
    """

    __slots__ = ("_children", "_nodes")

    def __init__(self, nodes: Iterable[SpaceNode]) -> None:
        self._nodes: dict[uuid.UUID, SpaceNode] = {n.id: n for n in nodes}
        self._children: dict[uuid.UUID, list[uuid.UUID]] | None = None

    def __contains__(self, space_id: object) -> bool:
        return space_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, space_id: uuid.UUID) -> SpaceNode | None:
        """The node, or None when not loaded."""
        return self._nodes.get(space_id)

    def __getitem__(self, space_id: uuid.UUID) -> SpaceNode:
        return self._nodes[space_id]

    def ancestors(self, space_id: uuid.UUID) -> list[uuid.UUID]:
        """Ancestor ids, nearest first (parent, grandparent, ..., root)."""
        out: list[uuid.UUID] = []
        node = self._nodes[space_id]
        while node.parent_id is not None:
            if len(out) >= len(self._nodes):
                raise TreeError(f"the parent links above space {space_id} form a cycle")
            out.append(node.parent_id)
            parent = self._nodes.get(node.parent_id)
            if parent is None:
                raise TreeError(f"ancestor {node.parent_id} of space {space_id} is not loaded")
            node = parent
        return out

    def path(self, space_id: uuid.UUID) -> list[uuid.UUID]:
        """Ids from the root down to ``space_id`` inclusive."""
        out = self.ancestors(space_id)
        out.reverse()
        out.append(space_id)
        return out

    def depth(self, space_id: uuid.UUID) -> int:
        """0 for a root space, 1 for its children, ..."""
        return len(self.ancestors(space_id))

    def is_ancestor(self, ancestor_id: uuid.UUID, space_id: uuid.UUID) -> bool:
        """True when ``ancestor_id`` is a proper ancestor of ``space_id``."""
        return ancestor_id in self.ancestors(space_id)

    def _child_index(self) -> dict[uuid.UUID, list[uuid.UUID]]:
        if self._children is None:
            index: dict[uuid.UUID, list[uuid.UUID]] = {}
            for node in self._nodes.values():
                if node.parent_id is not None:
                    index.setdefault(node.parent_id, []).append(node.id)
            self._children = index
        return self._children

    def children(self, space_id: uuid.UUID) -> list[uuid.UUID]:
        """Direct sub-spaces (in load order)."""
        return list(self._child_index().get(space_id, ()))

    def descendants(self, space_id: uuid.UUID, max_depth: int | None = None) -> list[uuid.UUID]:
        """Every space below ``space_id`` (breadth first), at most ``max_depth`` levels down."""
        index = self._child_index()
        out: list[uuid.UUID] = []
        level = [space_id]
        depth = 0
        seen = {space_id}
        while level and (max_depth is None or depth < max_depth):
            depth += 1
            nxt: list[uuid.UUID] = []
            for sid in level:
                for child in index.get(sid, ()):
                    if child in seen:
                        raise TreeError(f"the parent links below space {space_id} form a cycle")
                    seen.add(child)
                    nxt.append(child)
            out.extend(nxt)
            level = nxt
        return out

    def height(self, space_id: uuid.UUID) -> int:
        """Levels of sub-spaces below ``space_id`` (0 for a leaf)."""
        index = self._child_index()
        height = 0
        level = index.get(space_id, [])
        seen = {space_id}
        while level:
            height += 1
            nxt: list[uuid.UUID] = []
            for sid in level:
                if sid in seen:
                    raise TreeError(f"the parent links below space {space_id} form a cycle")
                seen.add(sid)
                nxt.extend(index.get(sid, ()))
            level = nxt
        return height


class PlacementCode(StrEnum):
    """Why a space cannot go where asked."""

    PARENT_NOT_FOUND = "parent_not_found"
    PARENT_IN_OTHER_NETWORK = "parent_in_other_network"
    CYCLE = "cycle"
    TOO_DEEP = "too_deep"


@dataclass(frozen=True, slots=True)
class PlacementProblem:
    """A reason the placement is refused; ``ancestor_id``/``limit`` are set for ``too_deep``."""

    code: PlacementCode
    message: str
    ancestor_id: uuid.UUID | None = None
    limit: int | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        out: dict[str, object] = {"code": str(self.code), "message": self.message}
        if self.ancestor_id is not None:
            out["ancestor_id"] = str(self.ancestor_id)
            out["limit"] = self.limit
        return out


def nesting_limit(
    policy: EffectivePolicy, settings: Mapping[str, object], registry: ParameterRegistry = CATALOGUE
) -> int | None:
    """How many levels of sub-spaces may nest below a space (None: no limit).

    The governing value of ``nesting.max_depth``: the space's setting (or default) pulled
    inside its enforced bounds, so a tightened template limits depth even before the space
    updates its setting.
    """
    value = governing_value(policy, settings, "nesting.max_depth", registry)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_placement(
    tree: SpaceTree,
    *,
    network_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    nesting_limits: Mapping[uuid.UUID, int | None],
    space_id: uuid.UUID | None = None,
) -> list[PlacementProblem]:
    """Problems with putting a space (new when ``space_id`` is None, else moved with its subtree)
    under ``parent_id`` in ``network_id``; empty when the placement is fine.

    ``nesting_limits`` maps ancestor ids to their :func:`nesting_limit`; missing means no
    limit. A root placement (``parent_id`` None) is always fine here.
    """
    if parent_id is None:
        return []
    parent = tree.get(parent_id)
    if parent is None:
        return [PlacementProblem(PlacementCode.PARENT_NOT_FOUND, f"parent space {parent_id} does not exist")]
    if parent.network_id != network_id:
        return [
            PlacementProblem(
                PlacementCode.PARENT_IN_OTHER_NETWORK,
                f"parent space '{parent.name or parent.id}' belongs to another network; a space and its "
                "parent share a home network (share the space instead)",
            )
        ]
    up = tree.ancestors(parent_id)
    if space_id is not None and (parent_id == space_id or space_id in up):
        return [
            PlacementProblem(
                PlacementCode.CYCLE,
                "a space cannot be moved under itself or one of its own sub-spaces",
            )
        ]
    height = tree.height(space_id) if space_id is not None and space_id in tree else 0
    problems: list[PlacementProblem] = []
    # depth of the placed space below each ancestor: 1 below the parent, 2 below the grandparent...
    for distance, ancestor_id in enumerate([parent_id, *up], start=1):
        limit = nesting_limits.get(ancestor_id)
        deepest = distance + height
        if limit is not None and deepest > limit:
            name = tree[ancestor_id].name or str(ancestor_id)
            what = "this space" if height == 0 else f"this space and its {height} level(s) of sub-spaces"
            problems.append(
                PlacementProblem(
                    PlacementCode.TOO_DEEP,
                    f"'{name}' allows sub-spaces {limit} level(s) deep (nesting.max_depth); "
                    f"{what} would reach {deepest}",
                    ancestor_id,
                    limit,
                )
            )
    return problems
