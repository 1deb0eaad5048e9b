"""Who may be signed in as whom: the rules for e-mail domain claims and linking by e-mail.

A network's upstream provider vouches for e-mail addresses. Trusting that vouch to open an
*existing* account is a grant of that account, so it is allowed only where no network admin
can reach beyond their own people:

- the e-mail's domain is claimed by the network signing the person in, and a federation
  operator approved that claim (an admin alone can claim anything; approval is the check);
- the account is not an operator's (an operator account opens every network);
- the account holds no role in another network (else one network's provider could take over
  another network's member or admin).

Everything else is linked only by its owner, signed in, from their account page.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from federation.permissions import Actor


class ClaimStatus(StrEnum):
    """Where a network's claim to an e-mail domain stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class EmailLinkRefusal(StrEnum):
    """Why a verified e-mail does not link an upstream sign-in to an existing account."""

    EMAIL_NOT_VERIFIED = "email_not_verified"
    DOMAIN_NOT_APPROVED = "domain_not_approved"
    OPERATOR_ACCOUNT = "operator_account"
    ROLE_IN_ANOTHER_NETWORK = "role_in_another_network"


@dataclass(frozen=True)
class ExistingAccount:
    """What the rule needs to know about the account that already has the e-mail address."""

    is_operator: bool
    network_ids: frozenset[uuid.UUID]
    """Networks in which the account holds any role (member, facilitator, admin)."""


def email_link_refusal(
    *,
    network_id: uuid.UUID,
    email_verified: bool,
    domain_approved_for_network: bool,
    account: ExistingAccount,
) -> EmailLinkRefusal | None:
    """None when the upstream sign-in may be linked to ``account`` by its e-mail, else why not."""
    if not email_verified:
        return EmailLinkRefusal.EMAIL_NOT_VERIFIED
    if not domain_approved_for_network:
        return EmailLinkRefusal.DOMAIN_NOT_APPROVED
    if account.is_operator:
        return EmailLinkRefusal.OPERATOR_ACCOUNT
    if account.network_ids - {network_id}:
        return EmailLinkRefusal.ROLE_IN_ANOTHER_NETWORK
    return None


def can_decide_domain_claims(actor: Actor) -> bool:
    """Approving or rejecting a network's e-mail domain claim: federation operators only."""
    return actor.is_operator


def can_approve_claim(*, approved_elsewhere: Collection[uuid.UUID], network_id: uuid.UUID) -> bool:
    """A domain is approved for at most one network."""
    return not (set(approved_elsewhere) - {network_id})


def domain_of(email: str) -> str:
    """The lower-cased domain of an e-mail address (the part after the last '@')."""
    return email.rsplit("@", 1)[-1].strip().lower()
