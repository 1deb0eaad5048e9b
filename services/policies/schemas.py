"""Wire types of the policies area (templates, attachments, dry runs)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from federation.wire import JsonObject, Text

Name = Annotated[Text, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[Text, msgspec.Meta(max_length=2000)]
ModeName = Literal["enforce", "warn", "audit"]


class Noncompliance(msgspec.Struct, forbid_unknown_fields=True):
    """The explicit choice to apply a breaking change and mark the spaces it breaks."""

    deadline: dt.date
    """Date by which the marked spaces should be back inside their bounds."""


class TemplateCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/templates."""

    name: Name
    constraints: JsonObject
    mode: ModeName = "enforce"
    description: Description = ""


class TemplateUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /networks/{slug}/templates/{id}: the next version.

    ``mark_noncompliant`` is required to apply a version that puts spaces out of bounds; those
    spaces are marked non-compliant with the deadline, and their settings are left as they are.
    """

    constraints: JsonObject
    mode: ModeName | None = None
    name: Name | None = None
    description: Description | None = None
    mark_noncompliant: Noncompliance | None = None


class AttachBody(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body of the attach endpoints."""

    mark_noncompliant: Noncompliance | None = None


class VersionOut(msgspec.Struct):
    """One immutable version of a template."""

    version: int
    created_at: dt.datetime
    created_by: uuid.UUID | None


class TemplateOut(msgspec.Struct):
    """A template with its current version's constraints and where it is attached."""

    id: uuid.UUID
    network: str
    name: str
    description: str
    mode: ModeName
    version: int
    constraints: dict[str, Any]
    attached_to_network: bool
    attached_to_spaces: list[uuid.UUID]
    created_at: dt.datetime
    updated_at: dt.datetime
    versions: list[VersionOut] | None = None


class TemplateList(msgspec.Struct):
    """Body of GET /networks/{slug}/templates."""

    items: list[TemplateOut]


class DryRunOut(msgspec.Struct):
    """What a template change (or attachment) would do: every space it would put out of bounds.

    ``spaces`` lists each affected space with the violations (and warnings) the change brings;
    ``out_of_bounds`` counts the spaces it would break (enforce mode). ``applied`` is False for
    a dry run.
    """

    template_id: uuid.UUID
    version: int
    mode: ModeName
    checked: int
    out_of_bounds: int
    spaces: list[dict[str, Any]]
    applied: bool
    marked_noncompliant: int = 0
    deadline: dt.date | None = None


class TemplateChangeOut(msgspec.Struct):
    """Body of a non-dry-run PUT: the template as it now stands and the report of its effect."""

    template: TemplateOut
    report: DryRunOut


class AttachmentOut(msgspec.Struct):
    """An attachment of a template to a network or a space, and its effect."""

    template_id: uuid.UUID
    network: str
    space_id: uuid.UUID | None
    created: bool
    report: DryRunOut


class ParameterList(msgspec.Struct):
    """Body of GET /policy/parameters: the catalogue of policy parameters."""

    items: list[dict[str, Any]]
