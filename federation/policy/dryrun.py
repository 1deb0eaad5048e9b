"""Dry run of a new template version: which spaces would fall out of bounds, and why.

Pure function over plain data: the caller loads, for every space the template applies to,
its settings and every layer that applies to it today (including the template's current
version, if attached); :func:`dry_run` swaps in the new version and validates. Nothing is
rewritten: the report is what an admin reads before choosing to apply (and mark those spaces
non-compliant with a deadline) or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from federation.policy.constraint_set import PolicyLayer
from federation.policy.containment import check_containment
from federation.policy.effective import Conflict, effective_policy
from federation.policy.parameters import CATALOGUE, ParameterRegistry
from federation.policy.sources import Mode, Source, SourceKind
from federation.policy.validation import Violation, validate_settings


@dataclass(frozen=True, slots=True)
class DryRunSubject:
    """One space the template applies to, as it stands today.

    ``layers`` are every layer of the space in :func:`effective_policy` order; layers of the
    same template (same id) are replaced by the new version, and if there is none the new
    version is added last (a template about to be attached). ``subspace_constraints``, when
    given, is checked for containment in the new policy too.
    """

    space_id: uuid.UUID
    name: str
    settings: Mapping[str, object]
    layers: Sequence[PolicyLayer]
    subspace_constraints: PolicyLayer | None = None


@dataclass(frozen=True, slots=True)
class DryRunEntry:
    """A space with findings under the new version."""

    space_id: uuid.UUID
    name: str
    violations: tuple[Violation, ...]  # enforce-mode: would be refused / non-compliant
    warnings: tuple[Violation, ...]
    conflicts: tuple[Conflict, ...]  # constraints the new version makes unsatisfiable

    @property
    def blocking(self) -> bool:
        """True when the space would be out of bounds (not merely warned)."""
        return bool(self.violations) or any(c.mode is Mode.ENFORCE for c in self.conflicts)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "space_id": str(self.space_id),
            "name": self.name,
            "blocking": self.blocking,
            "violations": [v.to_dict() for v in self.violations],
            "warnings": [v.to_dict() for v in self.warnings],
            "conflicts": [c.to_dict() for c in self.conflicts],
        }


@dataclass(frozen=True, slots=True)
class DryRunReport:
    """Outcome of :func:`dry_run`: spaces with findings, in the order given."""

    template: Source
    checked: int
    spaces: tuple[DryRunEntry, ...]

    @property
    def blocking(self) -> tuple[DryRunEntry, ...]:
        """Spaces that would fall out of bounds."""
        return tuple(e for e in self.spaces if e.blocking)

    def to_dict(self) -> dict[str, object]:
        """The dry-run response body."""
        return {
            "template": self.template.to_dict(),
            "checked": self.checked,
            "out_of_bounds": len(self.blocking),
            "spaces": [e.to_dict() for e in self.spaces],
        }


def _same_template(a: Source, b: Source) -> bool:
    return a.kind is SourceKind.TEMPLATE and b.kind is SourceKind.TEMPLATE and a.id == b.id


def replace_template(layers: Sequence[PolicyLayer], new_version: PolicyLayer) -> list[PolicyLayer]:
    """``layers`` with every layer of the same template replaced by ``new_version`` (appended if absent)."""
    out: list[PolicyLayer] = []
    replaced = False
    for layer in layers:
        if _same_template(layer.source, new_version.source):
            out.append(new_version)
            replaced = True
        else:
            out.append(layer)
    if not replaced:
        out.append(new_version)
    return out


def dry_run(
    new_version: PolicyLayer,
    subjects: Iterable[DryRunSubject],
    *,
    registry: ParameterRegistry = CATALOGUE,
) -> DryRunReport:
    """Every subject that would have violations, warnings or conflicts under ``new_version``.

    Findings name their source; those naming ``new_version.source`` are the ones the new
    version introduces (a bound already set as tight by another source keeps that source).
    """
    entries: list[DryRunEntry] = []
    checked = 0
    for subject in subjects:
        checked += 1
        policy = effective_policy(replace_template(subject.layers, new_version))
        result = validate_settings(subject.settings, policy, registry=registry)
        violations = list(result.violations)
        warnings = list(result.warnings)
        if subject.subspace_constraints is not None:
            contained = check_containment(subject.subspace_constraints, policy)
            violations.extend(contained.violations)
            warnings.extend(contained.warnings)
        conflicts = tuple(c for c in policy.conflicts() if c.mode is not Mode.AUDIT)
        if violations or warnings or conflicts:
            entries.append(DryRunEntry(subject.space_id, subject.name, tuple(violations), tuple(warnings), conflicts))
    return DryRunReport(new_version.source, checked, tuple(entries))
