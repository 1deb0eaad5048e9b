"""A space's constraints for its sub-spaces must lie inside its own effective constraint.

Intersection alone would silently ignore a looser bound, but an explicit loosening is almost
always a mistake (an admin who thinks they relaxed a rule), so it is refused and the ancestor
bound that prevents it is named.
"""

from __future__ import annotations

from federation.policy.constraint_set import ConstraintSet, PolicyLayer
from federation.policy.constraints import (
    ChoiceConstraint,
    Constraint,
    FlagConstraint,
    RangeConstraint,
)
from federation.policy.effective import EffectivePolicy
from federation.policy.sources import Mode, Source
from federation.policy.validation import ValidationResult, Violation, ViolationCode


def check_containment(proposed: PolicyLayer | ConstraintSet, policy: EffectivePolicy) -> ValidationResult:
    """Every bound in ``proposed`` that loosens (or empties) a bound of ``policy``.

    ``policy`` is the effective policy of the space that sets ``proposed`` for its sub-spaces.
    Omitting a bound is fine (it is inherited); a bound looser than the space's own is a
    ``loosens`` violation, one that leaves no valid value a ``conflict``. Enforce-mode bounds
    give violations, warn-mode bounds warnings, audit-mode bounds audit findings.
    """
    constraints = proposed.constraints if isinstance(proposed, PolicyLayer) else proposed
    found: dict[Mode, list[Violation]] = {Mode.ENFORCE: [], Mode.WARN: [], Mode.AUDIT: []}
    seen: set[tuple[str, str, Source]] = set()
    for mode, cs in policy.distinct_layers():
        for name, mine in constraints.items():
            theirs = cs.get(name)
            if theirs is None:
                continue
            for v in _compare(name, mine, theirs):
                key = (name, v.bound, v.source)
                if key not in seen:
                    seen.add(key)
                    found[mode].append(v)
    return ValidationResult({}, (), tuple(found[Mode.ENFORCE]), tuple(found[Mode.WARN]), tuple(found[Mode.AUDIT]))


def _v(
    name: str, value: object, bound: str, limit: object, *, source: Source | None, code: ViolationCode, words: str
) -> Violation:
    assert source is not None  # a bound that is set always has a source
    return Violation(name, value, bound, limit, source, f"{name}: {words} (set by {source.label()})", True, code)


def _compare(name: str, mine: Constraint, theirs: Constraint) -> list[Violation]:
    out: list[Violation] = []
    loosens, conflict = ViolationCode.LOOSENS, ViolationCode.CONFLICT
    if isinstance(mine, RangeConstraint) and isinstance(theirs, RangeConstraint):
        if mine.min is not None:
            if theirs.max is not None and mine.min > theirs.max:
                out.append(
                    _v(
                        name,
                        mine.min,
                        "max",
                        theirs.max,
                        source=theirs.max_source,
                        code=conflict,
                        words=f"minimum {mine.min} for sub-spaces is above the maximum {theirs.max}",
                    )
                )
            elif theirs.min is not None and mine.min < theirs.min:
                out.append(
                    _v(
                        name,
                        mine.min,
                        "min",
                        theirs.min,
                        source=theirs.min_source,
                        code=loosens,
                        words=f"minimum {mine.min} for sub-spaces is below the minimum {theirs.min}",
                    )
                )
        if mine.max is not None:
            if theirs.min is not None and mine.max < theirs.min:
                out.append(
                    _v(
                        name,
                        mine.max,
                        "min",
                        theirs.min,
                        source=theirs.min_source,
                        code=conflict,
                        words=f"maximum {mine.max} for sub-spaces is below the minimum {theirs.min}",
                    )
                )
            elif theirs.max is not None and mine.max > theirs.max:
                out.append(
                    _v(
                        name,
                        mine.max,
                        "max",
                        theirs.max,
                        source=theirs.max_source,
                        code=loosens,
                        words=f"maximum {mine.max} for sub-spaces is above the maximum {theirs.max}",
                    )
                )
    elif isinstance(mine, ChoiceConstraint) and isinstance(theirs, ChoiceConstraint):
        extra = mine.allowed - theirs.allowed
        if extra:
            code = conflict if not (mine.allowed & theirs.allowed) else loosens
            by_source: dict[Source, list[str]] = {}
            for choice in sorted(extra):
                by_source.setdefault(theirs.excluded_by[choice], []).append(choice)
            limit = sorted(theirs.allowed)
            for source, choices in by_source.items():
                out.append(
                    _v(
                        name,
                        sorted(mine.allowed),
                        "allowed",
                        limit,
                        source=source,
                        code=code,
                        words=f"allowing {', '.join(choices)} for sub-spaces goes beyond the allowed "
                        f"{', '.join(limit) or 'nothing'}",
                    )
                )
    elif isinstance(mine, FlagConstraint) and isinstance(theirs, FlagConstraint):
        for lock in mine.locks:
            for other in theirs.locks:
                if other.value != lock.value:
                    out.append(
                        _v(
                            name,
                            lock.value,
                            "locked",
                            other.value,
                            source=other.source,
                            code=conflict,
                            words=f"locking it to {str(lock.value).lower()} for sub-spaces contradicts the "
                            f"lock to {str(other.value).lower()}",
                        )
                    )
    # Set requirements only ever add members, so they cannot loosen anything.
    return out
