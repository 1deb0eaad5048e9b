"""Validate a space's settings against its effective policy.

Only what a space *chose* can break a bound. A parameter the space never set takes its
default pulled inside the bounds (its governing value, see :mod:`federation.policy.values`):
a network that locks a flag or requires session components sets those values for every
space that has not decided otherwise, so creating a space never fails for a choice nobody
made, and tightening a template never "breaks" a space that left the parameter alone.
Warn- and audit-mode rules, which exist to show a rule's effect before it bites, still report
an unset parameter whose governing value they would change (marked ``explicit=False``).
Enforce-mode breaches are ``violations`` (refuse the write), warn-mode ones ``warnings``,
audit-mode ones ``audit`` (record only). Unknown parameters and wrong value types are input
``problems``, reported separately because the HTTP layer answers them with a different code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from federation.policy.constraints import Breach
from federation.policy.effective import EffectivePolicy
from federation.policy.parameters import CATALOGUE, ParameterRegistry, SettingValue, to_json_value
from federation.policy.problems import Problem, ProblemCode
from federation.policy.sources import Mode, Source
from federation.policy.values import governing_value

_ENFORCE, _WARN = Mode.ENFORCE, Mode.WARN  # cached: Enum attribute access is slow in Python 3.11


class ViolationCode(StrEnum):
    """Why a value or a proposed constraint is out of bounds."""

    OUT_OF_BOUNDS = "out_of_bounds"  # a setting breaks a bound
    LOOSENS = "loosens"  # a constraint for sub-spaces is looser than the space's own bound
    CONFLICT = "conflict"  # a constraint for sub-spaces leaves no valid value at all
    MISSING_COMPONENTS = "missing_components"  # an agenda lacks components the policy requires


@dataclass(frozen=True, slots=True)
class Violation:
    """A value (or proposed bound) outside a bound, naming the bound and who set it.

    ``value`` and ``limit`` are JSON-ready. ``explicit`` is False when the value is the
    parameter's default rather than something the space set.
    """

    parameter: str
    value: object
    bound: str  # "min" | "max" | "allowed" | "locked" | "required"
    limit: object
    source: Source
    message: str
    explicit: bool = True
    code: ViolationCode = ViolationCode.OUT_OF_BOUNDS

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for a 422's details or a dry-run report."""
        return {
            "code": str(self.code),
            "parameter": self.parameter,
            "value": self.value,
            "explicit": self.explicit,
            "bound": self.bound,
            "limit": self.limit,
            "source": self.source.to_dict(),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Everything wrong with a settings document (or proposed constraints), split by effect.

    ``ok`` is False when the write must be refused: any input problem or enforce-mode
    violation. Warnings and audit findings never block.
    """

    values: Mapping[str, SettingValue]
    problems: tuple[Problem, ...] = ()
    violations: tuple[Violation, ...] = ()
    warnings: tuple[Violation, ...] = ()
    audit: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing blocks the write."""
        return not self.problems and not self.violations

    def message(self) -> str:
        """One sentence for an error response: the first blocking finding, and how many more."""
        first = [p.message for p in self.problems] + [v.message for v in self.violations]
        if not first:
            return "settings are within policy"
        more = len(first) - 1
        return first[0] + (f" (and {more} more)" if more else "")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready details: problems, violations, warnings, audit findings."""
        return {
            "problems": [p.to_dict() for p in self.problems],
            "violations": [v.to_dict() for v in self.violations],
            "warnings": [v.to_dict() for v in self.warnings],
            "audit": [v.to_dict() for v in self.audit],
        }


def show_value(value: object) -> str:
    """A value as it would read in JSON (used in messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, frozenset | list | tuple | set):
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    return str(value)


def violation_from_breach(name: str, value: SettingValue, breach: Breach, *, explicit: bool) -> Violation:
    """Build a :class:`Violation` for ``value`` of ``name`` breaking ``breach``."""
    default = "" if explicit else " (the default)"
    return Violation(
        name,
        to_json_value(value),
        breach.bound,
        breach.limit,
        breach.source,
        f"{name} = {show_value(value)}{default} {breach.detail} (set by {breach.source.label()})",
        explicit,
    )


def normalise_settings(
    settings: Mapping[str, object], registry: ParameterRegistry = CATALOGUE
) -> tuple[dict[str, SettingValue], list[Problem]]:
    """Normalised explicit settings and the problems (unknown names, wrong types) found."""
    values: dict[str, SettingValue] = {}
    problems: list[Problem] = []
    for name, raw in settings.items():
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
        try:
            values[name] = param.normalise(raw)
        except ValueError as exc:
            code = ProblemCode.WRONG_TYPE
            problems.append(Problem(code, str(exc), name))
    return values, problems


def validate_settings(
    settings: Mapping[str, object],
    policy: EffectivePolicy,
    *,
    registry: ParameterRegistry = CATALOGUE,
    parameters: Collection[str] | None = None,
) -> ValidationResult:
    """Check ``settings`` (raw, as received: ``{param: value}``) against ``policy``.

    Every constrained parameter is checked on its effective value, unless ``parameters``
    limits the bound checks to those names (e.g. the ones a PATCH changes, so a space already
    marked non-compliant can still change something else). Input problems are always
    reported for every key given.
    """
    values, problems = normalise_settings(settings, registry)
    bad = {p.parameter for p in problems}
    layers = policy.distinct_layers()
    found: tuple[list[Violation], list[Violation], list[Violation]] = ([], [], [])
    # Deduplicate only when several modes can report the same bound.
    seen: set[tuple[str, str, Source]] | None = set() if len(layers) > 1 else None
    for mode, cs in layers:
        sink = found[0] if mode is _ENFORCE else found[1] if mode is _WARN else found[2]
        for name, constraint in cs.items():
            if name in bad or (parameters is not None and name not in parameters):
                continue
            explicit = name in values
            if explicit:
                value = values[name]
            elif mode is _ENFORCE:
                continue  # unset: the enforced bounds govern it; nothing the space chose to refuse
            else:
                # Warn/audit show what a rule *would* do once enforced, including to spaces that
                # never chose a value: check the value that governs them today.
                value = governing_value(policy, {}, name, registry)
            breaches = constraint.check(value)
            for breach in breaches:
                if seen is not None:
                    key = (name, breach.bound, breach.source)
                    if key in seen:
                        continue
                    seen.add(key)
                sink.append(violation_from_breach(name, value, breach, explicit=explicit))
    return ValidationResult(values, tuple(problems), tuple(found[0]), tuple(found[1]), tuple(found[2]))
