"""Sharing agreements: a host network shares a space (optionally with its sub-spaces) with a
guest network. Pure rules: state, expiry, coverage, who may act. No clock of its own: callers
pass ``now``.

Life of an agreement::

    offered (pending) --accept--> active --end--> ended
          |  \\--decline--> declined
          |   \\--end (host withdraws / guest refuses)--> ended
          \\-- 14 days without an answer --> expired (computed at read time, enforced on accept)

An offer to a guest network that marked the host as trusted is accepted at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from federation.permissions import Actor, can_manage_network

OFFER_TTL = dt.timedelta(days=14)
"""How long an offer waits for the guest network's answer."""


class ShareStatus(StrEnum):
    """An agreement's state as the API shows it (``expired`` is computed, never required in storage)."""

    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    ENDED = "ended"
    EXPIRED = "expired"


OPEN_STATUSES = frozenset({ShareStatus.PENDING, ShareStatus.ACTIVE})
"""States that block a second offer of the same space to the same network."""


def expires_at(created_at: dt.datetime) -> dt.datetime:
    """When an offer made at ``created_at`` expires."""
    return created_at + OFFER_TTL


def current_status(stored: str, expires: dt.datetime, now: dt.datetime) -> ShareStatus:
    """The state at ``now``: a pending offer past its expiry is ``expired``."""
    status = ShareStatus(stored)
    if status is ShareStatus.PENDING and now >= expires:
        return ShareStatus.EXPIRED
    return status


def covers(
    share_space_id: uuid.UUID, include_subspaces: bool, space_id: uuid.UUID, path: Collection[uuid.UUID]
) -> bool:
    """Whether an agreement on ``share_space_id`` reaches the space ``space_id`` (ancestors ``path``)."""
    return share_space_id == space_id or (include_subspaces and share_space_id in path)


@dataclass(frozen=True, slots=True)
class ShareSides:
    """The two networks of an agreement."""

    host_network_id: uuid.UUID
    guest_network_id: uuid.UUID


def can_answer_share(actor: Actor, share: ShareSides) -> bool:
    """Accept or decline an offer (and set guest constraints): the guest network's admins
    (and operators). The host's admins cannot answer for the guest."""
    return can_manage_network(actor, share.guest_network_id)


def can_end_share(actor: Actor, share: ShareSides) -> bool:
    """End an agreement (or withdraw an offer): either side's admins (and operators)."""
    return can_manage_network(actor, share.host_network_id) or can_manage_network(actor, share.guest_network_id)


def can_view_shares(actor: Actor, network_id: uuid.UUID) -> bool:
    """A network's agreements, both directions: its admins (and operators)."""
    return can_manage_network(actor, network_id)


def can_manage_trust(actor: Actor, network_id: uuid.UUID) -> bool:
    """Mark another network as trusted (its offers are accepted at once): the admins of the
    network that would receive them (and operators)."""
    return can_manage_network(actor, network_id)
