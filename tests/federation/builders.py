"""Small builders for pure-domain tests: sources and parsed layers from plain dicts."""

from __future__ import annotations

import uuid

from federation.policy import Mode, PolicyLayer, Source, parse_constraints

_IDS: dict[str, uuid.UUID] = {}


def sid(name: str) -> uuid.UUID:
    """A stable id per name, so tests can refer to spaces and templates by name."""
    return _IDS.setdefault(name, uuid.uuid5(uuid.NAMESPACE_URL, name))


def template(name: str, version: int = 1, mode: Mode | str = Mode.ENFORCE) -> Source:
    return Source.template(sid(f"template:{name}"), name, version, mode)


def ancestor(name: str) -> Source:
    return Source.space(sid(name), name)


def layer(raw: dict[str, object], source: Source | None = None) -> PolicyLayer:
    return parse_constraints(raw, source or template("T"))
