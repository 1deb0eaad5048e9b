"""Networks endpoints: the allowed role, the refused roles, and bad input (nothing written)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import AuditEvent, Network, NetworkMember
from tests.factories import add_member, bearer, make_account, make_network, make_token


@pytest.fixture
async def people(db_session: AsyncSession) -> dict[str, str]:
    """Tokens for an operator, a network admin, a member and an outsider, plus ids."""
    operator = await make_account(db_session, operator=True)
    admin = await make_account(db_session)
    member = await make_account(db_session)
    outsider = await make_account(db_session)
    network = await make_network(db_session, slug="kent-sd", name="Kent School District")
    await add_member(db_session, network, admin, "admin")
    await add_member(db_session, network, member, "member")
    tokens = {
        "operator": await make_token(db_session, operator),
        "admin": await make_token(db_session, admin),
        "member": await make_token(db_session, member),
        "outsider": await make_token(db_session, outsider),
        "admin_id": str(admin.id),
        "member_id": str(member.id),
        "outsider_id": str(outsider.id),
        "read_only": await make_token(db_session, operator, scopes=["read"]),
    }
    await db_session.commit()
    return tokens


async def _count(db_session: AsyncSession, model: type) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


async def test_operator_creates_network_and_it_is_audited(client, people, db_session) -> None:
    body = {"slug": "alas", "name": "ALAS", "kind": "association"}
    r = await client.post("/api/v1/networks", json=body, headers=bearer(people["operator"]))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["slug"] == "alas" and created["kind"] == "association"
    uuid.UUID(created["id"])
    event = await db_session.scalar(select(AuditEvent).where(AuditEvent.action == "network.create"))
    assert event is not None and event.after == {"slug": "alas", "name": "ALAS", "kind": "association"}
    assert event.request_id  # ties the audit line to the access log
    r = await client.get("/api/v1/networks/alas", headers=bearer(people["member"]))
    assert r.status_code == 200 and r.json()["name"] == "ALAS"


@pytest.mark.parametrize("who", ["admin", "member", "outsider"])
async def test_non_operators_cannot_create_networks(client, people, db_session, who) -> None:
    before = await _count(db_session, Network)
    r = await client.post(
        "/api/v1/networks", json={"slug": "x-net", "name": "X", "kind": "school"}, headers=bearer(people[who])
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert await _count(db_session, Network) == before


async def test_anonymous_and_bad_tokens_get_401(client, people) -> None:
    r = await client.get("/api/v1/networks")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.get("/api/v1/networks", headers=bearer("aff_not-a-real-token"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    r = await client.get("/api/v1/networks", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert r.status_code == 401 and r.json()["error"]["code"] == "malformed_authorization"


async def test_read_only_token_cannot_write(client, people, db_session) -> None:
    r = await client.get("/api/v1/networks", headers=bearer(people["read_only"]))
    assert r.status_code == 200
    r = await client.post(
        "/api/v1/networks", json={"slug": "ro-net", "name": "X", "kind": "school"}, headers=bearer(people["read_only"])
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    assert await db_session.scalar(select(Network).where(Network.slug == "ro-net")) is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"slug": "Kent SD", "name": "K", "kind": "district"}, 422, "invalid_slug"),
        ({"slug": "a", "name": "K", "kind": "district"}, 422, "invalid_slug"),
        ({"slug": "api", "name": "K", "kind": "district"}, 422, "invalid_slug"),
        ({"slug": "ok-slug", "name": "K", "kind": "galaxy"}, 422, "validation_error"),
        ({"slug": "ok-slug", "name": "K"}, 422, "validation_error"),
        ({"slug": "ok-slug", "name": "K", "kind": "district", "admin": True}, 422, "validation_error"),
        ({"slug": "ok-slug", "name": "x" * 201, "kind": "district"}, 422, "validation_error"),
        ({"slug": "ok-slug", "name": 7, "kind": "district"}, 422, "validation_error"),
        ({"slug": "ok-slug", "name": "   ", "kind": "district"}, 422, "validation_error"),
        ({"slug": "kent-sd", "name": "Dup", "kind": "district"}, 409, "slug_taken"),
    ],
)
async def test_bad_network_input_is_refused_and_writes_nothing(client, people, db_session, body, status, code) -> None:
    before = await _count(db_session, Network)
    r = await client.post("/api/v1/networks", json=body, headers=bearer(people["operator"]))
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert len(error["message"]) > 10
    assert await _count(db_session, Network) == before
    assert await _count(db_session, AuditEvent) == 0


async def test_malformed_json_is_400(client, people) -> None:
    r = await client.post(
        "/api/v1/networks",
        content=b'{"slug": ',
        headers={**bearer(people["operator"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"


async def test_unknown_route_and_wrong_method_use_the_envelope(client) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code in {401, 404}
    assert "error" in r.json()
    r = await client.get("/no/such/page")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.delete("/health")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_admin_sets_member_roles(client, people, db_session) -> None:
    url = f"/api/v1/networks/kent-sd/members/{people['outsider_id']}"
    r = await client.put(url, json={"role": "facilitator"}, headers=bearer(people["admin"]))
    assert r.status_code == 201 and r.json()["role"] == "facilitator"
    r = await client.put(url, json={"role": "member"}, headers=bearer(people["admin"]))
    assert r.status_code == 200 and r.json()["created"] is False
    roles = {str(m.account_id): m.role for m in await db_session.scalars(select(NetworkMember))}
    assert roles[people["outsider_id"]] == "member"
    actions = [e.action for e in await db_session.scalars(select(AuditEvent).order_by(AuditEvent.occurred_at))]
    assert actions.count("network.member.set_role") == 2


@pytest.mark.parametrize("who", ["member", "outsider"])
async def test_non_admins_cannot_set_roles(client, people, db_session, who) -> None:
    url = f"/api/v1/networks/kent-sd/members/{people['outsider_id']}"
    r = await client.put(url, json={"role": "admin"}, headers=bearer(people[who]))
    assert r.status_code == 403
    assert (
        await db_session.scalar(
            select(NetworkMember).where(NetworkMember.account_id == uuid.UUID(people["outsider_id"]))
        )
        is None
    )


async def test_set_role_bad_input(client, people) -> None:
    h = bearer(people["admin"])
    r = await client.put(f"/api/v1/networks/kent-sd/members/{people['outsider_id']}", json={"role": "king"}, headers=h)
    assert r.status_code == 422
    r = await client.put(f"/api/v1/networks/kent-sd/members/{uuid.uuid4()}", json={"role": "member"}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "account_not_found"
    r = await client.put("/api/v1/networks/kent-sd/members/not-a-uuid", json={"role": "member"}, headers=h)
    assert r.status_code in {400, 404, 422}
    r = await client.put(f"/api/v1/networks/nope/members/{people['outsider_id']}", json={"role": "member"}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "network_not_found"
    r = await client.put(f"/api/v1/networks/kent-sd/members/{people['admin_id']}", json={"role": "member"}, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "own_role"


async def test_me_lists_networks_with_roles(client, people) -> None:
    r = await client.get("/api/v1/me", headers=bearer(people["admin"]))
    assert r.status_code == 200
    me = r.json()
    assert me["id"] == people["admin_id"]
    assert [(n["slug"], n["role"]) for n in me["networks"]] == [("kent-sd", "admin")]


async def test_list_networks_marks_my_role(client, people, db_session) -> None:
    await make_network(db_session, slug="westwood-sd", name="Westwood")
    await db_session.commit()
    r = await client.get("/api/v1/networks", headers=bearer(people["member"]))
    items = {n["slug"]: n["my_role"] for n in r.json()["items"]}
    assert items == {"kent-sd": "member", "westwood-sd": None}


async def test_roster_for_admins_and_facilitators_only(client, people, db_session) -> None:
    r = await client.get("/api/v1/networks/kent-sd/members", headers=bearer(people["admin"]))
    assert r.status_code == 200
    roles = {e["account_id"]: e["role"] for e in r.json()["items"]}
    assert roles == {people["admin_id"]: "admin", people["member_id"]: "member"}
    for who in ("member", "outsider"):
        r = await client.get("/api/v1/networks/kent-sd/members", headers=bearer(people[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await client.get("/api/v1/networks/kent-sd/members")
    assert r.status_code == 401
    r = await client.get("/api/v1/networks/nope/members", headers=bearer(people["admin"]))
    assert r.status_code == 404


async def test_admin_adds_an_existing_account_by_email(client, people, db_session) -> None:
    newcomer = await make_account(db_session, email="New.Person@Kent.example")
    await db_session.commit()
    h = bearer(people["admin"])
    r = await client.post("/api/v1/networks/kent-sd/members", json={"email": "new.person@kent.example"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["account_id"] == str(newcomer.id) and r.json()["role"] == "member"
    r = await client.post("/api/v1/networks/kent-sd/members", json={"email": "new.person@kent.example"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_member"
    r = await client.post("/api/v1/networks/kent-sd/members", json={"email": "nobody@kent.example"}, headers=h)
    assert r.status_code == 404 and "sign in once" in r.json()["error"]["message"]
    r = await client.post("/api/v1/networks/kent-sd/members", json={"email": "x@y.org", "role": "king"}, headers=h)
    assert r.status_code == 422


@pytest.mark.parametrize("who", ["member", "outsider"])
async def test_non_admins_cannot_add_people(client, people, db_session, who) -> None:
    target = await make_account(db_session, email=f"target-{who}@kent.example")
    await db_session.commit()
    r = await client.post("/api/v1/networks/kent-sd/members", json={"email": target.email}, headers=bearer(people[who]))
    assert r.status_code == 403
    assert await db_session.scalar(select(NetworkMember).where(NetworkMember.account_id == target.id)) is None
