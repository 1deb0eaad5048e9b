"""Invitation link tokens.

A token is derived from the invitation's id and a random nonce under the service secret
(``id.nonce.mac``) so that the database holds only its SHA-256 (``space_invitations.token_hash``)
and the outbox holds only a placeholder: the sender rebuilds the link at send time from the
id and nonce kept in the outbox row's private headers plus the secret. A copy of the database
alone cannot accept anyone's invitation.
"""

from __future__ import annotations

import uuid

from services.identity.crypto import digest, mac, new_secret

PLACEHOLDER = "{invitation_link}"
"""Stands for the link in a queued e-mail's text; replaced when the e-mail is sent."""
HEADER = "_invitation"
"""Private outbox header (never sent) holding ``id.nonce`` for :func:`expand`."""


def new_nonce() -> str:
    """Fresh randomness for one invitation's token."""
    return new_secret(nbytes=16)


def token(secret_key: str, invitation_id: uuid.UUID, nonce: str) -> str:
    """The link token of an invitation."""
    return f"{invitation_id.hex}.{nonce}.{mac(secret_key, 'invitation-link', invitation_id.hex + '.' + nonce)}"


def token_hash(value: str) -> bytes:
    """What the database stores (and looks up) for a token."""
    return digest(value)


def link(base_url: str, value: str) -> str:
    """The URL in the e-mail."""
    return f"{base_url}/invitations/{value}"


def expand(secret_key: str, base_url: str, body: str, private: str) -> str:
    """Replace :data:`PLACEHOLDER` in ``body`` using the ``id.nonce`` kept in the outbox row."""
    raw_id, _, nonce = private.partition(".")
    return body.replace(PLACEHOLDER, link(base_url, token(secret_key, uuid.UUID(hex=raw_id), nonce)))
