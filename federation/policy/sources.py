"""Where a bound comes from: provenance carried by every constraint.

Every bound in an effective constraint remembers the *source* that set it, so a refused write
can name "template 'ALAS baseline' v2" or "ancestor space 'Latinas Lead'" instead of a bare
number. Sources are plain values (ids and names as they were when loaded), never database rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    """How a template's bounds act (like Kubernetes admission policies).

    ``enforce`` refuses writes; ``warn`` lets them through with warnings; ``audit`` only records.
    Every source that is not a template (ancestor spaces, networks, guest networks) enforces.
    """

    ENFORCE = "enforce"
    WARN = "warn"
    AUDIT = "audit"


class SourceKind(StrEnum):
    """What kind of thing set a bound."""

    TEMPLATE = "template"
    SPACE = "space"  # an ancestor space's constraints for its sub-spaces
    NETWORK = "network"  # constraints set on a network directly (not through a template)
    GUEST_NETWORK = "guest_network"  # a guest network's constraints on a space shared with it


@dataclass(frozen=True, slots=True)
class Source:
    """The template, ancestor space, network or guest network that set a bound.

    ``version`` is set for templates only. ``mode`` is meaningful for templates; other sources
    always enforce (use the constructors below, which get that right).
    """

    kind: SourceKind
    id: uuid.UUID
    name: str
    version: int | None = None
    mode: Mode = Mode.ENFORCE

    @classmethod
    def template(cls, id: uuid.UUID, name: str, version: int, mode: Mode | str = Mode.ENFORCE) -> Source:
        """A policy template version attached in ``mode``."""
        return cls(SourceKind.TEMPLATE, id, name, version, Mode(mode))

    @classmethod
    def space(cls, id: uuid.UUID, name: str) -> Source:
        """An ancestor space, for the constraints it sets on its sub-spaces."""
        return cls(SourceKind.SPACE, id, name)

    @classmethod
    def network(cls, id: uuid.UUID, name: str) -> Source:
        """A network's own constraints (outside any template)."""
        return cls(SourceKind.NETWORK, id, name)

    @classmethod
    def guest_network(cls, id: uuid.UUID, name: str) -> Source:
        """A guest network's constraints on a space shared with it."""
        return cls(SourceKind.GUEST_NETWORK, id, name)

    def label(self) -> str:
        """Human words for messages, e.g. ``warn-mode template 'ALAS baseline' v2``."""
        if self.kind is _TEMPLATE:
            mode = "" if self.mode is _ENFORCE else f"{self.mode}-mode "
            return f"{mode}template '{self.name}' v{self.version}"
        if self.kind is _SPACE:
            return f"ancestor space '{self.name}'"
        if self.kind is _NETWORK:
            return f"network '{self.name}'"
        return f"guest network '{self.name}'"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for API responses and error details."""
        out: dict[str, object] = {"kind": str(self.kind), "id": str(self.id), "name": self.name}
        if self.kind is _TEMPLATE:
            out["version"] = self.version
            out["mode"] = str(self.mode)
        return out


# Cached members: Enum class attribute access is a descriptor call in Python 3.11, and labels
# and JSON forms are built for every violation and compliance finding.
_TEMPLATE, _SPACE, _NETWORK = SourceKind.TEMPLATE, SourceKind.SPACE, SourceKind.NETWORK
_ENFORCE = Mode.ENFORCE
