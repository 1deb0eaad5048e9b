"""The facilitator-minimum invariant.

A space whose policy needs N facilitators keeps at least N: removing one (or a facilitator
leaving, or being removed by a cascade) that would leave fewer is refused. A space that
already has fewer than N (a template was tightened) cannot lose more either.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from federation.policy import CATALOGUE, EffectivePolicy, ParameterRegistry, governing_value


class FacilitatorCode(StrEnum):
    """Why a facilitator cannot be removed."""

    NOT_A_FACILITATOR = "not_a_facilitator"
    FACILITATOR_MINIMUM = "facilitator_minimum"


@dataclass(frozen=True, slots=True)
class FacilitatorProblem:
    """A refused facilitator removal."""

    code: FacilitatorCode
    message: str
    minimum: int
    remaining: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"code": str(self.code), "message": self.message, "minimum": self.minimum, "remaining": self.remaining}


def facilitator_requirements(
    policy: EffectivePolicy, settings: Mapping[str, object], registry: ParameterRegistry = CATALOGUE
) -> tuple[int, bool]:
    """(facilitators a space must have, whether they must be trained): the governing values of
    ``facilitators.min_count`` and ``facilitators.training_required``."""
    minimum = governing_value(policy, settings, "facilitators.min_count", registry)
    trained = governing_value(policy, settings, "facilitators.training_required", registry)
    return (minimum if isinstance(minimum, int) and not isinstance(minimum, bool) else 0), trained is True


def check_facilitator_removal(
    facilitators: Collection[uuid.UUID], removing: uuid.UUID, minimum: int
) -> FacilitatorProblem | None:
    """None when ``removing`` may stop facilitating; otherwise why not.

    ``minimum`` is the first value of :func:`facilitator_requirements`.
    """
    if removing not in facilitators:
        return FacilitatorProblem(
            FacilitatorCode.NOT_A_FACILITATOR,
            "that account is not a facilitator of this space",
            minimum,
            len(facilitators),
        )
    remaining = len(facilitators) - 1
    if remaining < minimum:
        return FacilitatorProblem(
            FacilitatorCode.FACILITATOR_MINIMUM,
            f"this space needs at least {minimum} facilitator(s) (facilitators.min_count); removing this one "
            f"would leave {remaining}. Add another facilitator first.",
            minimum,
            remaining,
        )
    return None
