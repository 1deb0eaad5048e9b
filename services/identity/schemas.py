"""Wire types of the identity area's API (identity provider, OIDC clients)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from federation.wire import Text

Url = Annotated[Text, msgspec.Meta(min_length=8, max_length=500)]
Domain = Annotated[Text, msgspec.Meta(min_length=3, max_length=253)]
RedirectUri = Annotated[Text, msgspec.Meta(min_length=8, max_length=2000)]


class IdentityProviderSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /networks/{slug}/identity-provider."""

    issuer: Url
    client_id: Annotated[Text, msgspec.Meta(min_length=1, max_length=500)]
    client_secret: Annotated[Text, msgspec.Meta(min_length=1, max_length=2000)]
    email_domains: Annotated[list[Domain], msgspec.Meta(max_length=50)] = []
    """E-mail domains the network claims. A new domain is a *pending* claim that links nothing until
    a federation operator approves it; a domain left out is withdrawn (e-mail linking through it stops)."""


ClaimStatusName = Literal["pending", "approved", "rejected"]


class DomainClaimOut(msgspec.Struct):
    """A network's claim to an e-mail domain. Only an ``approved`` claim links sign-ins by e-mail."""

    id: uuid.UUID
    network: str
    domain: str
    status: ClaimStatusName
    requested_at: dt.datetime
    decided_at: dt.datetime | None


class DomainClaimList(msgspec.Struct):
    """GET /networks/{slug}/email-domains and GET /email-domain-claims."""

    items: list[DomainClaimOut]


class IdentityProviderOut(msgspec.Struct):
    """A network's upstream provider as the API shows it (the client secret is never returned)."""

    network: str
    issuer: str
    client_id: str
    email_domains: list[str]
    """The domains the network claims; see ``domain_claims`` for which an operator approved."""
    redirect_uri: str
    """Register exactly this redirect URI at the provider."""
    id_token_algs: list[str]
    updated_at: dt.datetime
    domain_claims: list[DomainClaimOut] = []


class ClientCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/clients."""

    name: Annotated[Text, msgspec.Meta(min_length=1, max_length=200)]
    redirect_uris: Annotated[list[RedirectUri], msgspec.Meta(min_length=1, max_length=20)]
    post_logout_redirect_uris: Annotated[list[RedirectUri], msgspec.Meta(max_length=20)] = []


class ClientCreated(msgspec.Struct):
    """A registered client; ``client_secret`` is shown this once and stored only as a hash."""

    id: uuid.UUID
    network: str
    name: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    issuer: str
    discovery_url: str


class IdentityProviderInfo(msgspec.Struct):
    """GET /networks/{slug}/identity-provider: what is connected (never the client secret)."""

    network: str
    issuer: str
    client_id: str
    email_domains: list[str]
    redirect_uri: str
    id_token_algs: list[str]
    connected_at: dt.datetime
    updated_at: dt.datetime
    domain_claims: list[DomainClaimOut] = []


class ClientOut(msgspec.Struct):
    """A registered OIDC client as listed (no secret: it was shown once, and only its hash is kept)."""

    id: uuid.UUID
    name: str
    client_id: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class ClientList(msgspec.Struct):
    """GET /networks/{slug}/clients."""

    items: list[ClientOut]


class ClientSecretRotated(msgspec.Struct):
    """A new client secret, shown this once; the previous secret no longer works."""

    client_id: str
    client_secret: str
    rotated_at: dt.datetime


class LinkedIdentityOut(msgspec.Struct):
    """An upstream identity linked to the caller's account."""

    id: uuid.UUID
    issuer: str
    network: str | None
    """Slug of the network whose provider it came through (None if that network is gone)."""
    email: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class LinkedIdentityList(msgspec.Struct):
    """GET /me/identities."""

    items: list[LinkedIdentityOut]
    has_password: bool
    """Whether the account can also sign in with a password."""
