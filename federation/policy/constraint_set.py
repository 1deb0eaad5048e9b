"""Constraints on many parameters at once, and a layer: one source's constraints."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping
from dataclasses import dataclass

from federation.policy.constraints import Constraint, ConstraintConflict
from federation.policy.sources import Mode, Source


class ConstraintSet:
    """An immutable mapping from parameter name to :data:`Constraint`.

    Not a ``collections.abc.Mapping`` subclass on purpose: the ABC's mixin methods are slower,
    and intersection sits on the hot path of every settings write.
    """

    __slots__ = ("_conflicts", "_items")

    def __init__(self, items: Mapping[str, Constraint] | None = None) -> None:
        self._items: dict[str, Constraint] = dict(items) if items else {}
        # Computed on first use: sets are immutable and shared by every space below the layer
        # that produced them, so a network report asks the same set many times.
        self._conflicts: list[tuple[str, ConstraintConflict]] | None = None

    def intersect(self, other: ConstraintSet) -> ConstraintSet:
        """Parameter-wise intersection; returns ``self`` when ``other`` tightens nothing."""
        if not other._items:
            return self
        if not self._items:
            return other
        merged: dict[str, Constraint] | None = None
        mine = self._items
        for name, theirs in other._items.items():
            current = mine.get(name)
            result = theirs if current is None else current.intersect(theirs)
            if result is not current:
                if merged is None:
                    merged = dict(mine)
                merged[name] = result
        if merged is None:
            return self
        out = ConstraintSet.__new__(ConstraintSet)
        out._items = merged
        out._conflicts = None
        return out

    def get(self, name: str) -> Constraint | None:
        """The constraint on ``name``, or None when it is unconstrained."""
        return self._items.get(name)

    def __getitem__(self, name: str) -> Constraint:
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstraintSet) and self._items == other._items

    __hash__ = None  # type: ignore[assignment]  # mutable-looking container semantics; never hashed

    def __repr__(self) -> str:
        return f"ConstraintSet({self._items!r})"

    def keys(self) -> KeysView[str]:
        """Constrained parameter names."""
        return self._items.keys()

    def items(self) -> ItemsView[str, Constraint]:
        """(parameter, constraint) pairs."""
        return self._items.items()

    def key(self) -> dict[str, tuple[object, ...]]:
        """Bounds without provenance, per parameter (for comparing results)."""
        return {name: c.key() for name, c in self._items.items()}

    def conflicts(self) -> list[tuple[str, ConstraintConflict]]:
        """Every parameter whose constraint is empty, with the conflict that emptied it."""
        if self._conflicts is None:
            out: list[tuple[str, ConstraintConflict]] = []
            for name, c in self._items.items():
                conflict = c.conflict()
                if conflict is not None:
                    out.append((name, conflict))
            self._conflicts = out
        return list(self._conflicts)

    def raw(self) -> dict[str, dict[str, object]]:
        """Input form (what :func:`parse_constraints` accepts), without provenance."""
        return {name: c.raw() for name, c in self._items.items()}

    def to_dict(self) -> dict[str, dict[str, object]]:
        """Input form plus sources, per parameter."""
        return {name: c.to_dict() for name, c in self._items.items()}


EMPTY_SET = ConstraintSet()


@dataclass(frozen=True, slots=True)
class PolicyLayer:
    """One source's constraints: a template version, an ancestor's constraints for its
    sub-spaces, a network's or a guest network's. Build it with
    :func:`federation.policy.parse_constraints`, which stamps ``source`` on every bound."""

    source: Source
    constraints: ConstraintSet

    @property
    def mode(self) -> Mode:
        """The source's mode (templates may warn or audit; everything else enforces)."""
        return self.source.mode
