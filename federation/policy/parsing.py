"""Parse constraint documents as the API receives them into typed, sourced constraints.

``{"meetings.virtual_per_year": {"min": 3}, "facilitators.training_required": {"locked": true,
"value": true}}`` becomes a :class:`PolicyLayer` whose every bound carries the given source.
Every problem is collected before raising, so one 422 can list them all.
"""

from __future__ import annotations

from collections.abc import Mapping

from federation.policy.constraint_set import ConstraintSet, PolicyLayer
from federation.policy.constraints import (
    ChoiceConstraint,
    Constraint,
    FlagConstraint,
    Lock,
    RangeConstraint,
    SetConstraint,
)
from federation.policy.parameters import CATALOGUE, Parameter, ParameterRegistry, ParamKind, string_members
from federation.policy.problems import PolicyInputError, Problem, ProblemCode
from federation.policy.sources import Source

_BOUND_KEYS: dict[ParamKind, frozenset[str]] = {
    ParamKind.INTEGER: frozenset({"min", "max"}),
    ParamKind.DURATION: frozenset({"max"}),
    ParamKind.CHOICE: frozenset({"allowed"}),
    ParamKind.FLAG: frozenset({"locked", "value"}),
    ParamKind.SET: frozenset({"required"}),
}
_HINT: dict[ParamKind, str] = {
    ParamKind.INTEGER: 'use {"min": N} and/or {"max": N}',
    ParamKind.DURATION: 'use {"max": N} (days); a duration may only be shortened',
    ParamKind.CHOICE: 'use {"allowed": [...]}',
    ParamKind.FLAG: 'use {"locked": true, "value": true|false}',
    ParamKind.SET: 'use {"required": [...]}',
}


class _Collector:
    """Accumulates problems for one parameter."""

    __slots__ = ("param", "problems")

    def __init__(self, param: Parameter, problems: list[Problem]) -> None:
        self.param = param
        self.problems = problems

    def add(self, code: ProblemCode, message: str, field: str | None = None) -> None:
        self.problems.append(Problem(code, f"{self.param.name}: {message}", self.param.name, field))


def parse_constraints(raw: object, source: Source, registry: ParameterRegistry = CATALOGUE) -> PolicyLayer:
    """Parse a constraint document into a :class:`PolicyLayer` stamped with ``source``.

    Rejects (with every :class:`Problem` in one :class:`PolicyInputError`): a document or
    constraint that is not an object, unknown parameters, bounds of the wrong kind for the
    parameter's type, values of the wrong type or outside the parameter's domain, ``min > max``,
    an empty ``allowed`` list, unknown choices, ``locked`` other than true, and a lock without
    ``value``.
    """
    if not isinstance(raw, Mapping):
        raise PolicyInputError(
            [Problem(ProblemCode.NOT_AN_OBJECT, "constraints must be an object keyed by parameter name")]
        )
    problems: list[Problem] = []
    items: dict[str, Constraint] = {}
    for name, spec in raw.items():
        param = registry.get(name) if isinstance(name, str) else None
        if param is None:
            problems.append(
                Problem(
                    ProblemCode.UNKNOWN_PARAMETER,
                    f"unknown parameter '{name}'; known: {', '.join(registry.names())}",
                    str(name),
                )
            )
            continue
        constraint = _parse_one(_Collector(param, problems), spec, source)
        if constraint is not None:
            items[name] = constraint
    if problems:
        raise PolicyInputError(problems)
    return PolicyLayer(source, ConstraintSet(items))


