"""Use cases of the identity API: a network's provider, its OIDC clients, a member's linked identities."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation import identity as identity_rules
from federation import permissions
from federation.identity import ClaimStatus
from federation.permissions import Actor
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.identity import crypto, provider, repository, upstream
from services.identity.broker import callback_url
from services.identity.schemas import (
    ClientCreate,
    ClientCreated,
    ClientList,
    ClientOut,
    ClientSecretRotated,
    DomainClaimList,
    DomainClaimOut,
    IdentityProviderInfo,
    IdentityProviderOut,
    IdentityProviderSet,
    LinkedIdentityList,
    LinkedIdentityOut,
)
from services.networks.service import require_network
from services.persistence.models import Network
from services.persistence.models.identity import (
    EmailDomainClaim,
    LinkedIdentity,
    OidcClient,
    UpstreamProvider,
)
from services.settings import Settings

_DOMAIN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-.")


def _clean_domains(domains: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().lstrip("@")
        if "." not in domain or not set(domain) <= _DOMAIN_CHARS or domain.startswith(("-", ".")):
            raise Unprocessable(
                f"'{raw}' is not an e-mail domain; give domains like 'kent.k12.wa.us'.",
                code="invalid_email_domain",
                details={"field": "email_domains"},
            )
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


async def set_identity_provider(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, data: IdentityProviderSet
) -> IdentityProviderOut:
    """Connect (or replace) the network's upstream provider after reading its discovery document."""
    network = await require_network(session, slug)
    if not permissions.can_manage_network(actor, network.id):
        raise Forbidden("Only this network's admins can connect its sign-in provider.", code="forbidden")
    domains = _clean_domains(data.email_domains)
    issuer = data.issuer.strip()
    require_https = settings.environment == "production"
    try:
        found = await upstream.discover(issuer, require_https=require_https)
        jwks = await upstream.fetch_jwks(found.jwks_uri)
    except upstream.UpstreamError as exc:
        raise Unprocessable(
            f"The provider at {issuer} could not be used: {exc.reason}. Check the issuer URL "
            "(its /.well-known/openid-configuration must load and name exactly this issuer).",
            code="identity_provider_unusable",
            details={"field": "issuer", "reason": exc.reason},
        ) from None
    now = dt.datetime.now(dt.UTC)
    row = await repository.provider_of_network(session, network.id)
    before = {"issuer": row.issuer, "client_id": row.client_id} if row else None
    if row is None:
        row = UpstreamProvider(id=uuid.uuid4(), network_id=network.id)
        session.add(row)
    row.issuer = issuer
    row.client_id = data.client_id
    row.client_secret_enc = crypto.seal(settings.secret_key, data.client_secret, "upstream-client-secret")
    row.authorization_endpoint = found.authorization_endpoint
    row.token_endpoint = found.token_endpoint
    row.jwks_uri = found.jwks_uri
    row.id_token_algs = found.algs
    row.jwks = jwks
    row.jwks_fetched_at = now
    row.updated_at = now
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.identity_provider.set",
        target_type="network",
        target_id=network.id,
        network_id=network.id,
        before=before,
        after={"issuer": issuer, "client_id": data.client_id},
    )
    claims = await _sync_claims(session, actor, network, domains)
    return IdentityProviderOut(
        network=network.slug,
        issuer=issuer,
        client_id=data.client_id,
        email_domains=[c.domain for c in claims],
        redirect_uri=callback_url(settings, network.slug),
        id_token_algs=found.algs,
        updated_at=now,
        domain_claims=[_claim_out(c, network.slug) for c in claims],
    )


def _claim_out(claim: EmailDomainClaim, slug: str) -> DomainClaimOut:
    return DomainClaimOut(
        id=claim.id,
        network=slug,
        domain=claim.domain,
        status=ClaimStatus(claim.status).value,
        requested_at=claim.requested_at,
        decided_at=claim.decided_at,
    )


