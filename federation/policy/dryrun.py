"""Dry run of a template change: which spaces a new version (or a new attachment) would put
out of bounds, and why.

Pure function over plain data. The caller gives, for every space the template applies to, its
settings, its constraints for sub-spaces and how many facilitators it has, and either every
layer that applies to it today (:func:`dry_run` swaps in the new version) or a
:class:`~federation.policy.resolver.PolicyResolver` over the whole network with the new version
already in place (what the HTTP side does: one narrowing per space, however many spaces).

A space is listed when a finding names the template: its settings break one of the template's
bounds, a bound it sets for its sub-spaces is looser than the template's, the template makes a
parameter unsatisfiable, or the space has fewer facilitators than the template now requires
(:mod:`federation.policy.invariants`). Findings caused only by other sources are not the
change's doing and are left out. Nothing is rewritten: the report is what an admin reads before
choosing to apply (and mark those spaces non-compliant with a deadline) or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from federation.policy.constraint_set import PolicyLayer
from federation.policy.containment import check_containment
from federation.policy.effective import Conflict, EffectivePolicy, effective_policy
from federation.policy.invariants import SpaceState, check_invariants
from federation.policy.parameters import CATALOGUE, ParameterRegistry
from federation.policy.resolver import PolicyResolver
from federation.policy.sources import Mode, Source, SourceKind
from federation.policy.validation import Violation, validate_settings


@dataclass(frozen=True, slots=True)
class DryRunSubject:
    """One space the template applies to, as it stands today.

    ``layers`` are every layer of the space in :func:`effective_policy` order; layers of the
    same template (same id) are replaced by the new version, and if there is none the new
    version is added last (a template about to be attached). They are not read when
    :func:`dry_run` is given a resolver. ``subspace_constraints``, when given, is checked for
    containment in the new policy too; ``facilitators``, when given, against the facilitator
    minimum the new policy sets.
    """

    space_id: uuid.UUID
    name: str
    settings: Mapping[str, object]
    layers: Sequence[PolicyLayer] = ()
    subspace_constraints: PolicyLayer | None = None
    facilitators: int | None = None


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


def applies_to(targets: Collection[uuid.UUID | None], space_id: uuid.UUID, path: Iterable[uuid.UUID]) -> bool:
    """Whether a template attached at ``targets`` (``None``: the whole network) binds the space
    ``space_id`` whose ancestors are ``path``: it does at a target and everywhere beneath one."""
    return None in targets or space_id in targets or any(a in targets for a in path)


def _touches(source: Source, template: Source) -> bool:
    return source.kind is SourceKind.TEMPLATE and source.id == template.id


def dry_run(
    new_version: PolicyLayer,
    subjects: Iterable[DryRunSubject],
    *,
    resolver: PolicyResolver | None = None,
    registry: ParameterRegistry = CATALOGUE,
) -> DryRunReport:
    """Every subject with violations, warnings or conflicts that ``new_version`` causes.

    Without ``resolver`` each subject's policy is its ``layers`` with the new version swapped
    in; with one, it is ``resolver.policy(space_id)`` (the resolver must already hold the new
    version, e.g. built with the old version's layers replaced or the new attachment added).
    Only findings that name the template are reported (a bound already set as tight by another
    source keeps that source, so it is not this change's doing).
    """
    template = new_version.source
    entries: list[DryRunEntry] = []
    checked = 0
    for subject in subjects:
        checked += 1
        if resolver is not None:
            policy = resolver.policy(subject.space_id)
        else:
            policy = effective_policy(replace_template(subject.layers, new_version))
        entry = _findings(subject, policy, template, registry)
        if entry is not None:
            entries.append(entry)
    return DryRunReport(template, checked, tuple(entries))


def _findings(
    subject: DryRunSubject, policy: EffectivePolicy, template: Source, registry: ParameterRegistry
) -> DryRunEntry | None:
    """What ``template`` breaks in one space under ``policy``, or None."""
    result = validate_settings(subject.settings, policy, registry=registry)
    violations = [v for v in result.violations if _touches(v.source, template)]
    warnings = [v for v in (*result.warnings, *result.audit) if _touches(v.source, template)]
    if subject.subspace_constraints is not None:
        contained = check_containment(subject.subspace_constraints, policy)
        violations.extend(v for v in contained.violations if _touches(v.source, template))
        warnings.extend(v for v in contained.warnings if _touches(v.source, template))
    if subject.facilitators is not None:
        state = SpaceState(facilitators=subject.facilitators)
        own = Source.space(subject.space_id, subject.name)
        for mode, _ in policy.distinct_layers():  # the strongest reading the template takes part in
            found = [
                v
                for v in check_invariants(policy, subject.settings, state, own=own, mode=mode, registry=registry)
                if _touches(v.source, template)
            ]
            if found:
                (violations if mode is Mode.ENFORCE else warnings).extend(found)
                break
    conflicts = tuple(
        c for c in policy.conflicts() if c.mode is not Mode.AUDIT and any(_touches(s, template) for s in c.sources)
    )
    if not (violations or warnings or conflicts):
        return None
    return DryRunEntry(subject.space_id, subject.name, tuple(violations), tuple(warnings), conflicts)
