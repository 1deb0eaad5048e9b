"""Signing in through a network's upstream provider: start, callback, account linking.

A pending login (state, nonce, PKCE verifier) is stored hashed and bound to the browser by
the ``affinity_login`` cookie; several may be pending at once (one per tab). The callback is
per network (``/auth/callback/{slug}``), so a response can only be checked against the
provider it was meant for (mix-up defence); the state is consumed atomically, so a replayed
callback finds nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from federation import identity as identity_rules
from federation.networks import slug_problem
from services import audit
from services.identity import crypto, repository, upstream
from services.identity.errors import SignInRefused
from services.persistence.models import Account, Network
from services.persistence.models.identity import LinkedIdentity, PendingLogin, UpstreamProvider
from services.settings import Settings

log = logging.getLogger("affinity.identity.broker")

LOGIN_COOKIE = "affinity_login"
PENDING_TTL = dt.timedelta(minutes=10)
SCOPES = "openid email profile"


def callback_url(settings: Settings, slug: str) -> str:
    """The redirect URI a network registers at its provider."""
    return f"{settings.base_url}/auth/callback/{slug}"


def safe_next(value: str | None) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirect); otherwise
    people land on "My spaces" (the home page), not the account page."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2000:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):  # control characters (NUL included)
        return "/"
    return value


async def provider_for(session: AsyncSession, slug: str) -> tuple[Network, UpstreamProvider]:
    """The network and its provider, or a refusal page saying there is none."""
    # A string that cannot be a slug (e.g. with a NUL, which PostgreSQL refuses) names no network.
    row = None if slug_problem(slug) else await repository.network_with_provider(session, slug)
    if row is None:
        raise SignInRefused(
            "No sign-in provider",
            f"The network '{slug}' has not connected a sign-in provider. Go back and choose another way to sign in.",
            reason=f"no upstream provider for network {slug!r}",
            status=404,
        )
    return row[0], row[1]


async def start_login(
    session: AsyncSession,
    settings: Settings,
    slug: str,
    *,
    browser: str,
    next_url: str | None,
    link_account_id: uuid.UUID | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Record a pending login and return the upstream authorization URL to redirect to."""
    now = now or dt.datetime.now(dt.UTC)
    network, provider = await provider_for(session, slug)
    state = crypto.new_secret(nbytes=32)
    nonce = crypto.new_secret(nbytes=24)
    verifier = crypto.new_secret(nbytes=48)
    await repository.add_and_flush(
        session,
        PendingLogin(
            id=uuid.uuid4(),
            state_hash=crypto.digest(state),
            browser_hash=crypto.digest(browser),
            network_id=network.id,
            nonce=nonce,
            code_verifier=verifier,
            next_url=safe_next(next_url),
            link_account_id=link_account_id,
            expires_at=now + PENDING_TTL,
        ),
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": callback_url(settings, slug),
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": crypto.pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return provider.authorization_endpoint + separator + query


_TRY_AGAIN = "Go back to the sign-in page and start again."


async def _consume_pending(
    session: AsyncSession, network: Network, state: str, browser: str | None, now: dt.datetime
) -> PendingLogin:
    pending = await repository.pending_login(session, crypto.digest(state))
    if pending is None or pending.network_id != network.id:
        raise SignInRefused(
            "Sign-in link not recognised",
            "This sign-in response does not match a sign-in started here. " + _TRY_AGAIN,
            reason="unknown state, or state issued for another network",
        )
    if browser is None or not crypto.same(crypto.digest(browser).hex(), pending.browser_hash.hex()):
        raise SignInRefused(
            "Sign-in started in another browser",
            "This sign-in was started in a different browser (or its cookies were cleared). " + _TRY_AGAIN,
            reason="state not bound to this browser",
        )
    if await repository.consume_pending_login(session, pending.state_hash, now) is None:
        raise SignInRefused(
            "Sign-in link already used",
            "This sign-in response has already been used once. " + _TRY_AGAIN,
            reason="state replayed",
        )
    if pending.expires_at <= now:
        raise SignInRefused(
            "Sign-in took too long", "The sign-in expired before it finished. " + _TRY_AGAIN, reason="state expired"
        )
    return pending


async def finish_login(
    session: AsyncSession,
    settings: Settings,
    slug: str,
    params: dict[str, str],
    *,
    browser: str | None,
    now: dt.datetime | None = None,
) -> tuple[Account, str]:
    """Complete the callback: return the signed-in account and where to go next.

    Raises :class:`SignInRefused` for every failure; nothing but the consumed state is written then.
    """
    now = now or dt.datetime.now(dt.UTC)
    network, provider = await provider_for(session, slug)
    state = params.get("state")
    if params.get("error"):
        if state:
            await repository.consume_pending_login(session, crypto.digest(state), now)
        error = params["error"][:100]
        description = params.get("error_description", "")[:300]
        raise SignInRefused(
            "Your provider did not sign you in",
            f"{network.name}'s sign-in provider answered '{error}'"
            + (f" ({description})" if description else "")
            + ". If you cancelled, that is fine; otherwise ask your district's IT team. "
            + _TRY_AGAIN,
            reason=f"upstream error={error!r} description={description!r}",
        )
    code = params.get("code")
    if not state or not code:
        raise SignInRefused(
            "Incomplete sign-in response",
            "The sign-in response is missing its code or state. " + _TRY_AGAIN,
            reason="callback without code or state",
        )
    pending = await _consume_pending(session, network, state, browser, now)
    if "iss" in params and params["iss"] != provider.issuer:
        raise SignInRefused(
            "Sign-in response from the wrong provider",
            "The response came from a different provider than the one you chose. " + _TRY_AGAIN,
            reason=f"authorization response iss {params['iss']!r} is not {provider.issuer!r} (RFC 9207)",
        )
    try:
        secret = crypto.unseal(settings.secret_key, provider.client_secret_enc, "upstream-client-secret")
        tokens = await upstream.exchange_code(
            provider.token_endpoint,
            client_id=provider.client_id,
            client_secret=secret,
            code=code,
            redirect_uri=callback_url(settings, slug),
            code_verifier=pending.code_verifier,
        )
        claims = await _validated_claims(session, provider, tokens["id_token"], pending.nonce, now)
    except upstream.UpstreamError as exc:
        if exc.outage:
            raise SignInRefused(
                "Sign-in provider unavailable",
                f"{network.name}'s sign-in provider cannot be reached right now, so you have not been signed in. "
                "Try again in a few minutes; if it persists, tell your district's IT team.",
                reason=exc.reason,
                status=503,
            ) from None
        raise SignInRefused(
            "Sign-in could not be verified",
            f"We could not verify the answer from {network.name}'s sign-in provider, so you have not been signed in. "
            + _TRY_AGAIN
            + " If it happens again, tell your network's administrator.",
            reason=exc.reason,
        ) from None
    account = await link_account(session, network, provider, claims, link_account_id=pending.link_account_id, now=now)
    return account, pending.next_url


async def _validated_claims(
    session: AsyncSession, provider: UpstreamProvider, id_token: str, nonce: str, now: dt.datetime
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "algs": list(provider.id_token_algs),
        "nonce": nonce,
        "now": now,
    }
    try:
        return upstream.validate_id_token(id_token, jwks=provider.jwks, **kwargs)
    except upstream.UnknownKey:
        # The provider may have rotated its keys: refetch once, never more per sign-in.
        provider.jwks = await upstream.fetch_jwks(provider.jwks_uri)
        provider.jwks_fetched_at = now
        await session.flush()
        return upstream.validate_id_token(id_token, jwks=provider.jwks, **kwargs)


def _email_of(claims: dict[str, Any]) -> tuple[str | None, bool]:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        return None, False
    verified = claims.get("email_verified")
    return email.strip(), verified is True or verified == "true"


async def link_account(
    session: AsyncSession,
    network: Network,
    provider: UpstreamProvider,
    claims: dict[str, Any],
    *,
    link_account_id: uuid.UUID | None,
    now: dt.datetime,
) -> Account:
    """The account for an upstream identity, keyed by (issuer, subject) — never by e-mail alone."""
    issuer, subject = provider.issuer, str(claims["sub"])
    email, verified = _email_of(claims)
    identity = await repository.linked_identity(session, issuer, subject)
    if identity is not None:
        if link_account_id is not None and identity.account_id != link_account_id:
            raise SignInRefused(
                "Already connected to another account",
                "This sign-in is already connected to a different account here. Sign out, and sign in with it instead.",
                reason=f"explicit link refused: identity already linked to account {identity.account_id}",
                status=409,
            )
        account = await repository.account(session, identity.account_id)
        if account is None or not account.is_active:
            raise SignInRefused(
                "Account disabled",
                "Your account here is disabled. Contact your network's administrator.",
                reason="linked account inactive",
                status=403,
            )
        identity.last_used_at = now
        await _ensure_member(session, network, account)
        return account

    account = None
    how = "created"
    if link_account_id is not None:
        account = await repository.account(session, link_account_id)
        how = "explicit"
    elif email is not None:
        existing = await repository.account_by_email(session, email)
        if existing is not None:
            await _check_email_link(session, network, existing, email, verified, issuer=issuer, subject=subject)
            account, how = existing, "verified_email"
    if account is None:
        if email is None:
            raise SignInRefused(
                "No e-mail address shared",
                f"{network.name}'s provider did not share your e-mail address, which a new account needs. "
                "Ask your district's IT team to release the 'email' claim to this service.",
                reason="no email claim for a new identity",
            )
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        account = Account(
            id=uuid.uuid4(),
            email=email,
            email_verified=verified,
            display_name=(name or email.split("@", 1)[0])[:200],
        )
        await repository.add_and_flush(session, account)
    elif not account.is_active:
        raise SignInRefused(
            "Account disabled",
            "Your account here is disabled. Contact your network's administrator.",
            reason="account inactive",
            status=403,
        )
    await repository.add_and_flush(
        session,
        LinkedIdentity(
            id=uuid.uuid4(),
            account_id=account.id,
            issuer=issuer,
            subject=subject,
            network_id=network.id,
            email=email,
            last_used_at=now,
        ),
    )
    audit.record(
        session,
        actor_id=account.id,
        action="identity.link",
        target_type="account",
        target_id=account.id,
        network_id=network.id,
        after={"issuer": issuer, "subject": subject, "how": how},
    )
    await _ensure_member(session, network, account)
    return account


_NOT_PROVEN = (identity_rules.EmailLinkRefusal.EMAIL_NOT_VERIFIED, identity_rules.EmailLinkRefusal.DOMAIN_NOT_APPROVED)


async def _check_email_link(
    session: AsyncSession,
    network: Network,
    existing: Account,
    email: str,
    verified: bool,
    *,
    issuer: str,
    subject: str,
) -> None:
    """Refuse (and audit the refusal) unless the rules allow opening ``existing`` by its e-mail."""
    domain = identity_rules.domain_of(email)
    refusal = identity_rules.email_link_refusal(
        network_id=network.id,
        email_verified=verified,
        domain_approved_for_network=await repository.domain_approved_for(session, network.id, domain),
        account=identity_rules.ExistingAccount(
            is_operator=existing.is_operator, network_ids=await repository.network_ids_of(session, existing.id)
        ),
    )
    if refusal is None:
        return
    # The refused attempt stays on record (the pending login is consumed, so this commits).
    audit.record(
        session,
        actor_id=None,
        action="identity.email_link.refused",
        target_type="account",
        target_id=existing.id,
        network_id=network.id,
        after={"issuer": issuer, "subject": subject, "domain": domain, "reason": refusal.value},
    )
    if refusal in (
        identity_rules.EmailLinkRefusal.EMAIL_NOT_VERIFIED,
        identity_rules.EmailLinkRefusal.DOMAIN_NOT_APPROVED,
    ):
        why = f"{network.name}'s provider could not prove that this address is yours"
    else:
        why = "that account can be connected to another sign-in only by its owner"
    raise SignInRefused(
        "This e-mail already has an account",
        f"An account with the address {email} already exists, and {why}. Sign in to that account first "
        "(with its password or the provider you used before), then connect this provider from your account page.",
        reason=f"not linking {issuer} sub={subject} to the existing account by e-mail: {refusal.value}",
        status=409,
    )


async def _ensure_member(session: AsyncSession, network: Network, account: Account) -> None:
    """Signing in through a network's own provider makes the person a member of that network."""
    if await repository.role_in(session, network.id, account.id) is None:
        await repository.add_member(session, network.id, account.id)
