"""Facilitators as people a network invests in: outside facilitators, training, compensation. Pure."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from federation.permissions import Actor, can_manage_network


class TrainingStatus(StrEnum):
    """A facilitator's training in a network on a given day."""

    CURRENT = "current"
    EXPIRED = "expired"
    NONE = "none"


def training_status(records: list[tuple[dt.date, dt.date | None]], today: dt.date) -> TrainingStatus:
    """From (completed_on, expires_on) records: current if any has not expired (no expiry: never)."""
    if not records:
        return TrainingStatus.NONE
    if any(done <= today and (until is None or until >= today) for done, until in records):
        return TrainingStatus.CURRENT
    return TrainingStatus.EXPIRED


def training_problem(completed_on: dt.date, expires_on: dt.date | None, today: dt.date) -> str | None:
    """Why a training record is not plausible, or None."""
    if completed_on > today:
        return "completed_on is in the future; record a training once it has happened"
    if expires_on is not None and expires_on < completed_on:
        return "expires_on is before completed_on"
    return None


def can_manage_facilitators_program(actor: Actor, network_id: uuid.UUID) -> bool:
    """The network's admins see the Facilitators page, record training and compensation, and add
    outside facilitators."""
    return can_manage_network(actor, network_id)


def can_view_compensation(actor: Actor, network_id: uuid.UUID) -> bool:
    """Who is paid is for the network's admins only."""
    return can_manage_network(actor, network_id)
