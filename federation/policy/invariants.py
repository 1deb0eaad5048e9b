"""Invariants: settings that describe a space's own state must be true of that state.

A setting can lie inside every bound and still be false of the space: ``facilitators.min_count``
of 3 on a space with two facilitators, ``membership.max_members`` of 10 on a space with 12
members, ``nesting.max_depth`` of 1 over sub-spaces two levels deep. :func:`check_invariants`
holds the *governing* values (:mod:`federation.policy.values`) against the facts the caller
counted and returns typed :class:`~federation.policy.validation.Violation` values, like a bound
breach: ``value`` is the fact, ``limit`` the governing value, ``source`` whoever set it (the
template or ancestor whose bound pulled the value there, or the space itself), ``explicit``
False (the value is a count, not a setting).

Every area that refuses a write because of one of these asks here, so the wording, the
orientation of ``value``/``limit`` and the source are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from federation.policy.constraints import RangeConstraint
from federation.policy.effective import EffectivePolicy
from federation.policy.parameters import CATALOGUE, ParameterRegistry
from federation.policy.sources import Mode, Source
from federation.policy.validation import Violation
from federation.policy.values import governing_value


class Invariant(StrEnum):
    """A parameter whose value must be true of the space's state (the value is its name)."""

    FACILITATOR_MINIMUM = "facilitators.min_count"
    MEMBER_CAP = "membership.max_members"
    NESTING_DEPTH = "nesting.max_depth"


@dataclass(frozen=True, slots=True)
class SpaceState:
    """What the caller counted about one space; ``None`` means not counted (not checked).

    Counts may describe the state a write would leave (e.g. facilitators after a removal).
    """

    facilitators: int | None = None
    members: int | None = None
    levels_below: int | None = None


# (invariant, the fact it holds the governing value against, the bound the governing value is)
_CHECKS = (
    (Invariant.FACILITATOR_MINIMUM, "facilitators", "min", "{fact} facilitator(s) where {name} needs {limit}"),
    (Invariant.MEMBER_CAP, "members", "max", "{fact} active member(s) where {name} allows {limit}"),
    (
        Invariant.NESTING_DEPTH,
        "levels_below",
        "max",
        "sub-spaces nesting {fact} level(s) deep where {name} allows {limit}",
    ),
)


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _setter(c: object, bound: str, governing: int, own: Source) -> Source:
    """Who set the governing value: the source of the ``bound`` that pulled it there, else the space."""
    if isinstance(c, RangeConstraint):
        if bound == "min" and c.min == governing and c.min_source is not None:
            return c.min_source
        if bound == "max" and c.max == governing and c.max_source is not None:
            return c.max_source
    return own


def check_invariants(
    policy: EffectivePolicy,
    settings: Mapping[str, object],
    state: SpaceState,
    *,
    own: Source,
    mode: Mode = Mode.ENFORCE,
    registry: ParameterRegistry = CATALOGUE,
) -> tuple[Violation, ...]:
    """Every invariant the counted ``state`` breaks under ``policy``'s ``mode`` reading.

    ``own`` is the space itself (``Source.space(id, name)``), named when its own setting is the
    governing value. Facts left ``None`` are not checked.
    """
    out: list[Violation] = []
    for invariant, fact_name, bound, words in _CHECKS:
        fact: int | None = getattr(state, fact_name)
        if fact is None:
            continue
        name = invariant.value
        limit = _as_int(governing_value(policy, settings, name, registry, mode=mode))
        if limit is None or (fact >= limit if bound == "min" else fact <= limit):
            continue
        src = _setter(policy.layer(mode).get(name), bound, limit, own)
        by = "its own setting" if src == own else src.label()
        message = words.format(fact=fact, name=name, limit=limit) + f" (set by {by})"
        out.append(Violation(name, fact, bound, limit, src, message, explicit=False))
    return tuple(out)
