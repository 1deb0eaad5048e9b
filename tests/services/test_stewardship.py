"""Admins remove a person from a network (their memberships there end) and archive spaces
(read-only, out of the directories, restorable)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import (
    NetworkMember,
    SpaceInvitation,
    SpaceJoinRequest,
    SpaceMember,
)
from tests.factories import (
    add_facilitators,
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_token,
)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict:
    net = await make_network(db_session, slug="kent")
    other = await make_network(db_session, slug="esd")
    admin, fac, leaver = (
        await make_account(db_session),
        await make_account(db_session),
        await make_account(db_session, email="lee@kent.example"),
    )
    await add_member(db_session, net, admin, "admin")
    await add_member(db_session, net, fac)
    await add_member(db_session, net, leaver)
    await add_member(db_session, other, leaver)
    a = await make_space(db_session, net, name="A", join_mode="open", settings={"membership.join_mode": "open"})
    b = await make_space(db_session, net, name="B", join_mode="request")
    c = await make_space(db_session, net, name="C", join_mode="request", settings={"membership.join_mode": "request"})
    banned = await make_space(db_session, net, name="Banned")
    elsewhere = await make_space(db_session, other, name="Elsewhere")
    await add_space_member(db_session, a, leaver)
    await add_facilitators(db_session, b, leaver, fac)
    await add_space_member(db_session, banned, leaver, status="banned")
    await add_space_member(db_session, elsewhere, leaver)
    db_session.add(
        SpaceJoinRequest(id=uuid.uuid4(), space_id=c.id, account_id=leaver.id, kind="request", status="pending")
    )
    db_session.add(
        SpaceInvitation(
            id=uuid.uuid4(),
            space_id=c.id,
            space_name="C",
            network_id=net.id,
            email="LEE@kent.example",
            token_hash=b"x" * 32,
            message="",
            for_new_person=False,
            status="pending",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
        )
    )
    out = {
        "net": net,
        "admin": admin,
        "leaver": leaver,
        "a": a,
        "b": b,
        "c": c,
        "banned": banned,
        "elsewhere": elsewhere,
        "admin_h": bearer(await make_token(db_session, admin)),
        "fac_h": bearer(await make_token(db_session, fac)),
        "leaver_h": bearer(await make_token(db_session, leaver)),
    }
    out["ids"] = {k: v.id for k, v in out.items() if hasattr(v, "id")}
    await db_session.commit()
    return out


async def test_removing_a_person_ends_their_memberships_in_that_network(client, world, db_session) -> None:
    ids = world["ids"]
    r = await client.delete(f"/api/v1/networks/kent/members/{ids['leaver']}", headers=world["admin_h"])
    assert r.status_code == 200, r.text
    assert r.json()["spaces_left"] == sorted([str(ids["a"]), str(ids["b"])])
    assert r.json()["invitations_withdrawn"] == 1
    rows = {
        row[0]: row[1]
        for row in await db_session.execute(
            select(SpaceMember.space_id, SpaceMember.status).where(SpaceMember.account_id == ids["leaver"])
        )
    }
    assert rows == {ids["banned"]: "banned", ids["elsewhere"]: "active"}  # bans stay; other networks untouched
    assert await db_session.scalar(select(SpaceJoinRequest.status)) == "cancelled"
    assert await db_session.scalar(select(SpaceInvitation.status)) == "revoked"
    roles = list(
        await db_session.scalars(select(NetworkMember.network_id).where(NetworkMember.account_id == ids["leaver"]))
    )
    assert roles == [world["elsewhere"].network_id]
    assert (await client.get(f"/api/v1/spaces/{ids['a']}", headers=world["leaver_h"])).status_code == 404
    again = await client.delete(f"/api/v1/networks/kent/members/{ids['leaver']}", headers=world["admin_h"])
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_a_member"


async def test_removal_is_for_admins_and_keeps_an_admin(client, world, db_session) -> None:
    ids = world["ids"]
    r = await client.delete(f"/api/v1/networks/kent/members/{ids['leaver']}", headers=world["fac_h"])
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/networks/kent/members/{ids['admin']}", headers=world["admin_h"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "own_role"
    r = await client.delete(f"/api/v1/networks/kent/members/{uuid.uuid4()}", headers=world["admin_h"])
    assert r.status_code == 404
    r = await client.delete("/api/v1/networks/kent/members/not-a-uuid", headers=world["admin_h"])
    assert r.status_code in {400, 404}
    assert (
        await db_session.scalar(
            select(SpaceMember.status).where(SpaceMember.account_id == ids["leaver"], SpaceMember.space_id == ids["a"])
        )
        == "active"
    )


async def test_an_archived_space_is_read_only_hidden_and_restorable(client, world, db_session) -> None:
    ids = world["ids"]
    url = f"/api/v1/spaces/{ids['a']}"
    assert (await client.put(url + "/archive", headers=world["fac_h"])).status_code == 403
    r = await client.put(url + "/archive", headers=world["admin_h"])
    assert r.status_code == 200 and r.json()["archived"] is True
    # Still readable by its members; every change refused with one clear code.
    assert (await client.get(url, headers=world["leaver_h"])).status_code == 200
    for method, path, body in (
        ("PATCH", "", {"name": "Renamed"}),
        ("POST", "/meetings", {"kind": "virtual", "title": "x", "starts_at": "2031-01-01T10:00:00Z"}),
        ("POST", "/email-invitations", {"email": "new@example.org"}),
        ("PUT", "/public-listing", {}),
    ):
        r = await client.request(method, url + path, json=body, headers=world["admin_h"])
        assert r.status_code == 409 and r.json()["error"]["code"] == "space_archived", (path, r.text)
    names = [
        i["name"] for i in (await client.get("/api/v1/networks/kent/directory", headers=world["fac_h"])).json()["items"]
    ]
    assert "A" not in names and "B" in names
    r = await client.delete(url + "/archive", headers=world["admin_h"])
    assert r.status_code == 200 and r.json()["archived"] is False
    assert (await client.patch(url, json={"name": "Renamed"}, headers=world["admin_h"])).status_code == 200
    again = await client.delete(url + "/archive", headers=world["admin_h"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "space_not_archived"
