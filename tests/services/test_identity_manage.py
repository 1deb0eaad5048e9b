"""Managing sign-in: a network's provider (read, disconnect), its OIDC clients (list, revoke, new
secret) and a member's linked identities (list, unlink). Each: allowed role, refused roles,
bad input, and nothing written on refusal."""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.identity import crypto
from services.persistence.models import AuditEvent
from services.persistence.models.identity import (
    EmailDomainClaim,
    LinkedIdentity,
    OidcClient,
    OidcToken,
    PendingLogin,
    UpstreamProvider,
)
from services.settings import Settings
from tests.factories import add_member, bearer, make_account, make_network, make_token
from tests.services.test_identity_provider import authorize, browser_signed_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

PUBLIC = "http://testserver.local"
REDIRECT = "https://lms.kent.example/cb"
ISSUER = "https://idp.kent.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, public_url=PUBLIC)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict[str, Any]:
    """Network kent with an admin, a member and a connected provider; network esd with its admin."""
    kent = await make_network(db_session, slug="kent", name="Kent School District")
    esd = await make_network(db_session, slug="esd", name="Puget Sound ESD", kind="esd")
    admin, member, esd_admin, operator = [await make_account(db_session) for _ in range(3)] + [
        await make_account(db_session, operator=True)
    ]
    await add_member(db_session, kent, admin, "admin")
    await add_member(db_session, kent, member, "member")
    await add_member(db_session, esd, esd_admin, "admin")
    db_session.add(
        UpstreamProvider(
            id=uuid.uuid4(),
            network_id=kent.id,
            issuer=ISSUER,
            client_id="affinity-at-kent",
            client_secret_enc=crypto.seal("test-secret-" + "x" * 40, "upstream-s3cret", "upstream-client-secret"),
            authorization_endpoint=ISSUER + "/authorize",
            token_endpoint=ISSUER + "/token",
            jwks_uri=ISSUER + "/jwks",
            id_token_algs=["RS256"],
            jwks={"keys": []},
        )
    )
    db_session.add(EmailDomainClaim(id=uuid.uuid4(), network_id=kent.id, domain="kent.example", status="approved"))
    out: dict[str, Any] = {
        "admin": await make_token(db_session, admin),
        "member": await make_token(db_session, member),
        "esd_admin": await make_token(db_session, esd_admin),
        "operator": await make_token(db_session, operator),
        "member_account": member,
        "member_id": member.id,
        "kent_id": kent.id,
    }
    await db_session.commit()
    return out


