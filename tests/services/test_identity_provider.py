"""This service as an OpenID Connect provider, exercised with authlib's OAuth client.

The browser is the in-process test client (it carries the web session cookie); the tool is
authlib's ``AsyncOAuth2Client`` talking to the same running app over an ASGI transport.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import crypto, sessions
from services.persistence.models import Account
from services.persistence.models.identity import Consent, OidcClient, OidcToken, WebSession
from services.settings import Settings
from tests.factories import add_member, bearer, make_account, make_network, make_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

PUBLIC = "http://testserver.local"
TOOL_REDIRECT = "https://lms.esd.example/oidc/callback"
TOOL_LOGOUT = "https://lms.esd.example/bye"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, public_url=PUBLIC)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict[str, Any]:
    """Network A (kent) and B (esd), B's admin token, and a member of A."""
    kent = await make_network(db_session, slug="kent", name="Kent School District")
    esd = await make_network(db_session, slug="esd", name="Puget Sound ESD", kind="esd")
    admin_b = await make_account(db_session)
    member = await make_account(db_session, email="maya@kent.example", name="Maya")
    await add_member(db_session, esd, admin_b, "admin")
    await add_member(db_session, kent, member, "member")
    out = {"admin_b": await make_token(db_session, admin_b), "member_token": await make_token(db_session, member)}
    out["member"] = member
    await db_session.commit()
    return out