async def _sync_claims(
    session: AsyncSession, actor: Actor, network: Network, domains: list[str]
) -> list[EmailDomainClaim]:
    """Make the network's claims exactly ``domains``: new ones pending, missing ones withdrawn."""
    existing = {c.domain: c for c in await repository.claims_of_network(session, network.id)}
    for domain, claim in existing.items():
        if domain not in domains:
            await repository.delete_claim(session, claim)
            audit.record(
                session,
                actor_id=actor.account_id,
                action="network.email_domain.withdraw",
                target_type="email_domain_claim",
                target_id=claim.id,
                network_id=network.id,
                before={"domain": domain, "status": claim.status},
            )
    for domain in domains:
        if domain in existing:
            continue
        if set(await repository.networks_approved_for(session, domain)) - {network.id}:
            raise Conflict(
                f"The e-mail domain '{domain}' belongs to another network here, so this network cannot claim it. "
                "If that is wrong, ask a federation operator.",
                code="email_domain_taken",
                details={"field": "email_domains", "domain": domain},
            )
        claim = repository.add_claim(session, network.id, domain, actor.account_id)
        await _flush_claims(session, domain)
        audit.record(
            session,
            actor_id=actor.account_id,
            action="network.email_domain.claim",
            target_type="email_domain_claim",
            target_id=claim.id,
            network_id=network.id,
            after={"domain": domain, "status": "pending"},
        )
    await session.flush()
    return await repository.claims_of_network(session, network.id)


async def _flush_claims(session: AsyncSession, domain: str) -> None:
    """Write claim changes; a concurrent request that claimed or approved the same domain first
    trips the unique indexes, which is the same answer as seeing it (409), never a 500."""
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            f"The e-mail domain '{domain}' was claimed or approved by another request at the same time. "
            "Reload and try again.",
            code="email_domain_taken",
            details={"domain": domain},
        ) from None


async def list_network_claims(session: AsyncSession, actor: Actor, slug: str) -> DomainClaimList:
    """The network's e-mail domain claims and where each stands (network admins)."""
    network = await _managed_network(session, actor, slug, "see its e-mail domains")
    claims = await repository.claims_of_network(session, network.id)
    return DomainClaimList(items=[_claim_out(c, network.slug) for c in claims])


def _require_operator(actor: Actor) -> None:
    if not identity_rules.can_decide_domain_claims(actor):
        raise Forbidden("Only federation operators decide e-mail domain claims.", code="forbidden")


async def list_claims(session: AsyncSession, actor: Actor, status: str | None) -> DomainClaimList:
    """Every network's e-mail domain claims, oldest first (operators)."""
    _require_operator(actor)
    if status is not None and status not in {s.value for s in ClaimStatus}:
        raise Unprocessable(
            f"'{status}' is not a claim status; use pending, approved or rejected.",
            code="validation_error",
            details={"field": "status"},
        )
    rows = await repository.claims_with_network(session, status)
    return DomainClaimList(items=[_claim_out(c, slug) for c, slug in rows])


async def decide_claim(session: AsyncSession, actor: Actor, claim_id: uuid.UUID, *, approve: bool) -> DomainClaimOut:
    """Approve or reject a network's claim to an e-mail domain (operators); audited."""
    _require_operator(actor)
    found = await repository.claim_for_update(session, claim_id)
    if found is None:
        raise NotFound(
            "There is no e-mail domain claim with this id. GET /api/v1/email-domain-claims lists them.",
            code="email_domain_claim_not_found",
        )
    claim, slug = found
    status = ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED
    if claim.status == status.value:
        return _claim_out(claim, slug)
    if approve and not identity_rules.can_approve_claim(
        approved_elsewhere=await repository.networks_approved_for(session, claim.domain), network_id=claim.network_id
    ):
        raise Conflict(
            f"The domain '{claim.domain}' is already approved for another network. A domain belongs to at most "
            "one network: reject that claim first if this one is right.",
            code="email_domain_taken",
            details={"domain": claim.domain},
        )
    before = claim.status
    claim.status = status.value
    claim.decided_by = actor.account_id
    claim.decided_at = dt.datetime.now(dt.UTC)
    await _flush_claims(session, claim.domain)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="email_domain_claim.approve" if approve else "email_domain_claim.reject",
        target_type="email_domain_claim",
        target_id=claim.id,
        network_id=claim.network_id,
        before={"domain": claim.domain, "status": before},
        after={"domain": claim.domain, "status": claim.status},
    )
    return _claim_out(claim, slug)


def _check_redirect_uri(uri: str, settings: Settings, field: str) -> None:
    parts = urlsplit(uri)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    ok = parts.scheme == "https" or (parts.scheme == "http" and (loopback or settings.environment != "production"))
    if not ok or not parts.netloc or parts.fragment or "*" in uri:
        raise Unprocessable(
            f"'{uri}' cannot be a redirect URI: use an absolute https:// URL (http:// only for localhost), "
            "with no fragment and no wildcard. It must match exactly what the tool sends.",
            code="invalid_redirect_uri",
            details={"field": field},
        )


