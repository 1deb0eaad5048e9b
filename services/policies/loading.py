"""Turn stored templates, attachments and spaces into the policy engine's inputs.

The engine (``federation.policy``) is pure; this module is the one place that maps rows to
layers, and :func:`policy_of` is the one way an area loads a space's effective policy.
Template versions are immutable, so parsed layers are cached per (template, version, name,
mode) for the life of the process. The clock (:func:`now`) lives here too, beside the policy
that areas load with it, so that membership, meetings and sharing date their decisions
without importing the spaces area's use cases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from federation.policy import (
    DryRunSubject,
    EffectivePolicy,
    PolicyLayer,
    PolicyResolver,
    Source,
    SpacePolicyInput,
    applies_to,
    effective_policy,
    parse_constraints,
    path_layers,
)
from services.persistence.models import Space
from services.policies import repository
from services.policies.repository import AttachedTemplate

_LAYER_CACHE: dict[tuple[uuid.UUID, int, str, str], PolicyLayer] = {}
_CACHE_LIMIT = 20_000


def template_layer(t: AttachedTemplate) -> PolicyLayer:
    """The parsed layer of a template version (cached: versions never change)."""
    key = (t.template_id, t.version, t.name, t.mode)
    layer = _LAYER_CACHE.get(key)
    if layer is None:
        layer = parse_constraints(t.constraints, Source.template(t.template_id, t.name, t.version, t.mode))
        if len(_LAYER_CACHE) >= _CACHE_LIMIT:
            _LAYER_CACHE.clear()
        _LAYER_CACHE[key] = layer
    return layer


def subspace_layer(space_id: uuid.UUID, name: str, constraints: dict[str, Any] | None) -> PolicyLayer | None:
    """The constraints a space sets for its sub-spaces, as a layer (None when it sets none)."""
    if not constraints:
        return None
    return parse_constraints(constraints, Source.space(space_id, name))


def split_attachments(
    attached: Iterable[AttachedTemplate],
) -> tuple[list[PolicyLayer], dict[uuid.UUID, list[PolicyLayer]]]:
    """(network-wide layers, layers attached per space)."""
    network: list[PolicyLayer] = []
    per_space: dict[uuid.UUID, list[PolicyLayer]] = {}
    for t in attached:
        layer = template_layer(t)
        if t.space_id is None:
            network.append(layer)
        else:
            per_space.setdefault(t.space_id, []).append(layer)
    return network, per_space


def space_policy(
    space_id: uuid.UUID, ancestors: Sequence[Space], attached: Iterable[AttachedTemplate]
) -> EffectivePolicy:
    """Effective policy of one space from its ancestors (root first) and the attached templates."""
    network, per_space = split_attachments(attached)
    return effective_policy(
        path_layers(
            network,
            [(per_space.get(a.id, []), subspace_layer(a.id, a.name, a.subspace_constraints)) for a in ancestors],
            per_space.get(space_id, []),
        )
    )


async def policy_of(session: AsyncSession, space: Space, ancestors: Sequence[Space]) -> EffectivePolicy:
    """Effective policy of a space: one query for the templates on its path and network."""
    attached = await repository.attached_templates(session, space.network_id, [*space.path, space.id])
    return space_policy(space.id, ancestors, attached)


def now() -> dt.datetime:
    """The current time (UTC)."""
    return dt.datetime.now(dt.UTC)


class PolicySpace(Protocol):
    """What the resolver reads of a space (a ``Space`` row, or lighter rows with these fields)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def parent_id(self) -> uuid.UUID | None: ...
    @property
    def name(self) -> str: ...
    @property
    def subspace_constraints(self) -> dict[str, Any] | None: ...


def resolver_for(
    spaces: Iterable[PolicySpace],
    attached: Iterable[AttachedTemplate],
    *,
    extra: Iterable[AttachedTemplate] = (),
    replace: PolicyLayer | None = None,
) -> PolicyResolver:
    """A memoised resolver over ``spaces`` (which must include every ancestor asked about).

    ``extra`` adds attachments that do not exist yet (an attach dry run); ``replace`` swaps every
    layer of the same template for this one (a new version's dry run).
    """
    network, per_space = split_attachments([*attached, *extra])
    if replace is not None:
        network = _replaced(network, replace)
        per_space = {sid: _replaced(layers, replace) for sid, layers in per_space.items()}
    return PolicyResolver(
        network,
        [
            SpacePolicyInput(
                s.id, s.parent_id, per_space.get(s.id, ()), subspace_layer(s.id, s.name, s.subspace_constraints)
            )
            for s in spaces
        ],
    )


def dry_run_subjects(
    spaces: Iterable[Space],
    targets: Iterable[uuid.UUID | None],
    facilitator_counts: Mapping[uuid.UUID, tuple[int, int]],
) -> list[DryRunSubject]:
    """The spaces a template attached at ``targets`` binds, as :func:`federation.policy.dry_run`
    reads them (settings, constraints for sub-spaces, active facilitators)."""
    at = set(targets)
    return [
        DryRunSubject(
            s.id,
            s.name,
            s.settings,
            subspace_constraints=subspace_layer(s.id, s.name, s.subspace_constraints),
            facilitators=facilitator_counts.get(s.id, (0, 0))[0],
        )
        for s in spaces
        if applies_to(at, s.id, s.path)
    ]


def _replaced(layers: list[PolicyLayer], new: PolicyLayer) -> list[PolicyLayer]:
    return [new if layer.source.id == new.source.id else layer for layer in layers]
