"""Structured input errors: what was wrong with a constraint or settings document.

The HTTP layer turns a :class:`PolicyInputError` into a 422 whose ``details`` list every
:class:`Problem`; nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ProblemCode(StrEnum):
    """Machine-readable reason a constraint or setting was rejected as input."""

    NOT_AN_OBJECT = "not_an_object"  # the document (or one parameter's constraint) is not a mapping
    UNKNOWN_PARAMETER = "unknown_parameter"
    UNSUPPORTED_BOUND = "unsupported_bound"  # e.g. "allowed" on an integer parameter
    EMPTY_CONSTRAINT = "empty_constraint"  # {} for a parameter: no bound given
    WRONG_TYPE = "wrong_type"
    OUT_OF_DOMAIN = "out_of_domain"  # e.g. a negative count
    MIN_GREATER_THAN_MAX = "min_greater_than_max"
    EMPTY_ALLOWED = "empty_allowed"
    UNKNOWN_CHOICE = "unknown_choice"
    MISSING_VALUE = "missing_value"  # {"locked": true} without "value"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, tied to a parameter (and a bound field) where possible."""

    code: ProblemCode
    message: str
    parameter: str | None = None
    field: str | None = None  # the bound key ("min", "allowed", ...) when the problem is inside one

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for error details."""
        out: dict[str, object] = {"code": str(self.code), "message": self.message}
        if self.parameter is not None:
            out["parameter"] = self.parameter
        if self.field is not None:
            out["field"] = self.field
        return out


class PolicyInputError(ValueError):
    """Raised by the parsers with every problem found (never only the first)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems) or "invalid policy input")

    def to_dict(self) -> dict[str, object]:
        """``{"problems": [...]}`` for an error response's details."""
        return {"problems": [p.to_dict() for p in self.problems]}
