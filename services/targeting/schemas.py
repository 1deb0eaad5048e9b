"""Wire types of template targeting and exemptions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

SpaceKind = Literal["identity", "role", "topic", "cohort"]
Depth = Annotated[int, msgspec.Meta(ge=0, le=64, description="0 = root spaces")]


class TargetSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /networks/{slug}/templates/{template_id}/target: what the template's
    attachment (to the network when ``space_id`` is null, else to that space's sub-tree) binds.
    ``kinds`` null: every kind; ``leaf_only``: only spaces without sub-spaces (not umbrellas);
    depths inclusive (null: open). All defaults: bind everything again."""

    space_id: uuid.UUID | None = None
    kinds: Annotated[list[SpaceKind], msgspec.Meta(max_length=4)] | None = None
    leaf_only: bool = False
    min_depth: Depth | None = None
    max_depth: Depth | None = None


class TargetOut(msgspec.Struct):
    """An attachment's target."""

    template_id: uuid.UUID
    space_id: uuid.UUID | None
    kinds: list[str] | None
    leaf_only: bool
    min_depth: int | None
    max_depth: int | None


class ExemptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/exemptions: take ``space_id`` and its sub-tree out of
    ``template_id`` (null: every template), for ``reason`` (kept in the audit log)."""

    space_id: uuid.UUID
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    template_id: uuid.UUID | None = None


class ExemptionOut(msgspec.Struct):
    """An exempted sub-tree."""

    id: uuid.UUID
    space_id: uuid.UUID
    space_name: str
    template_id: uuid.UUID | None
    reason: str
    created_by: uuid.UUID | None
    created_at: dt.datetime


class ExemptionList(msgspec.Struct):
    """Body of GET /networks/{slug}/exemptions."""

    network: str
    items: list[ExemptionOut]
