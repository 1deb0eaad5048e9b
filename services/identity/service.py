"""Use cases of the identity API: connect a network's provider, register an OIDC client."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import permissions
from federation.permissions import Actor
from services import audit
from services.errors import Forbidden, Unprocessable
from services.identity import crypto, provider, upstream
from services.identity.broker import callback_url
from services.identity.schemas import ClientCreate, ClientCreated, IdentityProviderOut, IdentityProviderSet
from services.networks.service import require_network
from services.persistence.models.identity import OidcClient, UpstreamProvider
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
    row = await session.scalar(select(UpstreamProvider).where(UpstreamProvider.network_id == network.id))
    before = (
        {"issuer": row.issuer, "client_id": row.client_id, "email_domains": list(row.email_domains)} if row else None
    )
    if row is None:
        row = UpstreamProvider(id=uuid.uuid4(), network_id=network.id)
        session.add(row)
    row.issuer = issuer
    row.client_id = data.client_id
    row.client_secret_enc = crypto.seal(settings.secret_key, data.client_secret, "upstream-client-secret")
    row.email_domains = domains
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
        after={"issuer": issuer, "client_id": data.client_id, "email_domains": domains},
    )
    return IdentityProviderOut(
        network=network.slug,
        issuer=issuer,
        client_id=data.client_id,
        email_domains=domains,
        redirect_uri=callback_url(settings, network.slug),
        id_token_algs=found.algs,
        updated_at=now,
    )


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
    session.add(row)
    await session.flush()
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
