"""The broker's client side: discovery, JWKS, code exchange and strict id_token validation.

Hand-written on top of httpx (async) and joserfc rather than authlib's client integrations:
the checks below are the whole point, and spelling them out keeps each one visible and tested
(exact issuer, audience/azp, expiry, nonce, pinned asymmetric algorithms, JWKS refetch on an
unknown ``kid`` at most once, no ``alg=none``, no HMAC with a public key).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import quote

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.identity.crypto import same

log = logging.getLogger("affinity.identity.upstream")

ASYMMETRIC_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
LEEWAY_SECONDS = 60
TIMEOUT = httpx.Timeout(10.0)


class UpstreamError(Exception):
    """The upstream provider could not be used; ``reason`` is for the operator's log."""

    def __init__(self, reason: str, *, outage: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outage = outage


class Discovery:
    """What we keep from a provider's discovery document."""

    def __init__(
        self, issuer: str, authorization_endpoint: str, token_endpoint: str, jwks_uri: str, algs: list[str]
    ) -> None:
        self.issuer = issuer
        self.authorization_endpoint = authorization_endpoint
        self.token_endpoint = token_endpoint
        self.jwks_uri = jwks_uri
        self.algs = algs


def _check_url(url: object, name: str, *, require_https: bool) -> str:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise UpstreamError(f"the discovery document has no valid {name}")
    if require_https and not url.startswith("https://"):
        raise UpstreamError(f"{name} must use https:// ({url})")
    return url


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise UpstreamError(f"could not reach {url}: {type(exc).__name__}", outage=True) from None
    if response.status_code != 200:
        raise UpstreamError(f"{url} answered HTTP {response.status_code}", outage=response.status_code >= 500)
    try:
        body = response.json()
    except ValueError:
        raise UpstreamError(f"{url} did not return JSON") from None
    if not isinstance(body, dict):
        raise UpstreamError(f"{url} did not return a JSON object")
    return body


async def discover(issuer: str, *, require_https: bool) -> Discovery:
    """Read and check ``{issuer}/.well-known/openid-configuration``."""
    _check_url(issuer, "issuer", require_https=require_https)
    doc = await _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if doc.get("issuer") != issuer:
        raise UpstreamError(
            f"the discovery document names issuer {doc.get('issuer')!r}, not {issuer!r} (they must match exactly)"
        )
    response_types = doc.get("response_types_supported") or []
    if "code" not in response_types:
        raise UpstreamError("the provider does not support the authorization code flow (response_type=code)")
    declared = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    algs = sorted(a for a in declared if isinstance(a, str) and a in ASYMMETRIC_ALGS)
    if not algs:
        raise UpstreamError(f"the provider signs id_tokens only with {declared}; an asymmetric algorithm is required")
    return Discovery(
        issuer=issuer,
        authorization_endpoint=_check_url(
            doc.get("authorization_endpoint"), "authorization_endpoint", require_https=require_https
        ),
        token_endpoint=_check_url(doc.get("token_endpoint"), "token_endpoint", require_https=require_https),
        jwks_uri=_check_url(doc.get("jwks_uri"), "jwks_uri", require_https=require_https),
        algs=algs,
    )


def usable_keys(jwks: dict[str, Any]) -> dict[str, Any]:
    """Only signature keys of asymmetric types (an ``oct`` key can never verify an id_token)."""
    keys = [
        k
        for k in jwks.get("keys", [])
        if isinstance(k, dict) and k.get("kty") in _KEY_TYPES and k.get("use", "sig") == "sig"
    ]
    return {"keys": keys}


async def fetch_jwks(jwks_uri: str) -> dict[str, Any]:
    """Fetch and check a provider's JWKS."""
    jwks = usable_keys(await _get_json(jwks_uri))
    if not jwks["keys"]:
        raise UpstreamError(f"{jwks_uri} publishes no usable signing keys")
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError) as exc:
        raise UpstreamError(f"{jwks_uri} has a key that cannot be read: {exc}") from None
    return jwks


async def exchange_code(
    token_endpoint: str, *, client_id: str, client_secret: str, code: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    """Trade the authorization code for tokens (client_secret_basic, PKCE verifier)."""
    basic = base64.b64encode(f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()).decode()
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
            response = await http.post(
                token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        raise UpstreamError(f"could not reach the token endpoint: {type(exc).__name__}", outage=True) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise UpstreamError(
            f"the token endpoint refused the code: HTTP {response.status_code} error={error!r}",
            outage=response.status_code >= 500,
        )
    if not isinstance(body.get("id_token"), str):
        raise UpstreamError("the token response has no id_token")
    return body


def token_header(id_token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, without verifying anything."""
    try:
        head = id_token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError):
        raise UpstreamError("the id_token is not a JWT") from None
    if not isinstance(header, dict):
        raise UpstreamError("the id_token header is not an object")
    return header


class UnknownKey(UpstreamError):
    """The id_token names a ``kid`` the cached JWKS does not have."""


def validate_id_token(
    id_token: str,
    *,
    jwks: dict[str, Any],
    issuer: str,
    client_id: str,
    algs: list[str],
    nonce: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Verify signature and claims of an upstream id_token; return its claims or raise UpstreamError."""
    header = token_header(id_token)
    alg = header.get("alg")
    allowed = [a for a in algs if a in ASYMMETRIC_ALGS]
    if alg not in allowed:
        raise UpstreamError(f"id_token alg {alg!r} is not one of the pinned algorithms {allowed}")
    kid = header.get("kid")
    keys = usable_keys(jwks)["keys"]
    if kid is not None and not any(k.get("kid") == kid for k in keys):
        raise UnknownKey(f"id_token kid {kid!r} is not in the provider's JWKS")
    if kid is None and len(keys) != 1:
        raise UpstreamError("id_token has no kid and the provider publishes several keys")
    try:
        keyset = KeySet.import_key_set({"keys": keys})
        token = jwt.decode(id_token, keyset if kid is not None else keyset.keys[0], algorithms=allowed)
    except (JoseError, ValueError) as exc:
        raise UpstreamError(f"id_token signature check failed: {exc}") from None
    claims: dict[str, Any] = dict(token.claims)
    now_ts = int((now or dt.datetime.now(dt.UTC)).timestamp())
    if claims.get("iss") != issuer:
        raise UpstreamError(f"id_token iss {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise UpstreamError(f"id_token aud {aud!r} does not include our client id")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise UpstreamError("id_token has several audiences and azp is not our client id")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp + LEEWAY_SECONDS < now_ts:
        raise UpstreamError(f"id_token expired or has no valid exp (exp={exp!r}, now={now_ts})")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or iat - LEEWAY_SECONDS > now_ts:
        raise UpstreamError("id_token iat is missing or in the future")
    presented = claims.get("nonce")
    if not isinstance(presented, str) or not same(presented, nonce):
        raise UpstreamError("id_token nonce is missing or does not match this sign-in")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise UpstreamError("id_token has no valid sub")
    return claims