async def register_client(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, data: ClientCreate
) -> ClientCreated:
    """Register a tool of this network as an OIDC client; return its secret once."""
    network = await require_network(session, slug)
    if not permissions.can_manage_network(actor, network.id):
        raise Forbidden("Only this network's admins can register applications.", code="forbidden")
    name = data.name.strip()
    if not name:
        raise Unprocessable("The name must not be blank.", code="validation_error", details={"field": "name"})
    for uri in data.redirect_uris:
        _check_redirect_uri(uri, settings, "redirect_uris")
    for uri in data.post_logout_redirect_uris:
        _check_redirect_uri(uri, settings, "post_logout_redirect_uris")
    client_id = "afc_" + crypto.new_secret(nbytes=16)
    secret = crypto.new_secret(provider.SECRET_PREFIX)
    row = OidcClient(
        id=uuid.uuid4(),
        network_id=network.id,
        name=name,
        client_id=client_id,
        secret_hash=crypto.digest(secret),
        redirect_uris=list(dict.fromkeys(data.redirect_uris)),
        post_logout_redirect_uris=list(dict.fromkeys(data.post_logout_redirect_uris)),
        created_by=actor.account_id,
    )
    await repository.add_and_flush(session, row)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.client.create",
        target_type="oidc_client",
        target_id=row.id,
        network_id=network.id,
        after={"name": name, "client_id": client_id, "redirect_uris": row.redirect_uris},
    )
    return ClientCreated(
        id=row.id,
        network=network.slug,
        name=name,
        client_id=client_id,
        client_secret=secret,
        redirect_uris=row.redirect_uris,
        post_logout_redirect_uris=row.post_logout_redirect_uris,
        issuer=provider.issuer(settings),
        discovery_url=provider.issuer(settings) + "/.well-known/openid-configuration",
    )


async def _managed_network(session: AsyncSession, actor: Actor, slug: str, what: str) -> Network:
    network = await require_network(session, slug)
    if not permissions.can_manage_network(actor, network.id):
        raise Forbidden(f"Only this network's admins can {what}.", code="forbidden")
    return network


async def _provider_row(session: AsyncSession, network: Network) -> UpstreamProvider:
    row = await repository.provider_of_network(session, network.id)
    if row is None:
        raise NotFound(
            f"The network '{network.slug}' has no sign-in provider connected. Connect one with "
            f"PUT /api/v1/networks/{network.slug}/identity-provider.",
            code="identity_provider_not_found",
        )
    return row


async def get_identity_provider(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str
) -> IdentityProviderInfo:
    """The network's connected provider, without its secret."""
    network = await _managed_network(session, actor, slug, "see its sign-in provider")
    row = await _provider_row(session, network)
    claims = await repository.claims_of_network(session, network.id)
    return IdentityProviderInfo(
        network=network.slug,
        issuer=row.issuer,
        client_id=row.client_id,
        email_domains=[c.domain for c in claims],
        redirect_uri=callback_url(settings, network.slug),
        id_token_algs=list(row.id_token_algs),
        connected_at=row.created_at,
        updated_at=row.updated_at,
        domain_claims=[_claim_out(c, network.slug) for c in claims],
    )


async def disconnect_identity_provider(session: AsyncSession, actor: Actor, slug: str) -> None:
    """Disconnect the network's provider: sign-in through it stops at once (sign-ins in flight
    included); identities already linked stay linked, so members keep their accounts."""
    network = await _managed_network(session, actor, slug, "disconnect its sign-in provider")
    row = await _provider_row(session, network)
    before = {"issuer": row.issuer, "client_id": row.client_id}
    await repository.delete_pending_logins_of(session, network.id)
    await repository.delete_row(session, row)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.identity_provider.delete",
        target_type="network",
        target_id=network.id,
        network_id=network.id,
        before=before,
    )


