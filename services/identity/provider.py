"""This service as an OpenID Connect provider for the networks' tools.

A small, strict, hand-written authorization-code flow on joserfc (see docs/identity.md for why
not authlib's server grants): code + PKCE S256 only, exact redirect URIs, single-use short-lived
codes consumed atomically (a second use revokes what the first issued), opaque access and
refresh tokens stored hashed, refresh rotation with reuse detection per token family,
RS256 id_tokens signed with persisted, rotated keys, RFC 9207 ``iss`` on every response.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from joserfc import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.principal import Principal
from services.identity import crypto, keys, repository
from services.persistence.models import Account
from services.persistence.models.identity import AuthorizationCode, OidcClient, OidcToken, WebSession
from services.settings import Settings

log = logging.getLogger("affinity.identity.provider")

ACCESS_PREFIX = "afa_"
REFRESH_PREFIX = "afr_"
SECRET_PREFIX = "afs_"  # noqa: S105 - a public prefix, not a secret
CODE_TTL = dt.timedelta(seconds=60)
SUPPORTED_SCOPES = ("openid", "profile", "email", "read", "write")
API_SCOPES = frozenset({"read", "write"})
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
REAUTH_PARAM = "reauth"
"""Added to the authorize URL the sign-in page returns to after ``prompt=login`` / ``max_age``:
``<unix time>.<mac>``, so the repeated request knows a sign-in after that time was demanded."""
REAUTH_TTL = dt.timedelta(minutes=10)


def issuer(settings: Settings) -> str:
    """Our issuer identifier: the public URL."""
    return settings.base_url


def discovery_document(settings: Settings) -> dict[str, Any]:
    """``/.well-known/openid-configuration``."""
    base = settings.base_url
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oidc/authorize",
        "token_endpoint": f"{base}/oidc/token",
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "jwks_uri": f"{base}/oidc/jwks",
        "revocation_endpoint": f"{base}/oidc/revoke",
        "end_session_endpoint": f"{base}/oidc/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [keys.ALG],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "email",
            "email_verified",
            "name",
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": sorted(PROMPTS),
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


class OAuthError(Exception):
    """An OAuth error response (RFC 6749 §5.2 / §4.1.2.1)."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """The JSON body of a token-endpoint error."""
        return {"error": self.error, "error_description": self.description}


class NotRedirectable(Exception):
    """The authorization request cannot be answered by redirect (unknown client or redirect URI)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked authorization request."""

    client: OidcClient
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: str | None
    max_age: int | None = None
    reauth: str | None = None

    @property
    def prompts(self) -> frozenset[str]:
        """The ``prompt`` values asked for (space-separated in the request)."""
        return frozenset((self.prompt or "").split())

    def params(self) -> dict[str, str]:
        """The request's parameters again (for the consent form)."""
        out = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        if self.state is not None:
            out["state"] = self.state
        if self.nonce is not None:
            out["nonce"] = self.nonce
        return out


def redirect_with(settings: Settings, redirect_uri: str, params: dict[str, str]) -> str:
    """``redirect_uri`` with response parameters and ``iss`` (RFC 9207) added to its query."""
    full = {**params, "iss": issuer(settings)}
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return redirect_uri + separator + urlencode(full)


async def client_by_id(session: AsyncSession, client_id: str | None) -> OidcClient | None:
    """An active registered client."""
    if not client_id or len(client_id) > 80:
        return None
    return await repository.active_client(session, client_id)


async def check_authorize(session: AsyncSession, params: dict[str, str]) -> AuthorizeRequest:
    """Validate an authorization request.

    Raises :class:`NotRedirectable` when the client or redirect URI is wrong (never redirect
    to an unverified URI), else :class:`OAuthError` to be sent back to the redirect URI.
    """
    client = await client_by_id(session, params.get("client_id"))
    if client is None:
        raise NotRedirectable(
            "The application that sent you here is not registered with this service. Tell its administrator.",
            f"authorize: unknown client_id {params.get('client_id')!r}",
        )
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        raise NotRedirectable(
            "The application that sent you here asked to return to an address it has not registered, "
            "so you were not sent back. Tell its administrator.",
            f"authorize: redirect_uri {redirect_uri!r} is not registered for client {client.client_id}",
        )
    state = params.get("state")
    err = _authorize_problem(params)
    if err is not None:
        raise err
    scopes = params.get("scope", "").split()
    return AuthorizeRequest(
        client=client,
        redirect_uri=redirect_uri,
        scope=" ".join(s for s in SUPPORTED_SCOPES if s in scopes),
        state=state,
        nonce=params.get("nonce"),
        code_challenge=params["code_challenge"],
        # Parsed once, here: a space-separated list (" none" is "none"), kept normalised.
        prompt=" ".join(sorted(set(params.get("prompt", "").split()))) or None,
        max_age=int(params["max_age"]) if params.get("max_age") else None,
        reauth=params.get(REAUTH_PARAM),
    )


