"""Identity: upstream providers, linked identities, web sessions, the OIDC provider's state.

Owned by the identity area (services/identity). Every secret that would let someone act as a
member is stored only as a SHA-256 hash (session ids, states, codes, tokens, client secrets);
the two secrets the service must use in clear (an upstream client secret, our private signing
keys) are stored encrypted with a key derived from AFFINITY_SECRET_KEY.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class UpstreamProvider(Base):
    """A network's own OpenID Connect provider (its district's IdP); one per network."""

    __tablename__ = "upstream_providers"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    issuer: Mapped[str] = mapped_column(String(500), nullable=False)
    client_id: Mapped[str] = mapped_column(String(500), nullable=False)
    client_secret_enc: Mapped[bytes] = mapped_column(nullable=False)
    authorization_endpoint: Mapped[str] = mapped_column(String(1000), nullable=False)
    token_endpoint: Mapped[str] = mapped_column(String(1000), nullable=False)
    jwks_uri: Mapped[str] = mapped_column(String(1000), nullable=False)
    id_token_algs: Mapped[list[str]] = mapped_column(nullable=False, default=list)
    jwks: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    jwks_fetched_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())


class EmailDomainClaim(Base):
    """A network's claim to an e-mail domain, for linking upstream sign-ins to existing accounts by e-mail.

    A claim links nothing until a federation operator approves it; a domain is approved for at
    most one network (partial unique index); removing the claim stops e-mail linking through it.
    """

    __tablename__ = "email_domain_claims"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    domain: Mapped[str] = mapped_column(String(253), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    """'pending' (links nothing), 'approved' (links verified e-mails) or 'rejected'."""
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = created_at()
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("network_id", "domain", name="uq_email_domain_claims_network_domain"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        Index(
            "uq_email_domain_claims_approved_domain",
            "domain",
            unique=True,
            postgresql_where=text("status = 'approved'"),
        ),
    )


class LinkedIdentity(Base):
    """An upstream identity ``(issuer, subject)`` linked to one account (never keyed by email)."""

    __tablename__ = "linked_identities"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    issuer: Mapped[str] = mapped_column(String(500), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    network_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("networks.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = created_at()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_linked_identities_issuer_subject"),)


class WebSession(Base):
    """A browser's signed-in session; the cookie carries a random id, the table only its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[bytes] = mapped_column(nullable=False, unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    method: Mapped[str] = mapped_column(String(40), nullable=False)
    """How the member signed in: 'local' or 'upstream:<network slug>'."""
    created_at: Mapped[dt.datetime] = created_at()
    last_seen_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now())
    authenticated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now())
    """When the member last proved who they are in this session (the id_token's ``auth_time``);
    moves forward when they sign in again (``prompt=login``, ``max_age``)."""
    expires_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class PendingLogin(Base):
    """An upstream sign-in in progress: state, nonce, PKCE verifier, bound to one browser."""

    __tablename__ = "pending_logins"

    id: Mapped[uuid.UUID] = uuid_pk()
    state_hash: Mapped[bytes] = mapped_column(nullable=False, unique=True)
    browser_hash: Mapped[bytes] = mapped_column(nullable=False)
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    nonce: Mapped[str] = mapped_column(String(100), nullable=False)
    code_verifier: Mapped[str] = mapped_column(String(128), nullable=False)
    next_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="/")
    link_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = created_at()
    expires_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column()


class OidcClient(Base):
    """A tool registered by a network to sign its users in with this service."""

    __tablename__ = "oidc_clients"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    client_id: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    secret_hash: Mapped[bytes] = mapped_column(nullable=False)
    redirect_uris: Mapped[list[str]] = mapped_column(nullable=False)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(nullable=False, default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class AuthorizationCode(Base):
    """A single-use, short-lived authorization code (hashed)."""

    __tablename__ = "oidc_authorization_codes"

    id: Mapped[uuid.UUID] = uuid_pk()
    code_hash: Mapped[bytes] = mapped_column(nullable=False, unique=True)
    client_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("web_sessions.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2000), nullable=False)
    scope: Mapped[str] = mapped_column(String(500), nullable=False)
    nonce: Mapped[str | None] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    auth_time: Mapped[dt.datetime] = mapped_column(nullable=False)
    created_at: Mapped[dt.datetime] = created_at()
    expires_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column()


class OidcToken(Base):
    """An opaque access or refresh token issued by our provider (hashed).

    Refresh tokens share a ``family_id`` across rotations: presenting a rotated one again
    revokes the whole family (and its access tokens).
    """

    __tablename__ = "oidc_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # 'access' | 'refresh'
    token_hash: Mapped[bytes] = mapped_column(nullable=False, unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    client_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("web_sessions.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    scope: Mapped[str] = mapped_column(String(500), nullable=False)
    auth_time: Mapped[dt.datetime] = mapped_column(nullable=False)
    created_at: Mapped[dt.datetime] = created_at()
    expires_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column()
    """Refresh tokens: when it was exchanged (rotated). A second use is reuse."""
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class Consent(Base):
    """A member allowed a client to receive these scopes."""

    __tablename__ = "oidc_consents"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    client_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(nullable=False)
    created_at: Mapped[dt.datetime] = created_at()


class SigningKey(Base):
    """A private key our provider signs id_tokens with; retired keys stay published for a grace period."""

    __tablename__ = "oidc_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10), nullable=False)
    private_jwk_enc: Mapped[bytes] = mapped_column(nullable=False)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    retired_at: Mapped[dt.datetime | None] = mapped_column()


class LoginThrottle(Base):
    """Failed local sign-ins per key (an e-mail address or a client address) in the current window."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(nullable=False)


Index("ix_pending_logins_expires_at", PendingLogin.expires_at)
# For the clean-up job (services/identity/cleanup.py): find expired and revoked rows by index.
Index("ix_web_sessions_expires_at", WebSession.expires_at)
Index("ix_web_sessions_revoked_at", WebSession.revoked_at, postgresql_where=WebSession.revoked_at.is_not(None))
Index("ix_oidc_authorization_codes_expires_at", AuthorizationCode.expires_at)
Index("ix_oidc_tokens_expires_at", OidcToken.expires_at)
Index("ix_oidc_tokens_revoked_at", OidcToken.revoked_at, postgresql_where=OidcToken.revoked_at.is_not(None))
Index("ix_login_throttle_window_start", LoginThrottle.window_start)