async def fingerprint(db_session: AsyncSession) -> dict[str, str]:
    await db_session.rollback()
    out = {}
    for table in ("upstream_providers", "oidc_clients", "oidc_tokens", "linked_identities", "audit_events"):
        row = (
            await db_session.execute(
                text(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")
            )
        ).one()
        out[table] = f"{row[0]}:{row[1]}"
    return out


async def _audit(db_session: AsyncSession, action: str) -> int:
    await db_session.rollback()
    return int(await db_session.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


# --- the network's provider -------------------------------------------------------------------


async def test_admin_reads_the_provider_without_its_secret(client, world, db_session) -> None:
    for who in ("admin", "operator"):
        r = await client.get("/api/v1/networks/kent/identity-provider", headers=bearer(world[who]))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["issuer"] == ISSUER and body["client_id"] == "affinity-at-kent"
        assert body["email_domains"] == ["kent.example"] and body["connected_at"]
        assert body["redirect_uri"] == f"{PUBLIC}/auth/callback/kent"
        assert "secret" not in r.text and "upstream-s3cret" not in r.text


async def test_reading_the_provider_refused_roles_and_bad_input(client, world) -> None:
    for who in ("member", "esd_admin"):
        r = await client.get("/api/v1/networks/kent/identity-provider", headers=bearer(world[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    assert (await client.get("/api/v1/networks/kent/identity-provider")).status_code == 401
    r = await client.get("/api/v1/networks/esd/identity-provider", headers=bearer(world["esd_admin"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "identity_provider_not_found"
    assert "PUT /api/v1/networks/esd/identity-provider" in r.json()["error"]["message"]
    r = await client.get("/api/v1/networks/nope/identity-provider", headers=bearer(world["admin"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "network_not_found"
    r = await client.get("/api/v1/networks/" + "x" * 81 + "/identity-provider", headers=bearer(world["admin"]))
    assert r.status_code in (400, 422) and r.json()["error"]["code"]


async def test_disconnect_stops_sign_in_but_keeps_linked_identities(client, world, db_session) -> None:
    member_id = world["member_id"]
    db_session.add(
        LinkedIdentity(
            id=uuid.uuid4(), account_id=member_id, issuer=ISSUER, subject="maya", network_id=world["kent_id"]
        )
    )
    await db_session.commit()
    start = await client.get("/auth/login/kent", follow_redirects=False)  # a sign-in in flight
    assert start.status_code == 302 and start.headers["location"].startswith(ISSUER + "/authorize?")
    state = dict(x.split("=", 1) for x in start.headers["location"].split("?", 1)[1].split("&"))["state"]
    assert await db_session.scalar(select(func.count()).select_from(PendingLogin)) == 1

    r = await client.delete("/api/v1/networks/kent/identity-provider", headers=bearer(world["admin"]))
    assert r.status_code == 204, r.text

    await db_session.rollback()
    assert await db_session.scalar(select(func.count()).select_from(UpstreamProvider)) == 0
    assert await db_session.scalar(select(func.count()).select_from(PendingLogin)) == 0
    linked = await db_session.scalar(select(LinkedIdentity))
    assert linked is not None and linked.account_id == member_id  # members keep their accounts
    assert await _audit(db_session, "network.identity_provider.delete") == 1
    # Sign-in through it stops: no choice on the page, starting refuses, the in-flight callback refuses.
    assert "/auth/login/kent" not in (await client.get("/auth/login")).text
    r = await client.get("/auth/login/kent", follow_redirects=False)
    assert r.status_code == 404 and "not connected a sign-in provider" in r.text
    r = await client.get(f"/auth/callback/kent?state={state}&code=abc", follow_redirects=False)
    assert r.status_code == 404 and "affinity_session" not in r.headers.get("set-cookie", "")
    # Disconnecting again: there is nothing to disconnect.
    r = await client.delete("/api/v1/networks/kent/identity-provider", headers=bearer(world["admin"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "identity_provider_not_found"


async def test_disconnect_refused_roles_write_nothing(client, world, db_session) -> None:
    before = await fingerprint(db_session)
    for who in ("member", "esd_admin"):
        r = await client.delete("/api/v1/networks/kent/identity-provider", headers=bearer(world[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.delete("/api/v1/networks/kent/identity-provider")).status_code == 401
    r = await client.delete("/api/v1/networks/nope/identity-provider", headers=bearer(world["admin"]))
    assert r.status_code == 404
    assert await fingerprint(db_session) == before


# --- the network's clients --------------------------------------------------------------------


@pytest.fixture
async def tool(client, world) -> dict[str, str]:
    r = await client.post(
        "/api/v1/networks/kent/clients",
        json={"name": "Kent LMS", "redirect_uris": [REDIRECT]},
        headers=bearer(world["admin"]),
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def signed_in_tool(client, world, tool, db_session, settings) -> AsyncIterator[tuple[AsyncOAuth2Client, Any]]:
    """The member signed in to the tool through our provider: (authlib client, its token)."""
    oauth = AsyncOAuth2Client(
        client_id=tool["client_id"],
        client_secret=tool["client_secret"],
        scope="openid email read",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        transport=client._transport,
        base_url=PUBLIC,
    )
    await browser_signed_in(client, db_session, settings, world["member_account"])
    callback, verifier, _ = await authorize(client, oauth)
    token = await oauth.fetch_token(f"{PUBLIC}/oidc/token", authorization_response=callback, code_verifier=verifier)
    client.cookies.clear()
    yield oauth, token


async def _refresh(oauth: AsyncOAuth2Client, refresh_token: str, secret: str | None = None) -> Any:
    return await oauth.post(
        f"{PUBLIC}/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(oauth.client_id, secret or oauth.client_secret),
    )


async def test_admin_lists_clients_without_secrets(client, world, tool) -> None:
    r = await client.get("/api/v1/networks/kent/clients", headers=bearer(world["admin"]))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["client_id"] == tool["client_id"] and item["name"] == "Kent LMS" and item["revoked_at"] is None
    assert item["redirect_uris"] == [REDIRECT]
    assert tool["client_secret"] not in r.text and "secret" not in r.text
    r = await client.get("/api/v1/networks/esd/clients", headers=bearer(world["esd_admin"]))
    assert r.status_code == 200 and r.json()["items"] == []  # another network's clients are not listed


async def test_listing_clients_refused_roles(client, world, tool) -> None:
    for who in ("member", "esd_admin"):
        r = await client.get("/api/v1/networks/kent/clients", headers=bearer(world[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/v1/networks/kent/clients")).status_code == 401
    r = await client.get("/api/v1/networks/nope/clients", headers=bearer(world["admin"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "network_not_found"


async def test_revoking_a_client_stops_its_tokens_at_once(client, world, tool, signed_in_tool, db_session) -> None:
    oauth, token = signed_in_tool
    assert (await client.get("/api/v1/me", headers=bearer(token["access_token"]))).status_code == 200

    r = await client.delete(f"/api/v1/networks/kent/clients/{tool['client_id']}", headers=bearer(world["admin"]))
    assert r.status_code == 204, r.text

    assert (await client.get("/api/v1/me", headers=bearer(token["access_token"]))).status_code == 401
    assert (await client.get("/oidc/userinfo", headers=bearer(token["access_token"]))).status_code == 401
    r = await _refresh(oauth, token["refresh_token"])
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    await db_session.rollback()
    tokens = (await db_session.scalars(select(OidcToken))).all()
    assert tokens and all(t.revoked_at is not None for t in tokens)
    row = await db_session.scalar(select(OidcClient))
    assert row is not None and row.revoked_at is not None
    # The authorization endpoint no longer knows it.
    r = await client.get(f"/oidc/authorize?client_id={tool['client_id']}&redirect_uri={REDIRECT}")
    assert r.status_code == 400
    listed = (await client.get("/api/v1/networks/kent/clients", headers=bearer(world["admin"]))).json()["items"]
    assert listed[0]["revoked_at"] is not None
    # Revoking again changes nothing (no second audit event).
    r = await client.delete(f"/api/v1/networks/kent/clients/{tool['client_id']}", headers=bearer(world["admin"]))
    assert r.status_code == 204
    assert await _audit(db_session, "network.client.revoke") == 1


async def test_revoking_a_client_refused_roles_and_bad_input(client, world, tool, signed_in_tool, db_session) -> None:
    _, token = signed_in_tool
    before = await fingerprint(db_session)
    url = f"/api/v1/networks/kent/clients/{tool['client_id']}"
    for who in ("member", "esd_admin"):
        r = await client.delete(url, headers=bearer(world[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.delete(url)).status_code == 401
    # Through another network (its admin) the client does not exist.
    r = await client.delete(f"/api/v1/networks/esd/clients/{tool['client_id']}", headers=bearer(world["esd_admin"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "client_not_found"
    r = await client.delete("/api/v1/networks/kent/clients/afc_nope", headers=bearer(world["admin"]))
    assert r.status_code == 404 and "GET /api/v1/networks/kent/clients" in r.json()["error"]["message"]
    r = await client.delete("/api/v1/networks/kent/clients/" + "a" * 81, headers=bearer(world["admin"]))
    assert r.status_code in (400, 422) and r.json()["error"]["code"]
    assert await fingerprint(db_session) == before
    assert (await client.get("/api/v1/me", headers=bearer(token["access_token"]))).status_code == 200


async def test_rotating_a_secret_shows_it_once_and_the_old_one_stops(
    client, world, tool, signed_in_tool, db_session
) -> None:
    oauth, token = signed_in_tool
    r = await client.post(f"/api/v1/networks/kent/clients/{tool['client_id']}/secret", headers=bearer(world["admin"]))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    new_secret = r.json()["client_secret"]
    assert new_secret.startswith("afs_") and new_secret != tool["client_secret"]
    await db_session.rollback()
    row = await db_session.scalar(select(OidcClient))
    assert row is not None and row.secret_hash == crypto.digest(new_secret)
    # The old secret no longer authenticates the client; the new one does.
    r = await _refresh(oauth, token["refresh_token"], tool["client_secret"])
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await _refresh(oauth, token["refresh_token"], new_secret)
    assert r.status_code == 200, r.text
    assert new_secret not in (await client.get("/api/v1/networks/kent/clients", headers=bearer(world["admin"]))).text
    assert await _audit(db_session, "network.client.rotate_secret") == 1


async def test_rotating_a_secret_refused_roles_and_bad_input(client, world, tool, db_session) -> None:
    url = f"/api/v1/networks/kent/clients/{tool['client_id']}/secret"
    before = await fingerprint(db_session)
    for who in ("member", "esd_admin"):
        r = await client.post(url, headers=bearer(world[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.post(url)).status_code == 401
    r = await client.post("/api/v1/networks/kent/clients/afc_nope/secret", headers=bearer(world["admin"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "client_not_found"
    assert await fingerprint(db_session) == before
    # A revoked client gets no new secret.
    await client.delete(f"/api/v1/networks/kent/clients/{tool['client_id']}", headers=bearer(world["admin"]))
    before = await fingerprint(db_session)
    r = await client.post(url, headers=bearer(world["admin"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "client_revoked"
    assert await fingerprint(db_session) == before


# --- a member's linked identities -------------------------------------------------------------


async def _link(db_session: AsyncSession, account_id: uuid.UUID, subject: str, network_id: Any = None) -> uuid.UUID:
    row = LinkedIdentity(
        id=uuid.uuid4(),
        account_id=account_id,
        issuer=ISSUER,
        subject=subject,
        network_id=network_id,
        email=f"{subject}@kent.example",
        last_used_at=dt.datetime.now(dt.UTC),
    )
    db_session.add(row)
    await db_session.commit()
    return row.id


async def test_member_lists_and_unlinks_identities(client, world, db_session) -> None:
    member_id = world["member_id"]
    first = await _link(db_session, member_id, "maya", world["kent_id"])
    second = await _link(db_session, member_id, "maya-2")
    r = await client.get("/api/v1/me/identities", headers=bearer(world["member"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["has_password"] is False
    assert [(i["id"], i["network"]) for i in body["items"]] == [(str(first), "kent"), (str(second), None)]
    # Another identity is left: unlinking is allowed.
    r = await client.delete(f"/api/v1/me/identities/{first}", headers=bearer(world["member"]))
    assert r.status_code == 204, r.text
    assert await _audit(db_session, "account.identity.unlink") == 1
    # The last one, with no password: refused, nothing written.
    before = await fingerprint(db_session)
    r = await client.delete(f"/api/v1/me/identities/{second}", headers=bearer(world["member"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_sign_in_method", r.text
    assert "Connect another provider" in r.json()["error"]["message"]
    assert await fingerprint(db_session) == before
    # With a password, the last identity may go.
    await db_session.execute(
        text("UPDATE accounts SET password_hash = :h WHERE id = :id"),
        {"h": hash_password("pw-123456"), "id": member_id},
    )
    await db_session.commit()
    assert (await client.get("/api/v1/me/identities", headers=bearer(world["member"]))).json()["has_password"] is True
    r = await client.delete(f"/api/v1/me/identities/{second}", headers=bearer(world["member"]))
    assert r.status_code == 204
    assert (await client.get("/api/v1/me/identities", headers=bearer(world["member"]))).json()["items"] == []


async def test_unlinking_someone_elses_identity_or_bad_input_is_refused(client, world, db_session) -> None:
    theirs = await _link(db_session, world["member_id"], "maya")
    await _link(db_session, world["member_id"], "maya-2")
    before = await fingerprint(db_session)
    for who in ("admin", "operator", "esd_admin"):  # nobody else can unlink it, not even an operator
        r = await client.delete(f"/api/v1/me/identities/{theirs}", headers=bearer(world[who]))
        assert r.status_code == 404 and r.json()["error"]["code"] == "identity_not_found", r.text
        listed = (await client.get("/api/v1/me/identities", headers=bearer(world[who]))).json()["items"]
        assert listed == []
    assert (await client.delete(f"/api/v1/me/identities/{theirs}")).status_code == 401
    assert (await client.get("/api/v1/me/identities")).status_code == 401
    r = await client.delete("/api/v1/me/identities/not-a-uuid", headers=bearer(world["member"]))
    assert r.status_code in (400, 404) and r.json()["error"]["code"]
    r = await client.delete(f"/api/v1/me/identities/{uuid.uuid4()}", headers=bearer(world["member"]))
    assert r.status_code == 404
    assert await fingerprint(db_session) == before
