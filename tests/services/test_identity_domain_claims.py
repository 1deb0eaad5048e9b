"""E-mail domain claims and linking by e-mail (issue 9 item 1), against a real upstream IdP.

The takeover: a network admin lists an operator's (or another network's) domain on their
network's provider, then signs in through that provider with a verified e-mail of that domain
and lands in the victim's account. Every test here signs in through ``oidc-provider-mock`` (a
real OIDC provider on loopback) over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.identity import EmailLinkRefusal, ExistingAccount, email_link_refusal
from services.persistence.models import Account, AuditEvent, Network
from services.persistence.models.identity import EmailDomainClaim, LinkedIdentity, WebSession
from services.settings import Settings
from tests.factories import add_member, bearer, make_account, make_network, make_token
from tests.services.test_identity_broker import PUBLIC, connect, count, set_mock_user, upstream_sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, public_url=PUBLIC)


@pytest.fixture(scope="module")
def mock_idp() -> Iterator[str]:
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
async def fed(db_session: AsyncSession) -> dict[str, Any]:
    """An operator (op@fed.org); network bnet with its admin; network anet with its admin (ann@anet.example)."""
    bnet = await make_network(db_session, slug="bnet", name="B Network")
    anet = await make_network(db_session, slug="anet", name="A Network")
    operator = await make_account(db_session, operator=True, email="op@fed.org")
    b_admin = await make_account(db_session, email="boss@bnet.example")
    a_admin = await make_account(db_session, email="ann@anet.example")
    await add_member(db_session, bnet, b_admin, "admin")
    await add_member(db_session, anet, a_admin, "admin")
    out = {
        "operator": await make_token(db_session, operator),
        "b_admin": await make_token(db_session, b_admin),
        "a_admin": await make_token(db_session, a_admin),
        "operator_id": operator.id,
        "a_admin_id": a_admin.id,
        "bnet_id": bnet.id,
    }
    await db_session.commit()
    return out


async def _claim_id(db_session: AsyncSession, slug: str, domain: str) -> str:
    await db_session.rollback()
    found = await db_session.scalar(
        select(EmailDomainClaim.id)
        .join(Network, Network.id == EmailDomainClaim.network_id)
        .where(Network.slug == slug, EmailDomainClaim.domain == domain)
    )
    assert found is not None
    return str(found)


async def _decide(client, fed, claim_id: str, decision: str, who: str = "operator"):
    return await client.post(f"/api/v1/email-domain-claims/{claim_id}/{decision}", headers=bearer(fed[who]))


async def _actions(db_session: AsyncSession) -> list[str]:
    await db_session.rollback()
    return list(await db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.occurred_at)))


# --- the takeover, reproduced ------------------------------------------------------------------


async def test_network_admin_cannot_take_over_an_operator_by_claiming_their_domain(
    client, fed, mock_idp, db_session
) -> None:
    claimed = await connect(client, fed["b_admin"], "bnet", mock_idp, ["fed.org"])
    assert claimed.status_code == 200, claimed.text
    await set_mock_user(mock_idp, "evil-1", {"email": "op@fed.org", "email_verified": True})
    _, r = await upstream_sign_in(client, "bnet", "evil-1")
    assert r.status_code == 409 and "already exists" in r.text
    assert await count(db_session, LinkedIdentity) == 0 and await count(db_session, WebSession) == 0
    assert (await client.post("/api/v1/networks", json={"slug": "x", "name": "X", "kind": "school"})).status_code == 401
    assert [(c["domain"], c["status"]) for c in claimed.json()["domain_claims"]] == [("fed.org", "pending")]
    # Even if an operator approved the claim by mistake, an operator account never links by e-mail.
    assert (await _decide(client, fed, await _claim_id(db_session, "bnet", "fed.org"), "approve")).status_code == 200
    _, r = await upstream_sign_in(client, "bnet", "evil-1")
    assert r.status_code == 409
    assert await count(db_session, LinkedIdentity) == 0 and await count(db_session, WebSession) == 0
    refused = await db_session.scalar(
        select(AuditEvent.after)
        .where(AuditEvent.action == "identity.email_link.refused")
        .order_by(AuditEvent.occurred_at.desc())
    )
    assert refused is not None and refused["reason"] == "operator_account"


async def test_an_account_with_a_role_in_another_network_is_never_linked_by_email(
    client, fed, mock_idp, db_session
) -> None:
    await connect(client, fed["b_admin"], "bnet", mock_idp, ["anet.example"])
    claim = await _claim_id(db_session, "bnet", "anet.example")
    assert (await _decide(client, fed, claim, "approve")).status_code == 200
    await set_mock_user(mock_idp, "evil-2", {"email": "ann@anet.example", "email_verified": True})
    _, r = await upstream_sign_in(client, "bnet", "evil-2")
    assert r.status_code == 409 and "only by its owner" in r.text
    assert await count(db_session, LinkedIdentity) == 0 and await count(db_session, WebSession) == 0


async def test_the_owner_signed_in_can_still_connect_the_provider(client, fed, mock_idp, db_session) -> None:
    """What e-mail linking refuses, the account's owner does explicitly while signed in."""
    from services.accounts.passwords import hash_password

    await db_session.execute(
        Account.__table__.update()
        .where(Account.id == fed["a_admin_id"])
        .values(password_hash=hash_password("ann's long password"))
    )
    await db_session.commit()
    await connect(client, fed["b_admin"], "bnet", mock_idp)
    page = await client.get("/auth/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post(
        "/auth/login",
        data={"email": "ann@anet.example", "password": "ann's long password", "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    await set_mock_user(mock_idp, "ann-b", {"email": "ann@anet.example", "email_verified": True})
    start = await client.get("/auth/login/bnet", params={"link": "1"}, follow_redirects=False)
    import httpx

    async with httpx.AsyncClient() as http:
        callback = (await http.post(start.headers["location"], data={"sub": "ann-b"})).headers["location"]
    r = await client.get(callback.removeprefix(PUBLIC), follow_redirects=False)
    assert r.status_code == 303
    linked = await db_session.scalar(select(LinkedIdentity.account_id))
    assert linked == fed["a_admin_id"]


# --- approved claims link; withdrawn ones stop ----------------------------------------------------


async def test_approved_domain_links_a_plain_account_and_everything_is_audited(
    client, fed, mock_idp, db_session
) -> None:
    person = await make_account(db_session, email="pat@bnet.example")
    await db_session.commit()
    await connect(client, fed["b_admin"], "bnet", mock_idp, ["bnet.example"])
    await set_mock_user(mock_idp, "pat-1", {"email": "Pat@bnet.example", "email_verified": True})
    _, r = await upstream_sign_in(client, "bnet", "pat-1")
    assert r.status_code == 409  # pending: links nothing
    claim = await _claim_id(db_session, "bnet", "bnet.example")
    assert (await _decide(client, fed, claim, "approve")).json()["status"] == "approved"
    client.cookies.clear()
    _, r = await upstream_sign_in(client, "bnet", "pat-1")
    assert r.status_code == 303
    assert await db_session.scalar(select(LinkedIdentity.account_id)) == person.id
    actions = await _actions(db_session)
    for action in ("network.email_domain.claim", "email_domain_claim.approve", "identity.link"):
        assert action in actions, actions
    # Withdrawing the domain stops future e-mail linking (a second identity is refused).
    r = await connect(client, fed["b_admin"], "bnet", mock_idp, [])
    assert r.status_code == 200 and r.json()["domain_claims"] == []
    assert "network.email_domain.withdraw" in await _actions(db_session)
    await set_mock_user(mock_idp, "pat-2", {"email": "pat@bnet.example", "email_verified": True})
    client.cookies.clear()
    _, r = await upstream_sign_in(client, "bnet", "pat-2")
    assert r.status_code == 409 and await count(db_session, LinkedIdentity) == 1


async def test_rejecting_an_approved_claim_stops_linking(client, fed, mock_idp, db_session) -> None:
    await make_account(db_session, email="rae@bnet.example")
    await db_session.commit()
    await connect(client, fed["b_admin"], "bnet", mock_idp, ["bnet.example"])
    claim = await _claim_id(db_session, "bnet", "bnet.example")
    await _decide(client, fed, claim, "approve")
    r = await _decide(client, fed, claim, "reject")
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["decided_at"]
    await set_mock_user(mock_idp, "rae-1", {"email": "rae@bnet.example", "email_verified": True})
    _, r = await upstream_sign_in(client, "bnet", "rae-1")
    assert r.status_code == 409 and await count(db_session, LinkedIdentity) == 0
    assert "email_domain_claim.reject" in await _actions(db_session)


# --- one domain, one network --------------------------------------------------------------------


async def test_a_domain_is_approved_for_at_most_one_network(client, fed, mock_idp, db_session) -> None:
    await connect(client, fed["b_admin"], "bnet", mock_idp, ["shared.example"])
    await connect(client, fed["a_admin"], "anet", mock_idp, ["shared.example"])  # both pending: fine
    first = await _claim_id(db_session, "bnet", "shared.example")
    second = await _claim_id(db_session, "anet", "shared.example")
    assert (await _decide(client, fed, first, "approve")).status_code == 200
    r = await _decide(client, fed, second, "approve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_domain_taken"
    # Once approved for bnet, another network can no longer claim it at all.
    await connect(client, fed["a_admin"], "anet", mock_idp, [])
    r = await connect(client, fed["a_admin"], "anet", mock_idp, ["Shared.Example"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_domain_taken"
    await db_session.rollback()
    statuses = set(await db_session.scalars(select(EmailDomainClaim.status)))
    assert statuses == {"approved"}  # the refused PUT wrote nothing


# --- the API: operators decide, admins see their status ----------------------------------------


async def test_operator_lists_claims_and_admin_sees_status(client, fed, mock_idp, db_session) -> None:
    await connect(client, fed["b_admin"], "bnet", mock_idp, ["one.example", "two.example"])
    r = await client.get("/api/v1/email-domain-claims", params={"status": "pending"}, headers=bearer(fed["operator"]))
    assert r.status_code == 200 and {c["domain"] for c in r.json()["items"]} == {"one.example", "two.example"}
    assert {c["network"] for c in r.json()["items"]} == {"bnet"}
    await _decide(client, fed, r.json()["items"][0]["id"], "reject")
    mine = await client.get("/api/v1/networks/bnet/email-domains", headers=bearer(fed["b_admin"]))
    assert mine.status_code == 200
    assert sorted(c["status"] for c in mine.json()["items"]) == ["pending", "rejected"]
    info = await client.get("/api/v1/networks/bnet/identity-provider", headers=bearer(fed["b_admin"]))
    assert sorted(c["status"] for c in info.json()["domain_claims"]) == ["pending", "rejected"]


async def test_admins_cannot_decide_claims_nor_see_other_networks(client, fed, mock_idp, db_session) -> None:
    await connect(client, fed["b_admin"], "bnet", mock_idp, ["fed.org"])
    claim = await _claim_id(db_session, "bnet", "fed.org")
    for who in ("b_admin", "a_admin"):
        r = await _decide(client, fed, claim, "approve", who)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await client.get("/api/v1/email-domain-claims", headers=bearer(fed[who]))
        assert r.status_code == 403
    assert (await client.get("/api/v1/networks/bnet/email-domains", headers=bearer(fed["a_admin"]))).status_code == 403
    await db_session.rollback()
    assert await db_session.scalar(select(EmailDomainClaim.status)) == "pending"


async def test_claim_api_bad_input(client, fed, mock_idp) -> None:
    r = await client.get("/api/v1/email-domain-claims", params={"status": "maybe"}, headers=bearer(fed["operator"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "status"
    r = await _decide(client, fed, "00000000-0000-0000-0000-000000000000", "approve")
    assert r.status_code == 404 and r.json()["error"]["code"] == "email_domain_claim_not_found"
    r = await _decide(client, fed, "not-a-uuid", "approve")
    assert r.status_code in (400, 404)
    r = await connect(client, fed["b_admin"], "bnet", mock_idp, ["not a domain"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_email_domain"


# --- the rule itself, without a database ---------------------------------------------------------


def test_email_link_rule() -> None:
    import uuid

    net, other = uuid.uuid4(), uuid.uuid4()
    plain = ExistingAccount(is_operator=False, network_ids=frozenset({net}))
    ok = {"network_id": net, "email_verified": True, "domain_approved_for_network": True}
    assert email_link_refusal(**ok, account=plain) is None
    assert email_link_refusal(**ok, account=ExistingAccount(is_operator=False, network_ids=frozenset())) is None
    assert email_link_refusal(**{**ok, "email_verified": False}, account=plain) is EmailLinkRefusal.EMAIL_NOT_VERIFIED
    assert (
        email_link_refusal(**{**ok, "domain_approved_for_network": False}, account=plain)
        is EmailLinkRefusal.DOMAIN_NOT_APPROVED
    )
    operator = ExistingAccount(is_operator=True, network_ids=frozenset())
    assert email_link_refusal(**ok, account=operator) is EmailLinkRefusal.OPERATOR_ACCOUNT
    elsewhere = ExistingAccount(is_operator=False, network_ids=frozenset({net, other}))
    assert email_link_refusal(**ok, account=elsewhere) is EmailLinkRefusal.ROLE_IN_ANOTHER_NETWORK


async def test_concurrent_approvals_of_one_domain_approve_exactly_one(
    client, fed, mock_idp, db_session, settings
) -> None:
    """Two operators approving two networks' claims to one domain at the same moment (real server):
    one 200, one 409, never a 500 and never two approvals."""
    import asyncio

    import httpx

    from tests.services.test_identity_login_race import _Server

    await connect(client, fed["b_admin"], "bnet", mock_idp, ["race.example"])
    await connect(client, fed["a_admin"], "anet", mock_idp, ["race.example"])
    claims = [await _claim_id(db_session, slug, "race.example") for slug in ("bnet", "anet")]
    with _Server(settings) as base:
        async with httpx.AsyncClient(base_url=base, headers=bearer(fed["operator"])) as http:
            responses = await asyncio.gather(*(http.post(f"/api/v1/email-domain-claims/{c}/approve") for c in claims))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    await db_session.rollback()
    approved = list(await db_session.scalars(select(EmailDomainClaim).where(EmailDomainClaim.status == "approved")))
    assert len(approved) == 1
