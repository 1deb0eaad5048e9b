"""The policy engine: "autonomy with parameters".

Networks bound parameters with templates; spaces narrow them for their sub-spaces; a space's
settings must lie inside the intersection of everything above it. Pure functions over plain
data; each module documents its part.

Typical use (HTTP side)::

    layer = parse_constraints(body.constraints, Source.template(tid, name, version, mode))
    policy = effective_policy(path_layers(network_layers, ancestors, own_templates))
    result = validate_settings(body.settings, policy)
    if not result.ok: ...  # 422 with result.to_dict(); result.warnings otherwise
"""

from federation.policy.constraint_set import EMPTY_SET, ConstraintSet, PolicyLayer
from federation.policy.constraints import (
    Breach,
    ChoiceConstraint,
    Constraint,
    ConstraintConflict,
    FlagConstraint,
    Lock,
    RangeConstraint,
    SetConstraint,
)
from federation.policy.containment import check_containment
from federation.policy.dryrun import DryRunEntry, DryRunReport, DryRunSubject, applies_to, dry_run, replace_template
from federation.policy.effective import UNCONSTRAINED, Conflict, EffectivePolicy, effective_policy, path_layers
from federation.policy.invariants import Invariant, SpaceState, check_invariants
from federation.policy.parameters import (
    CATALOGUE,
    CHAT_POSTING,
    JOIN_MODES,
    Parameter,
    ParameterRegistry,
    ParamKind,
    SettingValue,
    to_json_value,
)
from federation.policy.parsing import parse_constraints
from federation.policy.problems import PolicyInputError, Problem, ProblemCode
from federation.policy.resolver import PolicyResolver, SpacePolicyInput
from federation.policy.sources import Mode, Source, SourceKind
from federation.policy.validation import (
    ValidationResult,
    Violation,
    ViolationCode,
    normalise_settings,
    validate_settings,
)
from federation.policy.values import (
    clamp_value,
    effective_settings,
    effective_value,
    governing_settings,
    governing_value,
)

__all__ = [
    "CATALOGUE",
    "CHAT_POSTING",
    "EMPTY_SET",
    "JOIN_MODES",
    "UNCONSTRAINED",
    "Breach",
    "ChoiceConstraint",
    "Conflict",
    "Constraint",
    "ConstraintConflict",
    "ConstraintSet",
    "DryRunEntry",
    "DryRunReport",
    "DryRunSubject",
    "EffectivePolicy",
    "FlagConstraint",
    "Invariant",
    "Lock",
    "Mode",
    "ParamKind",
    "Parameter",
    "ParameterRegistry",
    "PolicyInputError",
    "PolicyLayer",
    "PolicyResolver",
    "Problem",
    "ProblemCode",
    "RangeConstraint",
    "SetConstraint",
    "SettingValue",
    "Source",
    "SourceKind",
    "SpacePolicyInput",
    "SpaceState",
    "ValidationResult",
    "Violation",
    "ViolationCode",
    "applies_to",
    "check_containment",
    "check_invariants",
    "clamp_value",
    "dry_run",
    "effective_policy",
    "effective_settings",
    "effective_value",
    "governing_settings",
    "governing_value",
    "normalise_settings",
    "parse_constraints",
    "path_layers",
    "replace_template",
    "to_json_value",
    "validate_settings",
]