def _parse_one(c: _Collector, spec: object, source: Source) -> Constraint | None:
    param = c.param
    if not isinstance(spec, Mapping):
        c.add(ProblemCode.NOT_AN_OBJECT, f"a constraint is an object; {_HINT[param.kind]}")
        return None
    if not spec:
        c.add(ProblemCode.EMPTY_CONSTRAINT, f"no bound given; {_HINT[param.kind]}")
        return None
    allowed_keys = _BOUND_KEYS[param.kind]
    bad = [k for k in spec if k not in allowed_keys]
    if bad:
        for key in bad:
            c.add(
                ProblemCode.UNSUPPORTED_BOUND,
                f"'{key}' is not a bound of a {param.kind.value} parameter; {_HINT[param.kind]}",
                str(key),
            )
        return None
    kind = param.kind
    if kind is ParamKind.INTEGER or kind is ParamKind.DURATION:
        return _parse_range(c, spec, source)
    if kind is ParamKind.CHOICE:
        return _parse_choice(c, spec, source)
    if kind is ParamKind.FLAG:
        return _parse_flag(c, spec, source)
    return _parse_set(c, spec, source)


def _parse_range(c: _Collector, spec: Mapping[object, object], source: Source) -> RangeConstraint | None:
    values: dict[str, int] = {}
    ok = True
    for key in ("min", "max"):
        if key not in spec:
            continue
        v = spec[key]
        if type(v) is not int:
            c.add(ProblemCode.WRONG_TYPE, f"'{key}' needs a whole number", key)
            ok = False
        elif v < c.param.minimum:
            c.add(ProblemCode.OUT_OF_DOMAIN, f"'{key}' must be at least {c.param.minimum}, not {v}", key)
            ok = False
        elif v > c.param.maximum:
            c.add(ProblemCode.OUT_OF_DOMAIN, f"'{key}' must be at most {c.param.maximum}, not {v}", key)
            ok = False
        else:
            values[key] = v
    if not ok:
        return None
    lo, hi = values.get("min"), values.get("max")
    if lo is not None and hi is not None and lo > hi:
        c.add(ProblemCode.MIN_GREATER_THAN_MAX, f"min {lo} is greater than max {hi}", "min")
        return None
    return RangeConstraint(lo, source if lo is not None else None, hi, source if hi is not None else None)


def _parse_choice(c: _Collector, spec: Mapping[object, object], source: Source) -> ChoiceConstraint | None:
    try:
        allowed = string_members(f"{c.param.name}: 'allowed'", spec["allowed"])
    except ValueError as exc:
        c.problems.append(Problem(ProblemCode.WRONG_TYPE, str(exc), c.param.name, "allowed"))
        return None
    if not allowed:
        c.add(ProblemCode.EMPTY_ALLOWED, "'allowed' must list at least one choice", "allowed")
        return None
    unknown = [a for a in allowed if a not in c.param.choices]
    if unknown:
        c.add(
            ProblemCode.UNKNOWN_CHOICE,
            f"unknown choice {', '.join(repr(u) for u in unknown)}; choices are {', '.join(c.param.choices)}",
            "allowed",
        )
        return None
    chosen = frozenset(allowed)
    return ChoiceConstraint(chosen, {x: source for x in c.param.choices if x not in chosen})


def _parse_flag(c: _Collector, spec: Mapping[object, object], source: Source) -> FlagConstraint | None:
    ok = True
    if spec.get("locked") is not True:
        c.add(ProblemCode.WRONG_TYPE, "'locked' must be true (a flag constraint locks the value)", "locked")
        ok = False
    if "value" not in spec:
        c.add(ProblemCode.MISSING_VALUE, "a lock needs the locked 'value' (true or false)", "value")
        ok = False
    elif type(spec["value"]) is not bool:
        c.add(ProblemCode.WRONG_TYPE, "'value' must be true or false", "value")
        ok = False
    if not ok:
        return None
    value = spec["value"]
    assert isinstance(value, bool)
    return FlagConstraint((Lock(value, source),))


def _parse_set(c: _Collector, spec: Mapping[object, object], source: Source) -> SetConstraint | None:
    try:
        required = string_members(f"{c.param.name}: 'required'", spec["required"])
    except ValueError as exc:
        c.problems.append(Problem(ProblemCode.WRONG_TYPE, str(exc), c.param.name, "required"))
        return None
    return SetConstraint(dict.fromkeys(required, source))