def _authorize_problem(params: dict[str, str]) -> OAuthError | None:
    if params.get("request") or params.get("request_uri"):
        return OAuthError("request_not_supported", "request objects are not supported")
    if params.get("response_type") != "code":
        return OAuthError("unsupported_response_type", "only response_type=code is supported")
    if params.get("response_mode") not in (None, "query"):
        return OAuthError("invalid_request", "only response_mode=query is supported")
    scopes = params.get("scope", "").split()
    if "openid" not in scopes:
        return OAuthError("invalid_scope", "the scope must include openid")
    unknown = [s for s in scopes if s not in SUPPORTED_SCOPES]
    if unknown:
        return OAuthError("invalid_scope", f"unsupported scope(s): {' '.join(unknown)}")
    challenge = params.get("code_challenge")
    if not challenge:
        return OAuthError("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
    if params.get("code_challenge_method") != "S256":
        return OAuthError("invalid_request", "only code_challenge_method=S256 is accepted (plain is refused)")
    if not _CHALLENGE.match(challenge):
        return OAuthError("invalid_request", "code_challenge is not a base64url SHA-256 value")
    if len(params.get("nonce", "")) > 500 or len(params.get("state", "")) > 1000:
        return OAuthError("invalid_request", "nonce or state is too long")
    prompts = set(params.get("prompt", "").split())
    if not prompts <= PROMPTS:
        return OAuthError("invalid_request", f"unsupported prompt value(s): {' '.join(sorted(prompts - PROMPTS))}")
    if "none" in prompts and len(prompts) > 1:
        return OAuthError("invalid_request", "prompt=none cannot be combined with other prompt values")
    max_age = params.get("max_age")
    if max_age is not None and max_age != "" and (not max_age.isdigit() or len(max_age) > 10):
        return OAuthError("invalid_request", "max_age must be a whole number of seconds (0 or more)")
    return None


def reauth_marker(settings: Settings, client_id: str, now: dt.datetime) -> str:
    """The ``reauth`` value for a sign-in demanded at ``now`` (MAC'd, so it cannot be back-dated)."""
    ts = str(int(now.timestamp()))
    return ts + "." + crypto.mac(settings.secret_key, "oidc-reauth", f"{client_id}:{ts}")


def _marker_time(settings: Settings, marker: str | None, client_id: str, now: dt.datetime) -> int | None:
    if not marker or len(marker) > 100:
        return None
    ts, _, tag = marker.partition(".")
    if not ts.isdigit() or not crypto.same(tag, crypto.mac(settings.secret_key, "oidc-reauth", f"{client_id}:{ts}")):
        return None
    if not now - REAUTH_TTL <= dt.datetime.fromtimestamp(int(ts), dt.UTC) <= now:
        return None
    return int(ts)


def needs_sign_in_again(settings: Settings, req: AuthorizeRequest, web: WebSession, now: dt.datetime) -> bool:
    """``prompt=login``, or a session authenticated longer ago than ``max_age``, asks for a fresh sign-in.

    Satisfied once the session's ``authenticated_at`` is at or after the time the sign-in was
    demanded (the request's ``reauth`` marker), so ``max_age=0`` does not loop.
    """
    too_old = req.max_age is not None and now - web.authenticated_at > dt.timedelta(seconds=req.max_age)
    if "login" not in req.prompts and not too_old:
        return False
    demanded_at = _marker_time(settings, req.reauth, req.client.client_id, now)
    return demanded_at is None or int(web.authenticated_at.timestamp()) < demanded_at


def sign_in_again_params(settings: Settings, req: AuthorizeRequest, now: dt.datetime) -> dict[str, str]:
    """The authorize parameters to come back with after the fresh sign-in."""
    out = {**req.params(), REAUTH_PARAM: reauth_marker(settings, req.client.client_id, now)}
    if req.prompt:
        out["prompt"] = req.prompt
    if req.max_age is not None:
        out["max_age"] = str(req.max_age)
    return out


async def has_consent(session: AsyncSession, account_id: uuid.UUID, client: OidcClient, scope: str) -> bool:
    """Whether the member already allowed this client these scopes."""
    granted = await repository.consented_scopes(session, account_id, client.id)
    return granted is not None and set(scope.split()) <= set(granted)


async def record_consent(session: AsyncSession, account_id: uuid.UUID, client: OidcClient, scope: str) -> None:
    """Remember the member's consent (merged with earlier grants)."""
    await repository.merge_consent(session, account_id, client.id, set(scope.split()))


async def issue_code(
    session: AsyncSession, settings: Settings, req: AuthorizeRequest, web: WebSession, *, now: dt.datetime | None = None
) -> str:
    """Create an authorization code and return the redirect URL carrying it."""
    now = now or dt.datetime.now(dt.UTC)
    code = crypto.new_secret(nbytes=32)
    await repository.add_and_flush(
        session,
        AuthorizationCode(
            id=uuid.uuid4(),
            code_hash=crypto.digest(code),
            client_pk=req.client.id,
            account_id=web.account_id,
            session_id=web.id,
            redirect_uri=req.redirect_uri,
            scope=req.scope,
            nonce=req.nonce,
            code_challenge=req.code_challenge,
            auth_time=web.authenticated_at,
            expires_at=now + CODE_TTL,
        ),
    )
    params = {"code": code}
    if req.state is not None:
        params["state"] = req.state
    return redirect_with(settings, req.redirect_uri, params)


async def authenticate_client(session: AsyncSession, form: dict[str, str], authorization: str | None) -> OidcClient:
    """Client authentication: client_secret_basic or client_secret_post (exactly one)."""
    client_id = secret = None
    if authorization and authorization.lower().startswith("basic "):
        try:
            raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except ValueError:
            raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from None
        user, sep, password = raw.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "malformed Basic credentials", status=401)
        client_id, secret = unquote(user), unquote(password)
        if "client_secret" in form:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
    elif "client_secret" in form:
        client_id, secret = form.get("client_id"), form.get("client_secret")
    if not client_id or not secret:
        raise OAuthError("invalid_client", "client authentication is required", status=401)
    if "client_id" in form and form["client_id"] != client_id:
        raise OAuthError("invalid_client", "client_id does not match the credentials", status=401)
    client = await client_by_id(session, client_id)
    if client is None or not crypto.same(crypto.digest(secret).hex(), client.secret_hash.hex()):
        raise OAuthError("invalid_client", "unknown client or wrong secret", status=401)
    return client


