"""Signing in through a network's upstream provider, with real HTTP to real providers on loopback.

Happy paths use ``oidc-provider-mock`` (a real OIDC provider built on authlib); refusals that
need malformed tokens use the scripted provider in ``identity_idp``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, AuditEvent, NetworkMember
from services.persistence.models.identity import LinkedIdentity, PendingLogin, UpstreamProvider, WebSession
from services.settings import Settings
from tests.factories import add_member, bearer, make_account, make_network, make_token
from tests.services.identity_idp import ScriptedIdP, scripted_idp

PUBLIC = "http://testserver.local"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's public URL is the test client's base URL (issuer and redirect URIs use it)."""
    return msgspec.structs.replace(settings, public_url=PUBLIC)


@pytest.fixture(scope="module")
def mock_idp() -> Iterator[str]:
    """A real OIDC provider (oidc-provider-mock) on a free loopback port; yields its issuer."""
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def idp() -> Iterator[ScriptedIdP]:
    with scripted_idp() as scripted:
        yield scripted


@pytest.fixture
async def admins(db_session: AsyncSession) -> dict[str, Any]:
    """Networks A (kent) and B (esd) with an admin each, and a plain member of A."""
    kent = await make_network(db_session, slug="kent", name="Kent School District")
    esd = await make_network(db_session, slug="esd", name="Puget Sound ESD", kind="esd")
    admin_a, admin_b, member = [await make_account(db_session) for _ in range(3)]
    operator = await make_account(db_session, operator=True)
    await add_member(db_session, kent, admin_a, "admin")
    await add_member(db_session, esd, admin_b, "admin")
    await add_member(db_session, kent, member, "member")
    out = {
        "a": await make_token(db_session, admin_a),
        "b": await make_token(db_session, admin_b),
        "member": await make_token(db_session, member),
        "operator": await make_token(db_session, operator),
        "kent_id": kent.id,
    }
    await db_session.commit()
    return out


async def connect(client, token: str, slug: str, issuer: str, domains: list[str] | None = None, client_id: str = "aff"):
    return await client.put(
        f"/api/v1/networks/{slug}/identity-provider",
        json={
            "issuer": issuer,
            "client_id": client_id,
            "client_secret": "upstream-s3cret",
            "email_domains": domains or [],
        },
        headers=bearer(token),
    )


