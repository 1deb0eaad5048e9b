"""What a template attachment binds, and exempted sub-trees. Pure.

A template attached to a network (or to a space and its sub-tree) binds, by default, every space
under it. A *target* narrows that: only some kinds (``identity``, ``role`` …), only leaf spaces
(spaces without sub-spaces — the groups that actually meet, not the umbrellas that hold them), and
a depth range (0 = root spaces). An *exemption* takes a whole sub-tree out of one template (or
of every template), with a reason an admin gives and the audit log keeps.

A space a template does not bind is checked for compliance as if that template were not
attached: its meeting counts, cadence, facilitators and agendas are not measured against it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SPACE_KINDS = frozenset({"identity", "role", "topic", "cohort"})
MAX_DEPTH = 64
MAX_REASON = 500


class TargetError(ValueError):
    """A target that cannot be; ``field`` names the input for a 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Target:
    """What an attachment binds. ``kinds`` None: every kind. Depths are inclusive; None: open."""

    kinds: frozenset[str] | None = None
    leaf_only: bool = False
    min_depth: int | None = None
    max_depth: int | None = None

    @property
    def is_everything(self) -> bool:
        """True when the target binds every space (the default)."""
        return self.kinds is None and not self.leaf_only and self.min_depth is None and self.max_depth is None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (also how it is stored)."""
        return {
            "kinds": sorted(self.kinds) if self.kinds is not None else None,
            "leaf_only": self.leaf_only,
            "min_depth": self.min_depth,
            "max_depth": self.max_depth,
        }


EVERYTHING = Target()


def make_target(kinds: Iterable[str] | None, leaf_only: bool, min_depth: int | None, max_depth: int | None) -> Target:
    """A checked target; :class:`TargetError` naming the field otherwise."""
    kind_set = None if kinds is None else frozenset(kinds)
    if kind_set is not None:
        unknown = sorted(kind_set - SPACE_KINDS)
        if unknown:
            raise TargetError(
                "kinds", f"Unknown space kind(s): {', '.join(unknown)}; use {', '.join(sorted(SPACE_KINDS))}."
            )
        if not kind_set:
            raise TargetError("kinds", "Name at least one kind, or leave kinds out (null) to bind every kind.")
    for name, value in (("min_depth", min_depth), ("max_depth", max_depth)):
        if value is not None and not 0 <= value <= MAX_DEPTH:
            raise TargetError(name, f"{name} must be from 0 (root spaces) to {MAX_DEPTH}.")
    if min_depth is not None and max_depth is not None and min_depth > max_depth:
        raise TargetError(
            "max_depth", f"max_depth ({max_depth}) is below min_depth ({min_depth}); nothing would match."
        )
    return Target(kind_set, leaf_only, min_depth, max_depth)


def target_from_dict(raw: Mapping[str, object] | None) -> Target:
    """The stored form back (None: every space). Stored targets were checked when written."""
    if not raw:
        return EVERYTHING
    kinds = raw.get("kinds")
    min_depth, max_depth = raw.get("min_depth"), raw.get("max_depth")
    return Target(
        frozenset(str(k) for k in kinds) if isinstance(kinds, list) else None,
        raw.get("leaf_only") is True,
        min_depth if isinstance(min_depth, int) else None,
        max_depth if isinstance(max_depth, int) else None,
    )


@dataclass(frozen=True, slots=True)
class SpaceShape:
    """Where a space sits: its kind, depth (0 = root), whether it has sub-spaces, and its
    ancestors' ids (root first)."""

    space_id: uuid.UUID
    kind: str
    depth: int
    has_children: bool
    ancestors: tuple[uuid.UUID, ...] = ()


def binds(target: Target, space: SpaceShape) -> bool:
    """Whether an attachment with ``target`` binds ``space``."""
    if target.kinds is not None and space.kind not in target.kinds:
        return False
    if target.leaf_only and space.has_children:
        return False
    if target.min_depth is not None and space.depth < target.min_depth:
        return False
    return not (target.max_depth is not None and space.depth > target.max_depth)


@dataclass(frozen=True, slots=True)
class Exemption:
    """A sub-tree (``space_id`` and everything under it) out of one template (``template_id``)
    or every template (None)."""

    id: uuid.UUID
    space_id: uuid.UUID
    template_id: uuid.UUID | None
    reason: str


def exemption_for(space: SpaceShape, template_id: uuid.UUID, exemptions: Sequence[Exemption]) -> Exemption | None:
    """The exemption that takes ``space`` out of ``template_id``, if any (nearest sub-tree first)."""
    chain = (space.space_id, *reversed(space.ancestors))
    for node in chain:
        for e in exemptions:
            if e.space_id == node and (e.template_id is None or e.template_id == template_id):
                return e
    return None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A template attached to the network (``space_id`` None) or to a space's sub-tree."""

    template_id: uuid.UUID
    space_id: uuid.UUID | None
    target: Target = EVERYTHING


def unbound_attachments(
    space: SpaceShape, attachments: Iterable[Attachment], exemptions: Sequence[Exemption]
) -> frozenset[tuple[uuid.UUID, uuid.UUID | None]]:
    """(template id, attached-to space id) of the attachments over ``space`` that do not bind it
    (targeted elsewhere, or exempted).

    An attachment to a space applies to that space's sub-tree; only attachments over ``space``
    (network-wide, to the space itself or to an ancestor) are considered.
    """
    over = {None, space.space_id, *space.ancestors}
    out: set[tuple[uuid.UUID, uuid.UUID | None]] = set()
    for a in attachments:
        if a.space_id not in over:
            continue
        if not binds(a.target, space) or exemption_for(space, a.template_id, exemptions) is not None:
            out.add((a.template_id, a.space_id))
    return frozenset(out)


def unbound_templates(
    space: SpaceShape, attachments: Iterable[Attachment], exemptions: Sequence[Exemption]
) -> frozenset[uuid.UUID]:
    """Ids of the templates with an attachment over ``space`` that does not bind it."""
    return frozenset(t for t, _ in unbound_attachments(space, attachments, exemptions))


def check_reason(reason: str) -> str:
    """A trimmed, non-blank reason of at most :data:`MAX_REASON` characters."""
    cleaned = reason.strip()
    if not cleaned:
        raise TargetError("reason", "Say why this sub-tree is exempt (the audit log keeps it).")
    if len(cleaned) > MAX_REASON:
        raise TargetError("reason", f"Keep the reason to {MAX_REASON} characters.")
    return cleaned