async def token(
    session: AsyncSession,
    settings: Settings,
    form: dict[str, str],
    authorization: str | None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The token endpoint; raises :class:`OAuthError`.

    Refusals that must stick (a reused code or refresh token revokes what it issued) are
    written before raising; the controller commits them.
    """
    now = now or dt.datetime.now(dt.UTC)
    client = await authenticate_client(session, form, authorization)
    grant = form.get("grant_type")
    if grant == "authorization_code":
        return await _code_grant(session, settings, client, form, now)
    if grant == "refresh_token":
        return await _refresh_grant(session, settings, client, form, now)
    raise OAuthError("unsupported_grant_type", "only authorization_code and refresh_token are supported")


async def _code_grant(
    session: AsyncSession, settings: Settings, client: OidcClient, form: dict[str, str], now: dt.datetime
) -> dict[str, Any]:
    code = form.get("code")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    row = await repository.code_by_hash(session, crypto.digest(code))
    if row is None or row.client_pk != client.id:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if not await repository.consume_code(session, row.id, now):
        # RFC 6749 §4.1.2: a code used twice revokes the tokens it issued.
        await repository.revoke_tokens_of_code(session, row.id, now)
        log.warning("authorization code reused client=%s; its tokens are revoked", client.client_id)
        raise OAuthError("invalid_grant", "the authorization code was already used")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "the authorization code has expired")
    if form.get("redirect_uri") != row.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    verifier = form.get("code_verifier")
    if not verifier:
        raise OAuthError("invalid_request", "code_verifier is required (PKCE)")
    if not _VERIFIER.match(verifier) or not crypto.same(crypto.pkce_challenge(verifier), row.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    web = await repository.web_session(session, row.session_id) if row.session_id else None
    if web is None or web.revoked_at is not None:
        raise OAuthError("invalid_grant", "the sign-in this code came from has ended")
    return await _issue_tokens(
        session,
        settings,
        client=client,
        account_id=row.account_id,
        session_id=web.id,
        scope=row.scope,
        auth_time=row.auth_time,
        family_id=uuid.uuid4(),
        code_id=row.id,
        nonce=row.nonce,
        now=now,
    )


async def _refresh_grant(
    session: AsyncSession, settings: Settings, client: OidcClient, form: dict[str, str], now: dt.datetime
) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is required")
    row = await repository.refresh_token_by_hash(session, crypto.digest(presented))
    if row is None or row.client_pk != client.id:
        raise OAuthError("invalid_grant", "unknown refresh token")
    if row.revoked_at is not None:
        raise OAuthError("invalid_grant", "the refresh token was revoked")
    # Refuse a bad request before consuming the token: a refused widening must leave the
    # token usable (else the client's retry would look like reuse and revoke the family).
    requested = form.get("scope")
    scope = row.scope
    if requested is not None:
        wanted = requested.split()
        if not wanted or not set(wanted) <= set(row.scope.split()):
            raise OAuthError("invalid_scope", "a refresh cannot widen the scope; ask for the granted scopes or fewer")
        scope = " ".join(s for s in SUPPORTED_SCOPES if s in wanted)
    if not await repository.consume_refresh_token(session, row.id, now):
        await repository.revoke_family(session, row.family_id, now)
        log.warning("refresh token reused client=%s; token family revoked", client.client_id)
        raise OAuthError("invalid_grant", "the refresh token was already used; sign in again")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "the refresh token has expired")
    if row.session_id is not None:
        web = await repository.web_session(session, row.session_id)
        if web is None or web.revoked_at is not None:
            await repository.revoke_family(session, row.family_id, now)
            raise OAuthError("invalid_grant", "the member signed out; sign in again")
    # Retire the access tokens of the rotated pair.
    await repository.revoke_access_tokens_of_family(session, row.family_id, now)
    return await _issue_tokens(
        session,
        settings,
        client=client,
        account_id=row.account_id,
        session_id=row.session_id,
        scope=scope,
        auth_time=row.auth_time,
        family_id=row.family_id,
        code_id=row.code_id,
        nonce=None,
        now=now,
    )


async def _issue_tokens(
    session: AsyncSession,
    settings: Settings,
    *,
    client: OidcClient,
    account_id: uuid.UUID,
    session_id: uuid.UUID | None,
    scope: str,
    auth_time: dt.datetime,
    family_id: uuid.UUID,
    code_id: uuid.UUID | None,
    nonce: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    account = await repository.account(session, account_id)
    if account is None or not account.is_active:
        raise OAuthError("invalid_grant", "the account is disabled")
    access = crypto.new_secret(ACCESS_PREFIX)
    refresh = crypto.new_secret(REFRESH_PREFIX)
    access_ttl = dt.timedelta(minutes=settings.oidc_access_token_minutes)
    common = {
        "family_id": family_id,
        "client_pk": client.id,
        "account_id": account_id,
        "session_id": session_id,
        "code_id": code_id,
        "scope": scope,
        "auth_time": auth_time,
    }
    await repository.add_and_flush(
        session,
        OidcToken(
            id=uuid.uuid4(), kind="access", token_hash=crypto.digest(access), expires_at=now + access_ttl, **common
        ),
        OidcToken(
            id=uuid.uuid4(),
            kind="refresh",
            token_hash=crypto.digest(refresh),
            expires_at=now + dt.timedelta(days=settings.oidc_refresh_token_days),
            **common,
        ),
    )
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(access_ttl.total_seconds()),
        "refresh_token": refresh,
        "scope": scope,
    }
    if "openid" in scope.split():
        body["id_token"] = await id_token(
            session,
            settings,
            account=account,
            client_id=client.client_id,
            scope=scope,
            auth_time=auth_time,
            nonce=nonce,
            sid=session_id,
            now=now,
        )
    return body


def user_claims(account: Account, scope: str) -> dict[str, Any]:
    """Claims released for ``scope``."""
    scopes = scope.split()
    claims: dict[str, Any] = {"sub": str(account.id)}
    if "email" in scopes:
        claims["email"] = account.email
        claims["email_verified"] = account.email_verified
    if "profile" in scopes:
        claims["name"] = account.display_name
    return claims


async def id_token(
    session: AsyncSession,
    settings: Settings,
    *,
    account: Account,
    client_id: str,
    scope: str,
    auth_time: dt.datetime,
    nonce: str | None,
    sid: uuid.UUID | None,
    now: dt.datetime,
) -> str:
    """A signed id_token for ``client_id``."""
    key = await keys.current_key(session, settings, now=now)
    claims = {
        **user_claims(account, scope),
        "iss": issuer(settings),
        "aud": client_id,
        "azp": client_id,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 60 * settings.oidc_access_token_minutes,
        "auth_time": int(auth_time.timestamp()),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if sid is not None:
        claims["sid"] = str(sid)
    return jwt.encode({"alg": keys.ALG, "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=[keys.ALG])


async def access_token_row(
    session: AsyncSession, presented: str, *, now: dt.datetime | None = None
) -> tuple[OidcToken, Account, OidcClient] | None:
    """A live access token, its account and client."""
    if not presented.startswith(ACCESS_PREFIX) or len(presented) > 200:
        return None
    now = now or dt.datetime.now(dt.UTC)
    row = await repository.access_token_with_owner(session, crypto.digest(presented))
    if row is None:
        return None
    tok, account, client = row
    if tok.revoked_at is not None or tok.expires_at <= now or not account.is_active or client.revoked_at is not None:
        return None
    return tok, account, client


async def resolve_access_token(session: AsyncSession, presented: str) -> Principal | None:
    """Bearer resolver: an access token from our provider authenticates the API like a personal token."""
    found = await access_token_row(session, presented)
    if found is None:
        return None
    tok, account, client = found
    return Principal(
        account_id=account.id,
        is_operator=account.is_operator,
        scopes=frozenset(tok.scope.split()) & API_SCOPES,
        via="access_token",
        token_id=tok.id,
        session_id=tok.session_id,
        client_id=client.client_id,
    )


async def revoke(
    session: AsyncSession, form: dict[str, str], authorization: str | None, *, now: dt.datetime | None = None
) -> None:
    """RFC 7009: revoke an access or refresh token of the calling client (unknown tokens are fine)."""
    now = now or dt.datetime.now(dt.UTC)
    client = await authenticate_client(session, form, authorization)
    presented = form.get("token")
    if not presented:
        raise OAuthError("invalid_request", "token is required")
    row = await repository.token_by_hash(session, crypto.digest(presented))
    if row is None or row.client_pk != client.id:
        return
    if row.kind == "refresh":
        await repository.revoke_family(session, row.family_id, now)
    else:
        await repository.revoke_token(session, row.id, now)


@dataclass(frozen=True)
class LogoutTarget:
    """Where an RP-initiated logout may return to: the client (if known) and a registered URI (or None)."""

    client: OidcClient | None
    redirect_uri: str | None


async def logout_target(session: AsyncSession, settings: Settings, params: dict[str, str]) -> LogoutTarget:
    """Check an RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0 §2-3).

    Raises :class:`NotRedirectable` when ``id_token_hint`` is not an id_token we issued, or names
    another audience than ``client_id``: the request cannot be trusted to say where to return.
    A ``post_logout_redirect_uri`` the client has not registered is ignored (no open redirect).
    """
    hint = params.get("id_token_hint")
    client_id = params.get("client_id")
    if hint:
        audience = await id_token_hint_client(session, settings, hint)
        if audience is None:
            raise NotRedirectable(
                "The application that sent you here gave a sign-in token this service did not issue. "
                "Sign out from your account page instead.",
                "rp-initiated logout: id_token_hint is not one of our id_tokens",
            )
        if client_id and client_id != audience:
            raise NotRedirectable(
                "The sign-out request names one application but carries another application's sign-in token, "
                "so you were not sent back. Sign out from your account page instead.",
                f"rp-initiated logout: client_id {client_id!r} is not the id_token_hint audience {audience!r}",
            )
        client_id = audience
    client = await client_by_id(session, client_id)
    target = params.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        target = None
    return LogoutTarget(client=client, redirect_uri=target)


def with_state(target: str, state: str | None) -> str:
    """``target`` with the RP's ``state`` added to its query (when it sent one)."""
    if not state:
        return target
    return target + ("&" if "?" in target else "?") + urlencode({"state": state})


async def id_token_hint_client(session: AsyncSession, settings: Settings, hint: str | None) -> str | None:
    """The audience of an id_token we issued (expired is fine for logout), or None."""
    if not hint:
        return None
    published = await keys.published_keys(session, settings)
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        decoded = jwt.decode(hint, KeySet.import_key_set({"keys": published}), algorithms=[keys.ALG])
    except (JoseError, ValueError):
        return None
    if decoded.claims.get("iss") != issuer(settings):
        return None
    aud = decoded.claims.get("aud")
    return aud if isinstance(aud, str) else None
