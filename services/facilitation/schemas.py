"""Wire types of the facilitation area."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec


class TrainingCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Record a facilitator's training in the network."""

    account_id: uuid.UUID
    course: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    completed_on: dt.date
    expires_on: dt.date | None = None


class TrainingOut(msgspec.Struct, kw_only=True):
    """One training record."""

    id: uuid.UUID
    account_id: uuid.UUID
    course: str
    completed_on: dt.date
    expires_on: dt.date | None


class CompensationSet(msgspec.Struct, forbid_unknown_fields=True):
    """Whether the network pays this facilitator."""

    compensated: bool
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class FacilitatedSpace(msgspec.Struct, kw_only=True):
    """A space a facilitator runs."""

    id: uuid.UUID
    name: str


class FacilitatorOut(msgspec.Struct, kw_only=True):
    """A facilitator on the network's Facilitators page (network admins)."""

    account_id: uuid.UUID
    display_name: str
    email: str
    outside: bool
    """Facilitates here without being a member of the network."""
    training: Literal["current", "expired", "none"]
    trainings: list[TrainingOut]
    compensated: bool
    compensation_note: str
    spaces: list[FacilitatedSpace]


class FacilitatorList(msgspec.Struct, kw_only=True):
    """Everyone who facilitates a space of the network, by name."""

    network: str
    items: list[FacilitatorOut]


class OutsideFacilitatorOut(msgspec.Struct, kw_only=True):
    """An outside facilitator added to a space."""

    space_id: uuid.UUID
    account_id: uuid.UUID
    outside: bool