async def set_mock_user(issuer: str, sub: str, claims: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as http:
        r = await http.put(f"{issuer}/users/{sub}", json=claims)
        assert r.status_code < 300, r.text


async def upstream_sign_in(client, slug: str, sub: str, *, action: str | None = None, next_url: str | None = None):
    """Start at /auth/login/{slug}, let the real IdP authorize ``sub``, return (callback URL, response)."""
    start = await client.get(
        f"/auth/login/{slug}", params={"next": next_url} if next_url else None, follow_redirects=False
    )
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == [f"{PUBLIC}/auth/callback/{slug}"]
    async with httpx.AsyncClient() as http:  # real HTTP to the upstream provider
        form = {"action": action} if action else {"sub": sub}
        authorized = await http.post(location, data=form)
    assert authorized.status_code == 302, authorized.text
    callback = authorized.headers["location"]
    assert callback.startswith(f"{PUBLIC}/auth/callback/{slug}?")
    response = await client.get(callback.removeprefix(PUBLIC), follow_redirects=False)
    return callback.removeprefix(PUBLIC), response


async def count(db_session: AsyncSession, model: type) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


# --- connecting a provider -------------------------------------------------------------------


async def test_admin_connects_provider_from_discovery(client, admins, mock_idp, db_session) -> None:
    r = await connect(client, admins["a"], "kent", mock_idp, ["Kent.Example"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["redirect_uri"] == f"{PUBLIC}/auth/callback/kent"
    assert body["email_domains"] == ["kent.example"] and body["id_token_algs"] == ["RS256"]
    assert [(c["domain"], c["status"]) for c in body["domain_claims"]] == [("kent.example", "pending")]
    assert "client_secret" not in body and "upstream-s3cret" not in r.text
    row = await db_session.scalar(select(UpstreamProvider))
    assert row is not None and row.token_endpoint.startswith(mock_idp)
    assert b"upstream-s3cret" not in row.client_secret_enc  # stored sealed
    assert await db_session.scalar(
        select(AuditEvent.action).where(AuditEvent.action == "network.identity_provider.set")
    )


@pytest.mark.parametrize("who", ["b", "member"])
async def test_only_the_networks_admins_connect_a_provider(client, admins, mock_idp, db_session, who) -> None:
    r = await connect(client, admins[who], "kent", mock_idp)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert await count(db_session, UpstreamProvider) == 0


async def test_unreachable_or_mismatched_issuer_is_a_clear_422(client, admins, mock_idp, idp, db_session) -> None:
    r = await connect(client, admins["a"], "kent", "http://127.0.0.1:9")  # nothing listens there
    assert r.status_code == 422 and r.json()["error"]["code"] == "identity_provider_unusable"
    assert "could not reach" in r.json()["error"]["message"]
    # The scripted provider calls itself http://127.0.0.1:PORT; under another name it is not that issuer.
    wrong = idp.issuer.replace("127.0.0.1", "localhost")
    r = await connect(client, admins["a"], "kent", wrong)
    assert r.status_code == 422 and "must match exactly" in r.json()["error"]["message"]
    r = await connect(client, admins["a"], "kent", mock_idp, ["not a domain"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_email_domain"
    r = await client.put(
        "/api/v1/networks/kent/identity-provider", json={"issuer": mock_idp}, headers=bearer(admins["a"])
    )
    assert r.status_code == 422
    assert await count(db_session, UpstreamProvider) == 0


# --- signing in through the mock provider ----------------------------------------------------


async def test_sign_in_through_network_provider_creates_account_and_session(
    client, admins, mock_idp, db_session
) -> None:
    assert (await connect(client, admins["a"], "kent", mock_idp, ["kent.example"])).status_code == 200
    await set_mock_user(mock_idp, "u-100", {"email": "ana@kent.example", "email_verified": True, "name": "Ana Diaz"})
    page = await client.get("/auth/login")
    assert page.status_code == 200 and "Kent School District" in page.text and "/auth/login/kent" in page.text
    _, r = await upstream_sign_in(client, "kent", "u-100", next_url="/api/v1/me")
    assert r.status_code == 303 and r.headers["location"] == "/api/v1/me"
    cookie = r.headers["set-cookie"]
    assert "affinity_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    me = await client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    account = await db_session.scalar(select(Account).where(Account.email == "ana@kent.example"))
    assert account is not None and account.display_name == "Ana Diaz" and account.email_verified
    identity = await db_session.scalar(select(LinkedIdentity))
    assert identity is not None and (identity.issuer, identity.subject) == (mock_idp, "u-100")
    role = await db_session.scalar(select(NetworkMember.role).where(NetworkMember.account_id == account.id))
    assert role == "member"
    # Signing in again with the same (issuer, subject) finds the same account.
    client.cookies.clear()
    _, again = await upstream_sign_in(client, "kent", "u-100")
    assert again.status_code == 303
    assert await count(db_session, Account) == 5 and await count(db_session, LinkedIdentity) == 1
    assert await count(db_session, WebSession) == 2


async def test_several_pending_logins_per_browser_each_complete_once(client, admins, mock_idp, db_session) -> None:
    await connect(client, admins["a"], "kent", mock_idp)
    await set_mock_user(mock_idp, "tabs", {"email": "tabs@elsewhere.example"})
    first = await client.get("/auth/login/kent", follow_redirects=False)
    second = await client.get("/auth/login/kent", follow_redirects=False)
    async with httpx.AsyncClient() as http:
        cb1 = (await http.post(first.headers["location"], data={"sub": "tabs"})).headers["location"]
        cb2 = (await http.post(second.headers["location"], data={"sub": "tabs"})).headers["location"]
    assert (await client.get(cb2.removeprefix(PUBLIC), follow_redirects=False)).status_code == 303
    assert (await client.get(cb1.removeprefix(PUBLIC), follow_redirects=False)).status_code == 303


async def test_upstream_error_on_callback_is_a_plain_page_and_no_session(client, admins, mock_idp, db_session) -> None:
    await connect(client, admins["a"], "kent", mock_idp)
    _, r = await upstream_sign_in(client, "kent", "x", action="deny")
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "did not sign you in" in r.text and "access_denied" in r.text and "Traceback" not in r.text
    assert "set-cookie" not in r.headers or "affinity_session=" not in r.headers["set-cookie"]
    assert await count(db_session, WebSession) == 0


async def test_replayed_callback_and_state_are_refused(client, admins, mock_idp, db_session) -> None:
    await connect(client, admins["a"], "kent", mock_idp)
    await set_mock_user(mock_idp, "replay", {"email": "replay@elsewhere.example"})
    callback, first = await upstream_sign_in(client, "kent", "replay")
    assert first.status_code == 303
    again = await client.get(callback, follow_redirects=False)
    assert again.status_code == 400 and "already been used" in again.text
    assert await count(db_session, WebSession) == 1
    used = await db_session.scalar(select(PendingLogin.used_at))
    assert used is not None


async def test_state_is_bound_to_the_browser_and_to_the_network(client, admins, mock_idp, db_session) -> None:
    await connect(client, admins["a"], "kent", mock_idp)
    await connect(client, admins["b"], "esd", mock_idp)
    await set_mock_user(mock_idp, "bound", {"email": "bound@elsewhere.example"})
    start = await client.get("/auth/login/kent", follow_redirects=False)
    async with httpx.AsyncClient() as http:
        callback = (await http.post(start.headers["location"], data={"sub": "bound"})).headers["location"]
    path = callback.removeprefix(PUBLIC)
    # Mix-up: the response for kent presented at esd's callback.
    r = await client.get(path.replace("/auth/callback/kent", "/auth/callback/esd"), follow_redirects=False)
    assert r.status_code == 400 and "does not match a sign-in started here" in r.text
    # Another browser (no login-binding cookie) presenting the response.
    client.cookies.clear()
    r = await client.get(path, follow_redirects=False)
    assert r.status_code == 400 and "different browser" in r.text
    assert await count(db_session, WebSession) == 0


async def test_unverified_email_never_links_to_an_existing_account(client, admins, mock_idp, db_session) -> None:
    existing = await make_account(db_session, email="lee@kent.example")
    await db_session.commit()
    await connect(client, admins["a"], "kent", mock_idp, ["kent.example"])
    await set_mock_user(mock_idp, "lee-unverified", {"email": "lee@kent.example", "email_verified": False})
    _, r = await upstream_sign_in(client, "kent", "lee-unverified")
    assert r.status_code == 409 and "already exists" in r.text
    assert await count(db_session, LinkedIdentity) == 0 and await count(db_session, WebSession) == 0
    # Verified e-mail but in a domain the network has not verified: still no link.
    await set_mock_user(mock_idp, "lee-otherdomain", {"email": "LEE@kent.example", "email_verified": True})
    await connect(client, admins["a"], "kent", mock_idp, ["other.example"])
    _, r = await upstream_sign_in(client, "kent", "lee-otherdomain")
    assert r.status_code == 409 and await count(db_session, LinkedIdentity) == 0
    # Claimed but not yet approved by an operator: still no link.
    body = (await connect(client, admins["a"], "kent", mock_idp, ["kent.example"])).json()
    assert [c["status"] for c in body["domain_claims"]] == ["pending"]
    _, r = await upstream_sign_in(client, "kent", "lee-otherdomain")
    assert r.status_code == 409 and await count(db_session, LinkedIdentity) == 0
    # Verified e-mail in a domain an operator approved for this network links to the existing account.
    claim_id = body["domain_claims"][0]["id"]
    r = await client.post(f"/api/v1/email-domain-claims/{claim_id}/approve", headers=bearer(admins["operator"]))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    _, r = await upstream_sign_in(client, "kent", "lee-otherdomain")
    assert r.status_code == 303
    identity = await db_session.scalar(select(LinkedIdentity))
    assert identity is not None and identity.account_id == existing.id


async def test_explicit_linking_after_signing_in(client, admins, mock_idp, db_session) -> None:
    from services.accounts.passwords import hash_password

    account = await make_account(
        db_session, email="kim@kent.example", password_hash=hash_password("correct horse battery")
    )
    await db_session.commit()
    await connect(client, admins["a"], "kent", mock_idp)
    page = await client.get("/auth/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post(
        "/auth/login",
        data={"email": "kim@kent.example", "password": "correct horse battery", "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    await set_mock_user(mock_idp, "kim-idp", {"email": "kim@kent.example", "email_verified": False})
    start = await client.get("/auth/login/kent", params={"link": "1"}, follow_redirects=False)
    async with httpx.AsyncClient() as http:
        callback = (await http.post(start.headers["location"], data={"sub": "kim-idp"})).headers["location"]
    r = await client.get(callback.removeprefix(PUBLIC), follow_redirects=False)
    assert r.status_code == 303
    identity = await db_session.scalar(select(LinkedIdentity))
    assert identity is not None and identity.account_id == account.id


# --- refusals that need a provider misbehaving ------------------------------------------------


async def _begin(client, idp: ScriptedIdP, admins) -> dict[str, str]:
    r = await connect(client, admins["a"], "kent", idp.issuer, client_id="aff-client")
    assert r.status_code == 200, r.text
    start = await client.get("/auth/login/kent", follow_redirects=False)
    query = parse_qs(urlsplit(start.headers["location"]).query)
    return {"state": query["state"][0], "nonce": query["nonce"][0], "challenge": query["code_challenge"][0]}


def _alg_none(claims: dict[str, Any]) -> str:
    def enc(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return enc({"alg": "none", "kid": "k1"}) + "." + enc(claims) + "."


BAD_TOKENS = {
    "wrong issuer": lambda idp, n: idp.sign(idp.claims(n, "aff-client", iss="https://evil.example")),
    "wrong audience": lambda idp, n: idp.sign(idp.claims(n, "aff-client", aud="someone-else")),
    "several audiences without azp": lambda idp, n: idp.sign(idp.claims(n, "aff-client", aud=["aff-client", "x"])),
    "expired": lambda idp, n: idp.sign(idp.claims(n, "aff-client", exp=int(time.time()) - 600)),
    "missing nonce": lambda idp, n: idp.sign(idp.claims(n, "aff-client", nonce=None)),
    "wrong nonce": lambda idp, n: idp.sign(idp.claims(n, "aff-client", nonce="not-the-nonce")),
    "alg none": lambda idp, n: _alg_none(idp.claims(n, "aff-client")),
    "HS256 keyed with the public key": lambda idp, n: idp.hmac_with_public_key(
        idp.claims(n, "aff-client"), idp.published[0]
    ),
    "signed by another key with a known kid": lambda idp, n: idp.sign(
        idp.claims(n, "aff-client"),
        key=__import__("joserfc.jwk", fromlist=["RSAKey"]).RSAKey.generate_key(2048, private=True),
    ),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_id_tokens_are_refused(client, admins, idp, db_session, case, caplog) -> None:
    flow = await _begin(client, idp, admins)
    idp.id_token = lambda: BAD_TOKENS[case](idp, flow["nonce"])
    r = await client.get("/auth/callback/kent", params={"code": "c", "state": flow["state"]}, follow_redirects=False)
    assert r.status_code == 400, (case, r.text)
    assert "could not verify" in r.text and r.headers["content-type"].startswith("text/html")
    assert await count(db_session, WebSession) == 0 and await count(db_session, LinkedIdentity) == 0
    assert any("sign-in refused" in rec.getMessage() for rec in caplog.records)
    assert all("upstream-s3cret" not in rec.getMessage() for rec in caplog.records)


async def test_code_exchange_sends_pkce_verifier_and_good_token_signs_in(client, admins, idp, db_session) -> None:
    from services.identity.crypto import pkce_challenge

    flow = await _begin(client, idp, admins)
    idp.id_token = lambda: idp.sign(idp.claims(flow["nonce"], "aff-client"))
    r = await client.get("/auth/callback/kent", params={"code": "c", "state": flow["state"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    sent = idp.token_requests[-1]
    assert pkce_challenge(sent["code_verifier"]) == flow["challenge"]
    assert sent["redirect_uri"] == f"{PUBLIC}/auth/callback/kent"


async def test_unknown_kid_refetches_jwks_once(client, admins, idp, db_session) -> None:
    from joserfc.jwk import RSAKey

    flow = await _begin(client, idp, admins)
    fetched = idp.jwks_requests
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"}, private=True)
    idp.published.append(dict(rotated.as_dict(private=False)))
    idp.id_token = lambda: idp.sign(
        idp.claims(flow["nonce"], "aff-client"), header={"alg": "RS256", "kid": "k2"}, key=rotated
    )
    r = await client.get("/auth/callback/kent", params={"code": "c", "state": flow["state"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert idp.jwks_requests == fetched + 1
    # A kid that is still unknown after one refetch is refused (and fetched once more only).
    flow2_start = await client.get("/auth/login/kent", follow_redirects=False)
    q = parse_qs(urlsplit(flow2_start.headers["location"]).query)
    idp.id_token = lambda: idp.sign(idp.claims(q["nonce"][0], "aff-client"), header={"alg": "RS256", "kid": "k9"})
    r = await client.get("/auth/callback/kent", params={"code": "c", "state": q["state"][0]}, follow_redirects=False)
    assert r.status_code == 400 and idp.jwks_requests == fetched + 2


async def test_wrong_iss_parameter_in_authorization_response_is_refused(client, admins, idp, db_session) -> None:
    flow = await _begin(client, idp, admins)
    idp.id_token = lambda: idp.sign(idp.claims(flow["nonce"], "aff-client"))
    r = await client.get(
        "/auth/callback/kent",
        params={"code": "c", "state": flow["state"], "iss": "https://attacker.example"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "different provider" in r.text
    assert idp.token_requests == []  # the code was never sent anywhere


async def test_upstream_outage_fails_closed_with_a_clear_page(client, admins, idp, db_session) -> None:
    flow = await _begin(client, idp, admins)
    idp.down = True
    r = await client.get("/auth/callback/kent", params={"code": "c", "state": flow["state"]}, follow_redirects=False)
    assert r.status_code == 503 and "cannot be reached right now" in r.text
    assert await count(db_session, WebSession) == 0


async def test_missing_code_or_unknown_network_is_a_plain_page(client, admins, idp) -> None:
    flow = await _begin(client, idp, admins)
    r = await client.get("/auth/callback/kent", params={"state": flow["state"]}, follow_redirects=False)
    assert r.status_code == 400 and "missing its code" in r.text
    r = await client.get("/auth/login/nowhere", follow_redirects=False)
    assert r.status_code == 404 and "has not connected a sign-in provider" in r.text
