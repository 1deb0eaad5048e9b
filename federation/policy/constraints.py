"""Constraint types and their intersection.

A constraint bounds one parameter. Each bound remembers its :class:`Source`. Intersecting two
constraints of the same parameter keeps, for every bound, the tighter value and the source
that set it (on a tie, the earlier source: the one nearer the network, which is the one a
space would have to negotiate with). Intersection never fails: an empty result (min above
max, no allowed choice left, two different locks) is a normal value that
:meth:`conflict` reports and that no setting satisfies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from federation.policy.parameters import SettingValue
from federation.policy.sources import Source


@dataclass(frozen=True, slots=True)
class Breach:
    """One bound a value does not satisfy: which bound, its limit, and who set it."""

    bound: str  # "min" | "max" | "allowed" | "locked" | "required"
    limit: object  # the bound's value in JSON-ready form (int, list of str, bool)
    source: Source
    detail: str  # words for the message, e.g. "is below the minimum 3"


@dataclass(frozen=True, slots=True)
class ConstraintConflict:
    """An empty constraint: no value satisfies it. Names every source involved."""

    bound: str
    message: str
    sources: tuple[Source, ...]


@dataclass(frozen=True, slots=True)
class RangeConstraint:
    """Integer (``min``/``max``) or duration (``max``) bounds. ``None`` values mean unlimited."""

    min: int | None = None
    min_source: Source | None = None
    max: int | None = None
    max_source: Source | None = None

    def intersect(self, other: Constraint) -> RangeConstraint:
        """The tighter of both bounds, each with its source; returns ``self`` when nothing tightens."""
        if type(other) is not RangeConstraint:
            raise TypeError(f"cannot intersect a range with {type(other).__name__}")
        lo, lo_src, hi, hi_src = self.min, self.min_source, self.max, self.max_source
        changed = False
        if other.min is not None and (lo is None or other.min > lo):
            lo, lo_src, changed = other.min, other.min_source, True
        if other.max is not None and (hi is None or other.max < hi):
            hi, hi_src, changed = other.max, other.max_source, True
        if not changed:
            return self
        return RangeConstraint(lo, lo_src, hi, hi_src)

    def check(self, value: SettingValue) -> list[Breach]:
        """The bounds ``value`` (an int, or None for unlimited) breaks."""
        if value is not None and not isinstance(value, int):
            return []  # wrong types are reported as input problems, not as breaches
        out: list[Breach] = []
        if self.min is not None and value is not None and value < self.min:
            assert self.min_source is not None
            out.append(Breach("min", self.min, self.min_source, f"is below the minimum {self.min}"))
        if self.max is not None and (value is None or value > self.max):
            assert self.max_source is not None
            words = "is unlimited, above the maximum" if value is None else "is above the maximum"
            out.append(Breach("max", self.max, self.max_source, f"{words} {self.max}"))
        return out

    def conflict(self) -> ConstraintConflict | None:
        """Min above max after intersection."""
        if self.min is None or self.max is None or self.min <= self.max:
            return None
        assert self.min_source is not None and self.max_source is not None
        return ConstraintConflict(
            "min",
            f"the minimum {self.min} set by {self.min_source.label()} is above the maximum {self.max} "
            f"set by {self.max_source.label()}",
            (self.min_source, self.max_source),
        )

    def key(self) -> tuple[object, ...]:
        """The bounds without provenance (for equality of results)."""
        return ("range", self.min, self.max)

    def raw(self) -> dict[str, object]:
        """The constraint in input form, e.g. ``{"min": 3}``."""
        out: dict[str, object] = {}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        return out

    def to_dict(self) -> dict[str, object]:
        """Input form plus ``sources`` per bound (the ``/policy`` endpoint's shape)."""
        out = self.raw()
        sources: dict[str, object] = {}
        if self.min_source is not None:
            sources["min"] = self.min_source.to_dict()
        if self.max_source is not None:
            sources["max"] = self.max_source.to_dict()
        out["sources"] = sources
        return out


@dataclass(frozen=True, slots=True)
class ChoiceConstraint:
    """An allowed subset of a choice parameter's values.

    ``excluded_by`` maps every choice that is *not* allowed to the source that first excluded
    it, so a refusal of ``invite`` names the template that ruled ``invite`` out.
    """

    allowed: frozenset[str]
    excluded_by: Mapping[str, Source]

    def intersect(self, other: Constraint) -> ChoiceConstraint:
        """Choices allowed by both; returns ``self`` when ``other`` excludes nothing new."""
        if type(other) is not ChoiceConstraint:
            raise TypeError(f"cannot intersect a choice with {type(other).__name__}")
        if self.allowed <= other.allowed:
            return self
        excluded = dict(self.excluded_by)
        for choice, source in other.excluded_by.items():
            excluded.setdefault(choice, source)
        return ChoiceConstraint(self.allowed & other.allowed, excluded)

    def check(self, value: SettingValue) -> list[Breach]:
        """A breach naming the source that excluded ``value``."""
        if value in self.allowed:
            return []
        source = self.excluded_by.get(value) if isinstance(value, str) else None
        if source is None:  # not a known choice at all; the caller reports it as a type problem
            return []
        return [Breach("allowed", sorted(self.allowed), source, f"is not one of the allowed {self._words()}")]

    def conflict(self) -> ConstraintConflict | None:
        """No choice left."""
        if self.allowed:
            return None
        sources = tuple(dict.fromkeys(self.excluded_by.values()))
        names = " and ".join(s.label() for s in sources)
        return ConstraintConflict("allowed", f"no choice is allowed by both {names}", sources)

    def _words(self) -> str:
        return ", ".join(sorted(self.allowed)) or "nothing"

    def key(self) -> tuple[object, ...]:
        """The bounds without provenance."""
        return ("choice", self.allowed)

    def raw(self) -> dict[str, object]:
        """Input form, ``{"allowed": [...]}``."""
        return {"allowed": sorted(self.allowed)}

    def to_dict(self) -> dict[str, object]:
        """Input form plus the source that excluded each other choice."""
        out = self.raw()
        out["sources"] = {"allowed": [s.to_dict() for s in dict.fromkeys(self.excluded_by.values())]}
        out["excluded_by"] = {c: s.to_dict() for c, s in sorted(self.excluded_by.items())}
        return out


@dataclass(frozen=True, slots=True)
class Lock:
    """One locked value of a flag and the source that locked it."""

    value: bool
    source: Source


@dataclass(frozen=True, slots=True)
class FlagConstraint:
    """A locked flag. ``locks`` holds the first lock of each value seen: one normally, two when
    sources disagree (a conflict: nothing satisfies it)."""

    locks: tuple[Lock, ...]

    @property
    def value(self) -> bool:
        """The locked value (the first lock's, when locks conflict)."""
        return self.locks[0].value

    def intersect(self, other: Constraint) -> FlagConstraint:
        """Adds ``other``'s locks of values not yet locked."""
        if type(other) is not FlagConstraint:
            raise TypeError(f"cannot intersect a flag with {type(other).__name__}")
        locks = self.locks
        for lock in other.locks:
            if all(mine.value != lock.value for mine in locks):
                locks = (*locks, lock)
        return self if locks is self.locks else FlagConstraint(locks)

    def check(self, value: SettingValue) -> list[Breach]:
        """A breach for every lock of another value."""
        return [
            Breach("locked", lock.value, lock.source, f"is locked to {str(lock.value).lower()}")
            for lock in self.locks
            if lock.value != value
        ]

    def conflict(self) -> ConstraintConflict | None:
        """Locked to both true and false."""
        if len(self.locks) < 2:
            return None
        a, b = self.locks[0], self.locks[1]
        return ConstraintConflict(
            "locked",
            f"{a.source.label()} locks it to {str(a.value).lower()} but {b.source.label()} "
            f"locks it to {str(b.value).lower()}",
            (a.source, b.source),
        )

    def key(self) -> tuple[object, ...]:
        """The locked values without provenance."""
        return ("flag", frozenset(lock.value for lock in self.locks))

    def raw(self) -> dict[str, object]:
        """Input form, ``{"locked": true, "value": ...}``."""
        return {"locked": True, "value": self.value}

    def to_dict(self) -> dict[str, object]:
        """Input form plus the locking source."""
        out = self.raw()
        out["sources"] = {"locked": self.locks[0].source.to_dict()}
        if len(self.locks) > 1:
            out["conflicting_lock"] = {"value": self.locks[1].value, "source": self.locks[1].source.to_dict()}
        return out


@dataclass(frozen=True, slots=True)
class SetConstraint:
    """Members a set setting must include; each remembers the first source that required it."""

    required_by: Mapping[str, Source]

    @property
    def required(self) -> frozenset[str]:
        """The required members."""
        return frozenset(self.required_by)

    def intersect(self, other: Constraint) -> SetConstraint:
        """Requires the union; returns ``self`` when ``other`` requires nothing new."""
        if type(other) is not SetConstraint:
            raise TypeError(f"cannot intersect a set with {type(other).__name__}")
        new = {m: s for m, s in other.required_by.items() if m not in self.required_by}
        if not new:
            return self
        return SetConstraint({**self.required_by, **new})

    def check(self, value: SettingValue) -> list[Breach]:
        """One breach per source whose required members are missing from ``value``."""
        have = value if isinstance(value, frozenset) else frozenset()
        missing: dict[Source, list[str]] = {}
        for member, source in self.required_by.items():
            if member not in have:
                missing.setdefault(source, []).append(member)
        return [
            Breach("required", sorted(members), source, f"lacks required {', '.join(sorted(members))}")
            for source, members in missing.items()
        ]

    def conflict(self) -> ConstraintConflict | None:
        """Requirements only add up; they never conflict."""
        return None

    def key(self) -> tuple[object, ...]:
        """The required members without provenance."""
        return ("set", frozenset(self.required_by))

    def raw(self) -> dict[str, object]:
        """Input form, ``{"required": [...]}``."""
        return {"required": sorted(self.required_by)}

    def to_dict(self) -> dict[str, object]:
        """Input form plus the source of each required member."""
        out = self.raw()
        out["sources"] = {"required": [s.to_dict() for s in dict.fromkeys(self.required_by.values())]}
        out["required_by"] = {m: s.to_dict() for m, s in sorted(self.required_by.items())}
        return out


#: Any constraint on one parameter.
Constraint: TypeAlias = RangeConstraint | ChoiceConstraint | FlagConstraint | SetConstraint
