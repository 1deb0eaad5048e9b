"""The one mapping from the policy engine's findings to HTTP 422 answers.

The domain (``federation.policy``) returns typed findings: input problems, bound violations
(:func:`~federation.policy.validate_settings`, :func:`~federation.policy.check_containment`) and
invariant violations (:func:`~federation.policy.check_invariants`). Every area that refuses a
write because of them raises what this module builds, so a client always gets the same
envelope: ``policy_violation`` with ``details = {problems, violations, warnings, audit}``, each
violation naming parameter, value, bound, limit and source.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from federation.policy import (
    EffectivePolicy,
    PolicyInputError,
    PolicyLayer,
    Source,
    ValidationResult,
    Violation,
    check_containment,
    parse_constraints,
    validate_settings,
)
from services.errors import Unprocessable


def policy_violation(
    violations: Sequence[Violation],
    what: str = "The change",
    *,
    warnings: Sequence[Violation] = (),
    audit: Sequence[Violation] = (),
    spaces: Sequence[tuple[uuid.UUID, str]] | None = None,
    hint: str = "",
    extra: Mapping[str, object] | None = None,
) -> Unprocessable:
    """The 422 for a write the policy refuses: the first violation in words (parameter, value,
    bound, source), every violation in ``details``. ``spaces`` (one per violation) names the
    space each is about when that is not the space written to; ``hint`` says what to do;
    ``extra`` adds area-specific keys to ``details`` (never replacing the common ones)."""
    first = violations[0].message if violations else "the policy refuses it"
    more = len(violations) - 1
    rows = [v.to_dict() for v in violations]
    if spaces is not None:
        rows = [{"space_id": str(sid), "name": name, **row} for (sid, name), row in zip(spaces, rows, strict=True)]
    return Unprocessable(
        f"{what} breaks the space's policy: {first}"
        + (f" (and {more} more)." if more > 0 else ".")
        + (f" {hint}" if hint else ""),
        code="policy_violation",
        details={
            **(extra or {}),
            "problems": [],
            "violations": rows,
            "warnings": [v.to_dict() for v in warnings],
            "audit": [v.to_dict() for v in audit],
        },
    )


def result_violation(result: ValidationResult, what: str = "The change") -> Unprocessable:
    """:func:`policy_violation` for a validation or containment result (its warnings kept)."""
    return policy_violation(result.violations, what, warnings=result.warnings, audit=result.audit)


def input_problems(result: ValidationResult) -> Unprocessable:
    """The 422 for unknown parameters or wrong value types (``invalid_settings``)."""
    return Unprocessable(
        f"The settings are not valid: {result.problems[0].message}"
        + (f" (and {len(result.problems) - 1} more)." if len(result.problems) > 1 else "."),
        code="invalid_settings",
        details=result.to_dict(),
    )


def check_settings(
    settings: Mapping[str, object], policy: EffectivePolicy, changed: Sequence[str] | None = None
) -> ValidationResult:
    """Validate, raising the right 422; returns the result (warnings) when the write may go ahead."""
    result = validate_settings(settings, policy, parameters=changed)
    if result.problems:
        raise input_problems(result)
    if result.violations:
        raise result_violation(result)
    return result


def parse_or_422(raw: Mapping[str, object], source: Source, what: str) -> PolicyLayer:
    """Parse a constraints document; a 422 (``invalid_constraints``) listing every problem."""
    try:
        return parse_constraints(dict(raw), source)
    except PolicyInputError as exc:
        first = exc.problems[0].message if exc.problems else "invalid constraints"
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise Unprocessable(
            f"The {what} are not valid: {first}{more}.", code="invalid_constraints", details=exc.to_dict()
        ) from None


def check_subspace_constraints(
    raw: Mapping[str, object], space_id: uuid.UUID, name: str, policy: EffectivePolicy
) -> PolicyLayer:
    """A space's constraints for its sub-spaces must parse and lie inside its own policy."""
    layer = parse_or_422(raw, Source.space(space_id, name), "sub-space constraints")
    contained = check_containment(layer, policy)
    if contained.violations:
        raise result_violation(contained, "The constraints for sub-spaces")
    return layer
