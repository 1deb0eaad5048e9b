"""Effective policy: the intersection of every layer that applies to a space, per mode.

Enforce-, warn- and audit-mode bounds must not hide each other: a warn-mode minimum of 3 on
top of an enforced minimum of 2 must still refuse 1 and only warn about 2. So an
:class:`EffectivePolicy` keeps three cumulative intersections:

* ``enforced``   — enforce-mode layers only (these refuse writes);
* ``with_warn``  — enforce + warn layers (breaches not already refused are warnings);
* ``with_audit`` — every layer (breaches not already reported are audit findings).

When no warn/audit layers exist the three are the same object, so the common case costs one
intersection per layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from federation.policy.constraint_set import EMPTY_SET, ConstraintSet, PolicyLayer
from federation.policy.sources import Mode, Source

# Cached members (Enum class attribute access is a descriptor call in Python 3.11; hot path).
_ENFORCE, _WARN, _AUDIT = Mode.ENFORCE, Mode.WARN, Mode.AUDIT


@dataclass(frozen=True, slots=True)
class Conflict:
    """A parameter no value can satisfy, because two (or more) sources disagree.

    ``mode`` is the weakest mode in which the conflict appears: an ``enforce`` conflict blocks
    every write of the parameter; a ``warn`` one only warns.
    """

    parameter: str
    bound: str
    message: str
    sources: tuple[Source, ...]
    mode: Mode

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "parameter": self.parameter,
            "bound": self.bound,
            "message": f"{self.parameter}: {self.message}",
            "sources": [s.to_dict() for s in self.sources],
            "mode": str(self.mode),
        }


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The constraints that apply to one space, per mode. Immutable; narrow it to derive."""

    enforced: ConstraintSet
    with_warn: ConstraintSet
    with_audit: ConstraintSet

    def narrow(self, *layers: PolicyLayer) -> EffectivePolicy:
        """This policy intersected with ``layers`` (each applied in its source's mode)."""
        e, w, a = self.enforced, self.with_warn, self.with_audit
        for layer in layers:
            c = layer.constraints
            if not c:
                continue
            mode = layer.source.mode
            if mode is _ENFORCE:
                e2 = e.intersect(c)
                w2 = e2 if w is e else w.intersect(c)
                a2 = w2 if a is w else a.intersect(c)
                e, w, a = e2, w2, a2
            elif mode is _WARN:
                w2 = w.intersect(c)
                a = w2 if a is w else a.intersect(c)
                w = w2
            else:
                a = a.intersect(c)
        if e is self.enforced and w is self.with_warn and a is self.with_audit:
            return self
        return EffectivePolicy(e, w, a)

    def layer(self, mode: Mode) -> ConstraintSet:
        """The cumulative constraints of ``mode`` (enforce ⊆ warn ⊆ audit in what they bind)."""
        if mode is Mode.ENFORCE:
            return self.enforced
        if mode is Mode.WARN:
            return self.with_warn
        return self.with_audit

    def conflicts(self) -> tuple[Conflict, ...]:
        """Every empty constraint, reported once, in the strongest mode where it appears."""
        out: list[Conflict] = []
        seen: set[str] = set()
        for mode, cs in self.distinct_layers():
            for name, conflict in cs.conflicts():
                if name in seen:
                    continue
                seen.add(name)
                out.append(Conflict(name, conflict.bound, conflict.message, conflict.sources, mode))
        return tuple(out)

    def distinct_layers(self) -> list[tuple[Mode, ConstraintSet]]:
        """(mode, constraints) for each mode whose constraints differ from the stronger mode's."""
        out = [(_ENFORCE, self.enforced)]
        if self.with_warn is not self.enforced:
            out.append((_WARN, self.with_warn))
        if self.with_audit is not self.with_warn:
            out.append((_AUDIT, self.with_audit))
        return out

    def to_dict(self) -> dict[str, object]:
        """The ``/policy`` response body: constraints with sources, per mode, and conflicts.

        ``constraints`` is what refuses writes; ``warn`` and ``audit`` are present only when
        warn/audit-mode templates add something.
        """
        out: dict[str, object] = {"constraints": self.enforced.to_dict()}
        if self.with_warn is not self.enforced:
            out["warn"] = self.with_warn.to_dict()
        if self.with_audit is not self.with_warn:
            out["audit"] = self.with_audit.to_dict()
        out["conflicts"] = [c.to_dict() for c in self.conflicts()]
        return out


#: The policy of a space nothing constrains.
UNCONSTRAINED = EffectivePolicy(EMPTY_SET, EMPTY_SET, EMPTY_SET)


def effective_policy(layers: Iterable[PolicyLayer], base: EffectivePolicy = UNCONSTRAINED) -> EffectivePolicy:
    """Intersect ``layers`` in order (outermost first: network templates, then for every
    ancestor from the root down its templates and its constraints for sub-spaces, then the
    space's own templates). Order only decides which source is named on a tie."""
    return base.narrow(*layers)


def path_layers(
    network_layers: Iterable[PolicyLayer],
    ancestors: Iterable[tuple[Iterable[PolicyLayer], PolicyLayer | None]],
    own_templates: Iterable[PolicyLayer],
) -> list[PolicyLayer]:
    """The layers of a space in the order :func:`effective_policy` expects.

    ``ancestors`` runs root first; each item is (that ancestor's attached templates, the
    constraints it sets for its sub-spaces or None). A space's constraints for its sub-spaces
    do not apply to the space itself, so the space contributes only its templates.
    """
    out = list(network_layers)
    for templates, subspace in ancestors:
        out.extend(templates)
        if subspace is not None:
            out.append(subspace)
    out.extend(own_templates)
    return out
