"""Invitations by e-mail address: who may be invited, and what an invitation link means now.

Pure decisions (no I/O, no clock of its own): the services area reads the rows and passes the
facts and the time in.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from federation.permissions import Actor

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]{1,64}@" + _LABEL + r"(?:\." + _LABEL + r")+$")


def normalize_email(raw: str) -> str | None:
    """The address trimmed and lower-cased, or None when it is not a plausible address."""
    value = raw.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        return None
    return value


def expires_at(created: dt.datetime, days: int) -> dt.datetime:
    """When an invitation made at ``created`` stops working."""
    return created + dt.timedelta(days=days)


class Eligibility(StrEnum):
    """Whether a person may be invited to a space, and why."""

    HOME_MEMBER = "home_member"  # member of the space's network
    GUEST_MEMBER = "guest_member"  # member of a network the space is actively shared with
    NEW_PERSON = "new_person"  # no account yet: accepting makes them a member of the inviting network
    NOT_ELIGIBLE = "not_eligible"  # has an account, but in no network that may belong


def eligibility(
    *,
    has_account: bool,
    account_networks: Collection[uuid.UUID],
    home_network_id: uuid.UUID,
    guest_network_ids: Collection[uuid.UUID],
) -> Eligibility:
    """Invitations reach only people who may belong to the space.

    ``guest_network_ids`` are the networks the space (or an ancestor, with its sub-spaces) is
    actively shared with. Someone without an account is a newcomer to the inviting network: the
    invitation itself is the network's decision to bring them in.
    """
    if not has_account:
        return Eligibility.NEW_PERSON
    if home_network_id in account_networks:
        return Eligibility.HOME_MEMBER
    if any(n in account_networks for n in guest_network_ids):
        return Eligibility.GUEST_MEMBER
    return Eligibility.NOT_ELIGIBLE


class LinkProblem(StrEnum):
    """Why an invitation link cannot be used (each has its own page saying what to do)."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    SPACE_GONE = "space_gone"
    OTHER_ADDRESS = "other_address"


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """What the service knows about a presented invitation link."""

    status: str  # pending | accepted | revoked | declined
    expires_at: dt.datetime
    space_exists: bool
    invited_email: str
    signed_in_email: str | None = None  # None: nobody is signed in
    accepted_by_signed_in: bool = False


def link_problem(facts: LinkFacts | None, now: dt.datetime) -> LinkProblem | None:
    """What is wrong with a link right now, or None when it can be accepted.

    Order matters: a used link says "used" even after it would have expired; a link for a space
    that was deleted says so before anything else about it.
    """
    if facts is None:
        return LinkProblem.UNKNOWN
    if not facts.space_exists:
        return LinkProblem.SPACE_GONE
    if facts.status == "accepted":
        return LinkProblem.USED
    if facts.status in {"revoked", "declined"}:
        return LinkProblem.REVOKED
    if now >= facts.expires_at:
        return LinkProblem.EXPIRED
    if facts.signed_in_email is not None and facts.signed_in_email.lower() != facts.invited_email.lower():
        return LinkProblem.OTHER_ADDRESS
    return None


def can_revoke_invitation(
    actor: Actor, *, network_id: uuid.UUID, invited_by: uuid.UUID | None, may_invite: bool
) -> bool:
    """The inviter, the space's managers (``may_invite``) and the network's admins withdraw an invitation."""
    return actor.is_operator or actor.is_admin_of(network_id) or may_invite or invited_by == actor.account_id