def _client_out(row: OidcClient) -> ClientOut:
    return ClientOut(
        id=row.id,
        name=row.name,
        client_id=row.client_id,
        redirect_uris=list(row.redirect_uris),
        post_logout_redirect_uris=list(row.post_logout_redirect_uris),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


async def list_clients(session: AsyncSession, actor: Actor, slug: str) -> ClientList:
    """The network's registered clients, revoked ones included (newest first)."""
    network = await _managed_network(session, actor, slug, "see its registered applications")
    rows = await repository.clients_of_network(session, network.id)
    return ClientList(items=[_client_out(r) for r in rows])


async def _client_row(session: AsyncSession, network: Network, client_id: str) -> OidcClient:
    row = await repository.client_of_network(session, network.id, client_id)
    if row is None:
        raise NotFound(
            f"The network '{network.slug}' has no application with client_id '{client_id}'. "
            f"GET /api/v1/networks/{network.slug}/clients lists them.",
            code="client_not_found",
        )
    return row


async def revoke_client(session: AsyncSession, actor: Actor, slug: str, client_id: str) -> None:
    """Revoke a client: it can no longer sign anyone in, and every token it holds stops working now."""
    network = await _managed_network(session, actor, slug, "revoke its applications")
    row = await _client_row(session, network, client_id)
    if row.revoked_at is not None:
        return  # already revoked: nothing to do
    now = dt.datetime.now(dt.UTC)
    row.revoked_at = now
    await repository.revoke_tokens_of_client(session, row.id, now)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.client.revoke",
        target_type="oidc_client",
        target_id=row.id,
        network_id=network.id,
        before={"client_id": row.client_id, "name": row.name},
    )


async def rotate_client_secret(session: AsyncSession, actor: Actor, slug: str, client_id: str) -> ClientSecretRotated:
    """Give the client a new secret (shown once); the old one stops working at once."""
    network = await _managed_network(session, actor, slug, "change its applications' secrets")
    row = await _client_row(session, network, client_id)
    if row.revoked_at is not None:
        raise Conflict(
            f"The application '{row.name}' was revoked; register it again instead of giving it a new secret.",
            code="client_revoked",
        )
    secret = crypto.new_secret(provider.SECRET_PREFIX)
    now = dt.datetime.now(dt.UTC)
    row.secret_hash = crypto.digest(secret)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="network.client.rotate_secret",
        target_type="oidc_client",
        target_id=row.id,
        network_id=network.id,
        after={"client_id": row.client_id, "rotated_at": now.isoformat()},
    )
    return ClientSecretRotated(client_id=row.client_id, client_secret=secret, rotated_at=now)


async def list_my_identities(session: AsyncSession, account_id: uuid.UUID) -> LinkedIdentityList:
    """The caller's linked upstream identities (one query) and whether a password is set."""
    rows = await repository.identities_with_network(session, account_id)
    has_password = await repository.has_password(session, account_id)
    return LinkedIdentityList(
        items=[
            LinkedIdentityOut(
                id=i.id,
                issuer=i.issuer,
                network=slug,
                email=i.email,
                created_at=i.created_at,
                last_used_at=i.last_used_at,
            )
            for i, slug in rows
        ],
        has_password=bool(has_password),
    )


async def unlink_my_identity(session: AsyncSession, account_id: uuid.UUID, identity_id: uuid.UUID) -> None:
    """Unlink one of the caller's identities, unless it is their last way to sign in."""
    # Lock the account so two unlinks at once cannot both see "another way is left".
    account = await repository.account_for_update(session, account_id)
    row = await repository.identity_of(session, account_id, identity_id)
    if account is None or row is None:
        raise NotFound(
            "You have no linked sign-in identity with this id. GET /api/v1/me/identities lists yours.",
            code="identity_not_found",
        )
    others = await repository.count_other_identities(session, account_id, identity_id)
    if not others and not account.password_hash:
        raise Conflict(
            "This is your only way to sign in: you have no password and no other connected provider. "
            "Connect another provider (or have a password set) first, then unlink this one.",
            code="last_sign_in_method",
        )
    await repository.delete_row(session, row)
    audit.record(
        session,
        actor_id=account_id,
        action="account.identity.unlink",
        target_type="linked_identity",
        target_id=row.id,
        network_id=row.network_id,
        before={"issuer": row.issuer, "subject": row.subject},
    )


async def sign_in_choices(session: AsyncSession) -> list[dict[str, str]]:
    """The networks whose provider the sign-in page offers, by name."""
    return [{"slug": slug, "name": name} for slug, name in await repository.provider_choices(session)]


async def identities_of(session: AsyncSession, account_id: uuid.UUID) -> list[LinkedIdentity]:
    """The account's linked identities, for its account page."""
    return list(await repository.identities_of(session, account_id))