@pytest.fixture
async def tool(client, world) -> dict[str, str]:
    """An LMS registered by network B (esd) as an OIDC client."""
    r = await client.post(
        "/api/v1/networks/esd/clients",
        json={"name": "ESD LMS", "redirect_uris": [TOOL_REDIRECT], "post_logout_redirect_uris": [TOOL_LOGOUT]},
        headers=bearer(world["admin_b"]),
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def oauth(client, tool) -> AsyncIterator[AsyncOAuth2Client]:
    """authlib's client for the tool, reaching the running app through the test client's transport.

    (The app runs on the test client's own event loop, so the tool must go through it too.)
    """
    c = AsyncOAuth2Client(
        client_id=tool["client_id"],
        client_secret=tool["client_secret"],
        scope="openid email profile read",
        redirect_uri=TOOL_REDIRECT,
        code_challenge_method="S256",
        transport=client._transport,
        base_url=PUBLIC,
    )
    yield c  # the transport belongs to the test client, which closes it


async def browser_signed_in(client, db_session: AsyncSession, settings: Settings, account: Account) -> str:
    """Give the browser a web session for ``account`` (as the sign-in pages would)."""
    new = await sessions.create_session(db_session, settings, account.id, "local")
    await db_session.commit()
    client.cookies.set(sessions.SESSION_COOKIE, new.token)
    return new.token


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def authorize(client, oauth: AsyncOAuth2Client, *, allow: bool = True, **extra: str) -> tuple[str, str, str]:
    """Run the browser through /oidc/authorize (consenting if asked); return (callback URL, verifier, nonce)."""
    verifier = crypto.new_secret(nbytes=48)
    nonce = crypto.new_secret(nbytes=12)
    url, _ = oauth.create_authorization_url(f"{PUBLIC}/oidc/authorize", code_verifier=verifier, nonce=nonce, **extra)
    r = await client.get(url.removeprefix(PUBLIC), follow_redirects=False)
    if r.status_code == 200 and "Allow" in r.text:
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', r.text))
        import html

        form = {k: html.unescape(v) for k, v in form.items()}
        form["decision"] = "allow" if allow else "deny"
        r = await client.post("/oidc/authorize", data=form, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    return r.headers["location"], verifier, nonce


async def jwks_keyset(client) -> KeySet:
    return KeySet.import_key_set((await client.get("/oidc/jwks")).json())


async def test_discovery_and_jwks(client, db_session) -> None:
    doc = (await client.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == PUBLIC
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["end_session_endpoint"] == f"{PUBLIC}/oidc/logout"
    first = (await client.get("/oidc/jwks")).json()["keys"]
    second = (await client.get("/oidc/jwks")).json()["keys"]
    assert len(first) == 1 and first == second and "d" not in first[0]  # persisted, public half only


async def test_key_rotation_keeps_the_old_key_published_for_the_grace_period(client, db_session, settings) -> None:
    from services.identity import keys

    old = (await client.get("/oidc/jwks")).json()["keys"][0]["kid"]
    new = await keys.rotate(db_session, settings)
    await db_session.commit()
    kids = [k["kid"] for k in (await client.get("/oidc/jwks")).json()["keys"]]
    assert kids == [new, old]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.signing_key_grace_days + 1)
    published = await keys.published_keys(db_session, settings, now=later)
    assert [k["kid"] for k in published] == [new]


async def test_network_b_tool_gets_id_token_for_member_signed_in_once(
    client, world, oauth, db_session, settings
) -> None:
    member = world["member"]
    await browser_signed_in(client, db_session, settings, member)
    callback, verifier, nonce = await authorize(client, oauth, state="s-1")
    assert callback.startswith(TOOL_REDIRECT + "?")
    query = parse_qs(urlsplit(callback).query)
    assert query["iss"] == [PUBLIC] and query["state"] == ["s-1"]  # RFC 9207
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    claims = jwt.decode(token["id_token"], await jwks_keyset(client), algorithms=["RS256"]).claims
    assert claims["iss"] == PUBLIC and claims["aud"] == oauth.client_id and claims["nonce"] == nonce
    assert claims["sub"] == str(member.id) and claims["email"] == "maya@kent.example"
    assert claims["exp"] > dt.datetime.now(dt.UTC).timestamp()
    # The access token authenticates the API like a personal token, and userinfo.
    me = await client.get("/api/v1/me", headers=bearer(token["access_token"]))
    assert me.status_code == 200, me.text
    info = await client.get("/oidc/userinfo", headers=bearer(token["access_token"]))
    assert info.json() == {"sub": str(member.id), "email": "maya@kent.example", "email_verified": True, "name": "Maya"}
    # Consent is remembered: the next authorization is immediate (single sign-on).
    verifier2 = crypto.new_secret(nbytes=48)
    url, _ = oauth.create_authorization_url(f"{PUBLIC}/oidc/authorize", code_verifier=verifier2, nonce="n2")
    r = await client.get(url.removeprefix(PUBLIC), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(TOOL_REDIRECT)


async def test_read_scope_only_cannot_write(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    r = await client.post(
        "/api/v1/networks", json={"slug": "x", "name": "X", "kind": "school"}, headers=bearer(token["access_token"])
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


async def test_not_signed_in_goes_to_the_sign_in_page(client, oauth) -> None:
    url, _ = oauth.create_authorization_url(f"{PUBLIC}/oidc/authorize", code_verifier="v" * 43, nonce="n")
    r = await client.get(url.removeprefix(PUBLIC), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/auth/login?next=%2Foidc%2Fauthorize")
    r = await client.get(url.removeprefix(PUBLIC) + "&prompt=none", follow_redirects=False)
    assert "error=login_required" in r.headers["location"]


async def test_denied_consent_returns_access_denied(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, _, _ = await authorize(client, oauth, allow=False, state="st")
    query = parse_qs(urlsplit(callback).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st"] and query["iss"] == [PUBLIC]
    assert int(await db_session.scalar(select(func.count()).select_from(Consent)) or 0) == 0


async def test_code_reuse_is_refused_and_revokes_what_the_code_issued(
    client, world, oauth, db_session, settings
) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    r = await oauth.post(
        f"{PUBLIC}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": TOOL_REDIRECT,
            "code_verifier": verifier,
        },
        auth=(oauth.client_id, oauth.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert (await client.get("/api/v1/me", headers=bearer(token["access_token"]))).status_code == 401
    refreshed = await oauth.post(
        f"{PUBLIC}/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(oauth.client_id, oauth.client_secret),
    )
    assert refreshed.status_code == 400


def _authorize_url(tool: dict[str, str], **params: str) -> str:
    base = {
        "response_type": "code",
        "client_id": tool["client_id"],
        "redirect_uri": TOOL_REDIRECT,
        "scope": "openid",
        "state": "st",
        "code_challenge": crypto.pkce_challenge("v" * 43),
        "code_challenge_method": "S256",
    }
    base.update(params)
    return "/oidc/authorize?" + urlencode({k: v for k, v in base.items() if v != ""})


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),  # missing PKCE
        ({"code_challenge": "v" * 43, "code_challenge_method": "plain"}, "invalid_request"),  # plain PKCE
        ({"response_type": "token"}, "unsupported_response_type"),  # implicit
        ({"scope": "email"}, "invalid_scope"),
    ],
)
async def test_authorization_requests_without_s256_pkce_are_refused(
    client, world, tool, db_session, settings, params, error
) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    r = await client.get(_authorize_url(tool, **params), follow_redirects=False)
    assert r.status_code == 303
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == [error] and query["state"] == ["st"] and "code" not in query


@pytest.mark.parametrize(
    "redirect_uri", ["https://attacker.example/cb", TOOL_REDIRECT + "/extra", TOOL_REDIRECT + "?x=1", ""]
)
async def test_unregistered_or_altered_redirect_uri_is_never_redirected_to(
    client, world, tool, db_session, settings, redirect_uri
) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    r = await client.get(_authorize_url(tool, redirect_uri=redirect_uri), follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers and "not registered" in r.text
    r = await client.get(_authorize_url({"client_id": "afc_unknown"}), follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


async def _code(client, oauth) -> tuple[str, str]:
    callback, verifier, _ = await authorize(client, oauth)
    return parse_qs(urlsplit(callback).query)["code"][0], verifier


async def _token(oauth, **form: str) -> httpx.Response:
    return await oauth.post(f"{PUBLIC}/oidc/token", data=form, auth=(oauth.client_id, oauth.client_secret))


async def test_token_endpoint_refusals(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    # Wrong verifier
    code, verifier = await _code(client, oauth)
    r = await _token(
        oauth, grant_type="authorization_code", code=code, redirect_uri=TOOL_REDIRECT, code_verifier="w" * 43
    )
    assert (
        r.status_code == 400
        and r.json()["error"] == "invalid_grant"
        and "code_verifier" in r.json()["error_description"]
    )
    # Missing verifier
    code, verifier = await _code(client, oauth)
    r = await _token(oauth, grant_type="authorization_code", code=code, redirect_uri=TOOL_REDIRECT)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    # Altered redirect URI at the token endpoint
    code, verifier = await _code(client, oauth)
    r = await _token(
        oauth, grant_type="authorization_code", code=code, redirect_uri=TOOL_REDIRECT + "x", code_verifier=verifier
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # Password grant, wrong secret
    r = await _token(oauth, grant_type="password", username="a", password="b")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = await oauth.post(
        f"{PUBLIC}/oidc/token", data={"grant_type": "authorization_code", "code": "x"}, auth=(oauth.client_id, "wrong")
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["cache-control"] == "no-store"


async def test_expired_code_is_refused(client, world, oauth, db_session, settings) -> None:
    from sqlalchemy import update

    from services.persistence.models.identity import AuthorizationCode

    await browser_signed_in(client, db_session, settings, world["member"])
    code, verifier = await _code(client, oauth)
    await db_session.execute(
        update(AuthorizationCode).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    await db_session.commit()
    r = await _token(
        oauth, grant_type="authorization_code", code=code, redirect_uri=TOOL_REDIRECT, code_verifier=verifier
    )
    assert r.status_code == 400 and "expired" in r.json()["error_description"]


async def test_refresh_rotation_and_reuse_detection(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    first = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    second = await oauth.refresh_token(f"{PUBLIC}/oidc/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert (await client.get("/api/v1/me", headers=bearer(second["access_token"]))).status_code == 200
    # The rotated-out refresh token presented again: refused, and the whole family is revoked.
    r = await _token(oauth, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert (await client.get("/api/v1/me", headers=bearer(second["access_token"]))).status_code == 401
    r = await _token(oauth, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert r.status_code == 400


async def test_revocation_rfc7009(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    r = await oauth.revoke_token(f"{PUBLIC}/oidc/revoke", token=token["access_token"])
    assert r.status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(token["access_token"]))).status_code == 401
    r = await oauth.revoke_token(f"{PUBLIC}/oidc/revoke", token="afa_unknown")
    assert r.status_code == 200
    r = await oauth.revoke_token(f"{PUBLIC}/oidc/revoke", token=token["refresh_token"])
    assert (await _token(oauth, grant_type="refresh_token", refresh_token=token["refresh_token"])).status_code == 400


async def test_logout_ends_the_session_and_revokes_its_tokens(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    # Without the CSRF token (a cross-site form): refused, still signed in.
    r = await client.post("/auth/logout", data={}, follow_redirects=False)
    assert r.status_code == 403
    r = await client.post("/auth/logout", data={"csrf_token": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert (await client.get("/api/v1/me")).status_code == 200
    page = await client.get("/auth/account")
    r = await client.post("/auth/logout", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/auth/signed-out"
    assert (await client.get("/auth/signed-out")).status_code == 200
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(token["access_token"]))).status_code == 401
    assert (await _token(oauth, grant_type="refresh_token", refresh_token=token["refresh_token"])).status_code == 400
    web = await db_session.scalar(select(WebSession))
    assert web is not None and web.revoked_at is not None


async def test_rp_initiated_logout(client, world, oauth, tool, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    query = {"id_token_hint": token["id_token"], "post_logout_redirect_uri": TOOL_LOGOUT, "state": "bye"}
    page = await client.get("/oidc/logout?" + urlencode(query))
    assert page.status_code == 200 and "ESD LMS" in page.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    r = await client.post("/oidc/logout", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == TOOL_LOGOUT + "?state=bye"
    assert (await client.get("/api/v1/me")).status_code == 401
    # An unregistered post-logout URI is ignored (no open redirect).
    r = await client.get(
        "/oidc/logout?"
        + urlencode({"client_id": tool["client_id"], "post_logout_redirect_uri": "https://evil.example"}),
        follow_redirects=False,
    )
    assert r.headers["location"] == "/auth/signed-out"


async def test_client_registration_roles_and_bad_input(client, world, tool, db_session) -> None:
    row = await db_session.scalar(select(OidcClient))
    assert row is not None and row.secret_hash == crypto.digest(tool["client_secret"])
    assert tool["discovery_url"] == f"{PUBLIC}/.well-known/openid-configuration"
    r = await client.post(
        "/api/v1/networks/esd/clients",
        json={"name": "X", "redirect_uris": [TOOL_REDIRECT]},
        headers=bearer(world["member_token"]),
    )
    assert r.status_code == 403
    for bad in (["https://x.example/*"], ["ftp://x.example/cb"], ["https://x.example/cb#frag"], []):
        r = await client.post(
            "/api/v1/networks/esd/clients", json={"name": "X", "redirect_uris": bad}, headers=bearer(world["admin_b"])
        )
        assert r.status_code == 422, (bad, r.text)
    assert int(await db_session.scalar(select(func.count()).select_from(OidcClient)) or 0) == 1
    assert int(await db_session.scalar(select(func.count()).select_from(OidcToken)) or 0) == 0


async def test_done_when_sign_in_once_through_network_a_then_network_b_tool(
    client, world, oauth, db_session, settings
) -> None:
    """A member signs in once through Kent's own provider (real HTTP to a real IdP); the session
    then covers every network, and ESD's tool gets an id_token for the same member without a
    second sign-in."""
    from oidc_provider_mock import run_server_in_thread

    from services.persistence.models.identity import LinkedIdentity
    from tests.services.test_identity_broker import connect, set_mock_user, upstream_sign_in

    kent_admin = await make_account(db_session)
    kent = await db_session.scalar(select(Account).where(Account.email == "maya@kent.example"))
    assert kent is not None
    from services.persistence.models import Network

    kent_net = await db_session.scalar(select(Network).where(Network.slug == "kent"))
    assert kent_net is not None
    await add_member(db_session, kent_net, kent_admin, "admin")
    admin_token = await make_token(db_session, kent_admin)
    await db_session.commit()
    with run_server_in_thread(require_nonce=True) as server:
        issuer = f"http://localhost:{server.server_port}"
        assert (await connect(client, admin_token, "kent", issuer, ["kent.example"])).status_code == 200
        from sqlalchemy import update

        from services.persistence.models.identity import EmailDomainClaim

        # An operator approved Kent's claim to kent.example (tests/services/test_identity_domain_claims.py).
        await db_session.execute(update(EmailDomainClaim).values(status="approved"))
        await db_session.commit()
        await set_mock_user(issuer, "maya-upstream", {"email": "maya@kent.example", "email_verified": True})
        _, r = await upstream_sign_in(client, "kent", "maya-upstream")
        assert r.status_code == 303, r.text
    linked = await db_session.scalar(select(LinkedIdentity.account_id))
    assert linked == world["member"].id  # verified e-mail in Kent's verified domain: same account
    # Signed in for every network: the same cookie reads network B.
    assert (await client.get("/api/v1/networks/esd")).status_code == 200
    # Network B's tool: no sign-in page, only the first-use consent, then an id_token.
    callback, verifier, nonce = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    claims = jwt.decode(token["id_token"], await jwks_keyset(client), algorithms=["RS256"]).claims
    assert claims["sub"] == str(world["member"].id) and claims["nonce"] == nonce and claims["aud"] == oauth.client_id


async def test_access_token_without_read_scope_cannot_use_the_api(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    oauth.scope = "openid email"
    callback, verifier, _ = await authorize(client, oauth, state="s-openid-only")
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    r = await client.get("/api/v1/me", headers=bearer(token["access_token"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    info = await client.get("/oidc/userinfo", headers=bearer(token["access_token"]))
    assert info.status_code == 200 and info.json()["sub"] == str(world["member"].id)


# --- prompt=login and max_age: signing in again -------------------------------------------------

PASSWORD = "correct horse battery staple"


async def _member_with_password(db_session: AsyncSession, world: dict[str, Any], *, authenticated_ago: dt.timedelta):
    """The member has a password and a browser session authenticated ``authenticated_ago``."""
    from sqlalchemy import update

    from services.accounts.passwords import hash_password

    member_id = world["member"].id
    await db_session.execute(
        update(Account).where(Account.id == member_id).values(password_hash=hash_password(PASSWORD))
    )
    await db_session.commit()
    return member_id, authenticated_ago


async def _age_session(db_session: AsyncSession, ago: dt.timedelta) -> dt.datetime:
    from sqlalchemy import update

    at = (dt.datetime.now(dt.UTC) - ago).replace(microsecond=0)
    await db_session.execute(update(WebSession).values(authenticated_at=at))
    await db_session.commit()
    return at


async def _sign_in_again(client, login_location: str) -> str:
    """On the sign-in page the authorize request sent us to, sign in with the password; return ``next``."""
    page = await client.get(login_location)
    assert page.status_code == 200 and "sign in again" in page.text
    next_url = parse_qs(urlsplit(login_location).query)["next"][0]
    r = await client.post(
        "/auth/login",
        data={"email": "maya@kent.example", "password": PASSWORD, "csrf_token": _csrf(page.text), "next": next_url},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == next_url, r.text
    new_cookie = r.cookies.get(sessions.SESSION_COOKIE)
    assert new_cookie
    client.cookies.clear()  # one session cookie in the jar (the test set the first one by hand)
    client.cookies.set(sessions.SESSION_COOKIE, new_cookie)
    return next_url


async def _finish(client, oauth: AsyncOAuth2Client, location: str, verifier: str) -> dict[str, Any]:
    r = await client.get(location, follow_redirects=False)
    if r.status_code == 200 and "Allow" in r.text:  # first use of the tool: consent
        import html

        form = {
            k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', r.text)
        }
        r = await client.post("/oidc/authorize", data={**form, "decision": "allow"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(TOOL_REDIRECT), r.text
    token = await oauth.fetch_token(
        f"{PUBLIC}/oidc/token", authorization_response=r.headers["location"], code_verifier=verifier
    )
    return jwt.decode(token["id_token"], await jwks_keyset(client), algorithms=["RS256"]).claims


async def test_prompt_login_asks_a_signed_in_member_to_sign_in_again(
    client, world, oauth, db_session, settings
) -> None:
    await _member_with_password(db_session, world, authenticated_ago=dt.timedelta(hours=1))
    old_cookie = await browser_signed_in(client, db_session, settings, world["member"])
    earlier = await _age_session(db_session, dt.timedelta(hours=1))
    login_location, verifier, nonce = await authorize(client, oauth, prompt="login")
    assert login_location.startswith("/auth/login?")
    next_url = parse_qs(urlsplit(login_location).query)["next"][0]
    # Skipping the sign-in page does not work: the repeated request still asks for it.
    r = await client.get(next_url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/auth/login?")
    # Removing the marker or forging an older one does not either.
    for forged in ("", "1.x", str(int(earlier.timestamp())) + ".AAAA"):
        query = parse_qs(urlsplit(next_url).query)
        query["reauth"] = [forged]
        r = await client.get(
            "/oidc/authorize?" + urlencode({k: v[0] for k, v in query.items()}), follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/auth/login?"), forged
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    await _sign_in_again(client, login_location)
    assert client.cookies.get(sessions.SESSION_COOKIE) != old_cookie  # the session got a new cookie value
    assert (await client.get("/api/v1/me", cookies={sessions.SESSION_COOKIE: old_cookie})).status_code == 401
    claims = await _finish(client, oauth, next_url, verifier)
    assert claims["nonce"] == nonce
    assert claims["auth_time"] >= int(before.timestamp()) > int(earlier.timestamp())
    # Still one session (signed in again, not a second session), now freshly authenticated.
    await db_session.rollback()
    [web] = (await db_session.scalars(select(WebSession))).all()
    assert web.revoked_at is None and int(web.authenticated_at.timestamp()) == claims["auth_time"]


async def test_max_age_asks_for_a_new_sign_in_only_when_the_session_is_older(
    client, world, oauth, db_session, settings
) -> None:
    await _member_with_password(db_session, world, authenticated_ago=dt.timedelta(hours=2))
    await browser_signed_in(client, db_session, settings, world["member"])
    earlier = await _age_session(db_session, dt.timedelta(hours=2))
    # Young enough: the code comes at once, and auth_time is when the member really signed in.
    location, verifier, _ = await authorize(client, oauth, max_age="86400")
    assert location.startswith(TOOL_REDIRECT)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=location, code_verifier=verifier)
    claims = jwt.decode(token["id_token"], await jwks_keyset(client), algorithms=["RS256"]).claims
    assert claims["auth_time"] == int(earlier.timestamp())
    # Too old for max_age=3600: sign in again first; prompt=none cannot do that.
    location, _, _ = await authorize(client, oauth, max_age="3600", state="quiet", prompt="none")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["login_required"] and query["state"] == ["quiet"] and query["iss"] == [PUBLIC]
    login_location, verifier, _ = await authorize(client, oauth, max_age="3600")
    assert login_location.startswith("/auth/login?")
    next_url = await _sign_in_again(client, login_location)
    claims = await _finish(client, oauth, next_url, verifier)
    assert claims["auth_time"] > int(earlier.timestamp())


async def test_max_age_zero_signs_in_again_once_then_continues(client, world, oauth, db_session, settings) -> None:
    await _member_with_password(db_session, world, authenticated_ago=dt.timedelta(0))
    await browser_signed_in(client, db_session, settings, world["member"])
    login_location, verifier, _ = await authorize(client, oauth, max_age="0")
    assert login_location.startswith("/auth/login?")
    next_url = await _sign_in_again(client, login_location)
    claims = await _finish(client, oauth, next_url, verifier)  # no second trip to the sign-in page
    assert claims["auth_time"] <= int(dt.datetime.now(dt.UTC).timestamp())


@pytest.mark.parametrize(
    "params",
    [{"prompt": "none login"}, {"prompt": "bogus"}, {"max_age": "-1"}, {"max_age": "soon"}, {"max_age": "1" * 11}],
)
async def test_bad_prompt_or_max_age_is_refused(client, world, tool, db_session, settings, params) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    r = await client.get(_authorize_url(tool, **params), follow_redirects=False)
    assert r.status_code == 303
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["st"] and "code" not in query
    assert int(await db_session.scalar(select(func.count()).select_from(OidcToken)) or 0) == 0


async def test_prompt_consent_shows_the_consent_page_again(client, world, oauth, db_session, settings) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    await authorize(client, oauth)  # consents once
    verifier = crypto.new_secret(nbytes=48)
    url, _ = oauth.create_authorization_url(f"{PUBLIC}/oidc/authorize", code_verifier=verifier, prompt="consent")
    r = await client.get(url.removeprefix(PUBLIC), follow_redirects=False)
    assert r.status_code == 200 and "Allow" in r.text
    assert "prompt_values_supported" in (await client.get("/.well-known/openid-configuration")).json()


# --- issue 9 item 3: the smaller holes -----------------------------------------------------------


async def test_refused_scope_widening_does_not_burn_the_refresh_token(
    client, world, oauth, db_session, settings
) -> None:
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    first = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    for wider in ("openid email profile read write", "openid nonsense", " "):
        r = await _token(oauth, grant_type="refresh_token", refresh_token=first["refresh_token"], scope=wider)
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope", (wider, r.text)
    # The access token still works and the same refresh token still rotates (nothing was consumed or revoked).
    assert (await client.get("/api/v1/me", headers=bearer(first["access_token"]))).status_code == 200
    r = await _token(oauth, grant_type="refresh_token", refresh_token=first["refresh_token"], scope="openid read")
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "openid read"
    assert (await client.get("/api/v1/me", headers=bearer(r.json()["access_token"]))).status_code == 200


@pytest.mark.parametrize("prompt", [" none", "none ", "  none  "])
async def test_prompt_is_a_space_separated_list(client, world, oauth, tool, db_session, settings, prompt) -> None:
    verifier = crypto.new_secret(nbytes=48)
    url, _ = oauth.create_authorization_url(
        f"{PUBLIC}/oidc/authorize", code_verifier=verifier, nonce="n", prompt=prompt, state="s1"
    )
    r = await client.get(url.removeprefix(PUBLIC), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(TOOL_REDIRECT), r.text
    assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["login_required"]
    # Signed in but the tool was never allowed: consent_required, never the consent page.
    await browser_signed_in(client, db_session, settings, world["member"])
    r = await client.get(url.removeprefix(PUBLIC), follow_redirects=False)
    assert r.status_code == 303 and parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["consent_required"]


async def test_rp_logout_refuses_a_client_id_that_is_not_the_hints_audience(
    client, world, oauth, tool, db_session, settings
) -> None:
    other = await client.post(
        "/api/v1/networks/esd/clients",
        json={
            "name": "Other tool",
            "redirect_uris": ["https://other.esd.example/cb"],
            "post_logout_redirect_uris": ["https://other.esd.example/bye"],
        },
        headers=bearer(world["admin_b"]),
    )
    other_id = other.json()["client_id"]
    await browser_signed_in(client, db_session, settings, world["member"])
    callback, verifier, _ = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    query = {
        "id_token_hint": token["id_token"],
        "client_id": other_id,
        "post_logout_redirect_uri": "https://other.esd.example/bye",
    }
    page = await client.get("/oidc/logout?" + urlencode(query), follow_redirects=False)
    assert page.status_code == 400 and "another application" in page.text
    csrf = _csrf((await client.get("/auth/account")).text)
    r = await client.post("/oidc/logout", data={**query, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 400 and "other.esd.example" not in r.headers.get("location", "")
    assert (await client.get("/api/v1/me")).status_code == 200  # nothing was done
    # A hint we never issued is refused the same way.
    r = await client.get("/oidc/logout?" + urlencode({"id_token_hint": "not.a.token"}), follow_redirects=False)
    assert r.status_code == 400
    # The matching client_id is fine.
    query["client_id"] = tool["client_id"]
    query["post_logout_redirect_uri"] = TOOL_LOGOUT
    page = await client.get("/oidc/logout?" + urlencode(query))
    assert page.status_code == 200 and "ESD LMS" in page.text
