"""Membership through the API: join modes, requests, invitations, facilitator minimum,
cascading removal and bans, privacy of member lists, concurrency of the invariants."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import AuditEvent, SpaceMember
from tests.factories import (
    add_facilitators,
    add_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict[str, str]:
    """A district with a template requiring two facilitators, an identity space with a sub-space."""
    network = await make_network(db_session, slug="kent-sd")
    out: dict[str, str] = {}
    accounts = {}
    for who, role in [
        ("admin", "admin"),
        ("f1", "member"),
        ("f2", "member"),
        ("m1", "member"),
        ("m2", "member"),
        ("m3", "member"),
        ("outsider", None),
    ]:
        a = await make_account(db_session)
        if role:
            await add_member(db_session, network, a, role)
        accounts[who] = a
        out[who] = await make_token(db_session, a)
        out[f"{who}_id"] = str(a.id)
    await make_template(
        db_session, network, {"facilitators.min_count": {"min": 2}}, name="Two facilitators", attach_to=network
    )
    top = await make_space(
        db_session,
        network,
        name="BIPOC leaders",
        join_mode="open",
        settings={"membership.join_mode": "open", "facilitators.min_count": 2},
    )
    sub = await make_space(
        db_session,
        network,
        name="BIPOC new principals",
        parent=top,
        join_mode="parent_members",
        settings={"membership.join_mode": "parent_members", "facilitators.min_count": 2},
    )
    req = await make_space(
        db_session,
        network,
        name="White-bodied affinity",
        join_mode="request",
        visibility="listed",
        settings={"membership.join_mode": "request", "membership.max_members": 3},
    )
    hidden = await make_space(
        db_session,
        network,
        name="Unlisted circle",
        join_mode="invite",
        visibility="unlisted",
        settings={"membership.join_mode": "invite"},
    )
    for s in (top, sub, req, hidden):
        await add_facilitators(db_session, s, accounts["f1"], accounts["f2"])
    out.update(top=str(top.id), sub=str(sub.id), req=str(req.id), hidden=str(hidden.id))
    await db_session.commit()
    return out


async def test_join_modes(client, world, db_session) -> None:
    h = bearer(world["m1"])
    r = await client.post(f"/api/v1/spaces/{world['sub']}/join", headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "parent_membership_required"
    r = await client.post(f"/api/v1/spaces/{world['top']}/join", headers=h)
    assert r.status_code == 200 and r.json()["outcome"] == "joined"
    r = await client.post(f"/api/v1/spaces/{world['sub']}/join", headers=h)
    assert r.status_code == 200 and r.json()["outcome"] == "joined"
    r = await client.post(f"/api/v1/spaces/{world['top']}/join", headers=h)
    assert r.json()["outcome"] == "already_member"
    # Unlisted invite-only space: invisible (404) to non-members, same answer as a missing space.
    r1 = await client.post(f"/api/v1/spaces/{world['hidden']}/join", headers=h)
    r2 = await client.post(f"/api/v1/spaces/{uuid.uuid4()}/join", headers=h)
    assert r1.status_code == r2.status_code == 404 and r1.json() == r2.json() | {"error": r1.json()["error"]}
    assert r1.json()["error"]["code"] == r2.json()["error"]["code"] == "space_not_found"
    # Outsiders cannot join.
    r = await client.post(f"/api/v1/spaces/{world['top']}/join", headers=bearer(world["outsider"]))
    assert r.status_code == 404
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert {(s["name"], s["role"]) for s in me["spaces"]} == {
        ("BIPOC leaders", "member"),
        ("BIPOC new principals", "member"),
    }


async def test_requests_invitations_and_capacity(client, world, db_session) -> None:
    r = await client.post(f"/api/v1/spaces/{world['req']}/join", json={"message": "hi"}, headers=bearer(world["m1"]))
    assert r.status_code == 200 and r.json()["outcome"] == "requested"
    rid = r.json()["request"]["id"]
    # The requester sees the state; another member does not (404).
    r = await client.get(f"/api/v1/spaces/{world['req']}/requests/{rid}", headers=bearer(world["m1"]))
    assert r.json()["status"] == "pending"
    r = await client.get(f"/api/v1/spaces/{world['req']}/requests/{rid}", headers=bearer(world["m2"]))
    assert r.status_code == 404
    r = await client.post(f"/api/v1/spaces/{world['req']}/join", headers=bearer(world["m2"]))
    rid2 = r.json()["request"]["id"]
    # The requester cannot approve their own request, another member cannot even see it;
    # facilitators approve, within the cap of 3.
    r = await client.post(f"/api/v1/spaces/{world['req']}/requests/{rid}/approve", headers=bearer(world["m1"]))
    assert r.status_code == 403
    r = await client.post(f"/api/v1/spaces/{world['req']}/requests/{rid}/approve", headers=bearer(world["m3"]))
    assert r.status_code == 404
    r = await client.post(f"/api/v1/spaces/{world['req']}/requests/{rid}/approve", headers=bearer(world["f1"]))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await client.post(f"/api/v1/spaces/{world['req']}/requests/{rid2}/approve", headers=bearer(world["f1"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "space_full"
    r = await client.get(f"/api/v1/spaces/{world['req']}/requests/{rid}", headers=bearer(world["m1"]))
    assert r.json()["status"] == "approved"
    # Full now: a new request is refused; the facilitator declines the pending one.
    r = await client.post(f"/api/v1/spaces/{world['req']}/join", headers=bearer(world["m3"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "space_full"
    r = await client.post(f"/api/v1/spaces/{world['req']}/requests/{rid2}/decline", headers=bearer(world["f1"]))
    assert r.status_code == 200 and r.json()["status"] == "declined"
    # Invitation into the unlisted space: the invitee can now see and join it.
    r = await client.post(
        f"/api/v1/spaces/{world['hidden']}/invitations",
        json={"account_id": world["m3_id"]},
        headers=bearer(world["m1"]),
    )
    assert r.status_code == 404  # m1 cannot see it at all
    r = await client.post(
        f"/api/v1/spaces/{world['hidden']}/invitations",
        json={"account_id": world["m3_id"]},
        headers=bearer(world["f1"]),
    )
    assert r.status_code == 201, r.text
    assert (await client.get(f"/api/v1/spaces/{world['hidden']}", headers=bearer(world["m3"]))).status_code == 200
    r = await client.post(f"/api/v1/spaces/{world['hidden']}/join", headers=bearer(world["m3"]))
    assert r.json()["outcome"] == "joined"
    r = await client.post(
        f"/api/v1/spaces/{world['hidden']}/invitations", json={"account_id": "nope"}, headers=bearer(world["f1"])
    )
    assert r.status_code in {400, 422}
    actions = set(await db_session.scalars(select(AuditEvent.action)))
    assert {"space.member.request", "space.request.approved", "space.member.invite", "space.member.join"} <= actions


async def test_member_list_privacy(client, world) -> None:
    await client.post(f"/api/v1/spaces/{world['top']}/join", headers=bearer(world["m1"]))
    r = await client.get(f"/api/v1/spaces/{world['top']}/members", headers=bearer(world["m1"]))
    assert r.status_code == 200 and len(r.json()["items"]) == 3
    for who in ("m2", "admin"):
        r = await client.get(f"/api/v1/spaces/{world['top']}/members", headers=bearer(world[who]))
        assert r.status_code == 404 and r.json()["error"]["code"] == "space_not_found"  # as if it did not exist
        space = (await client.get(f"/api/v1/spaces/{world['top']}", headers=bearer(world[who]))).json()
        assert space["member_count"] is None  # no counts for non-members either
    r = await client.get(f"/api/v1/spaces/{world['hidden']}/members", headers=bearer(world["m2"]))
    assert r.status_code == 404
    # The directory lists listed spaces only, without member information.
    r = await client.get("/api/v1/networks/kent-sd/spaces", headers=bearer(world["m2"]))
    names = [i["name"] for i in r.json()["items"]]
    assert "Unlisted circle" not in names and "BIPOC leaders" in names
    assert all("member_count" not in i for i in r.json()["items"])
    r = await client.get("/api/v1/networks/kent-sd/spaces", headers=bearer(world["outsider"]))
    assert r.status_code == 403
    # The hierarchy hides unlisted spaces from non-members.
    r = await client.get(f"/api/v1/spaces/{world['top']}/hierarchy", headers=bearer(world["m2"]))
    assert [i["name"] for i in r.json()["items"]] == ["BIPOC leaders", "BIPOC new principals"]


async def test_facilitator_minimum(client, world, db_session) -> None:
    url = f"/api/v1/spaces/{world['top']}/facilitators/{world['f2_id']}"
    r = await client.delete(url, headers=bearer(world["f1"]))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "policy_violation" and "Two facilitators" in err["message"]
    r = await client.put(
        f"/api/v1/spaces/{world['top']}/facilitators/{world['m1_id']}",
        json={"trained": True},
        headers=bearer(world["f1"]),
    )
    assert r.status_code == 201 and r.json()["trained"] is True
    r = await client.put(
        f"/api/v1/spaces/{world['top']}/facilitators/{world['outsider_id']}", headers=bearer(world["f1"])
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "facilitator_not_in_network"
    r = await client.put(f"/api/v1/spaces/{world['top']}/facilitators/{world['m2_id']}", headers=bearer(world["m2"]))
    assert r.status_code == 403
    r = await client.delete(url, headers=bearer(world["f1"]))
    assert r.status_code == 204
    r = await client.delete(url, headers=bearer(world["f1"]))
    assert r.status_code == 404


async def test_facilitator_minimum_holds_under_concurrent_removals(client, world, db_session) -> None:
    # Three facilitators, minimum two: two concurrent removals may not both succeed.
    await client.put(f"/api/v1/spaces/{world['top']}/facilitators/{world['m1_id']}", headers=bearer(world["f1"]))
    a = client.delete(f"/api/v1/spaces/{world['top']}/facilitators/{world['f2_id']}", headers=bearer(world["admin"]))
    b = client.delete(f"/api/v1/spaces/{world['top']}/facilitators/{world['m1_id']}", headers=bearer(world["admin"]))
    ra, rb = await asyncio.gather(a, b)
    assert sorted([ra.status_code, rb.status_code]) == [204, 422]
    count = await db_session.scalar(
        select(func.count()).where(SpaceMember.space_id == uuid.UUID(world["top"]), SpaceMember.role == "facilitator")
    )
    assert count == 2


async def test_leave_remove_and_ban_cascade(client, world, db_session) -> None:
    for sid in ("top", "sub"):
        await client.post(f"/api/v1/spaces/{world[sid]}/join", headers=bearer(world["m1"]))
    r = await client.post(f"/api/v1/spaces/{world['top']}/leave", headers=bearer(world["m1"]))
    assert r.status_code == 200 and set(r.json()["removed_from"]) == {world["top"], world["sub"]}
    # A membership held on own standing survives the cascade.
    for sid in ("top", "sub"):
        await client.post(f"/api/v1/spaces/{world[sid]}/join", headers=bearer(world["m1"]))
    row = await db_session.get(SpaceMember, (uuid.UUID(world["sub"]), uuid.UUID(world["m1_id"])))
    assert row is not None
    row.own_standing = True
    await db_session.commit()
    r = await client.delete(f"/api/v1/spaces/{world['top']}/members/{world['m1_id']}", headers=bearer(world["m2"]))
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/spaces/{world['top']}/members/{world['m1_id']}", headers=bearer(world["f1"]))
    assert r.status_code == 200 and r.json()["kept"] == [world["sub"]]
    # Ban: cascades and blocks rejoining below.
    await client.post(f"/api/v1/spaces/{world['top']}/join", headers=bearer(world["m2"]))
    await client.post(f"/api/v1/spaces/{world['sub']}/join", headers=bearer(world["m2"]))
    r = await client.put(f"/api/v1/spaces/{world['top']}/bans/{world['m2_id']}", headers=bearer(world["f1"]))
    assert r.status_code == 200 and world["sub"] in r.json()["removed_from"]
    r = await client.post(f"/api/v1/spaces/{world['sub']}/join", headers=bearer(world["m2"]))
    assert r.status_code in {403, 404}
    # A facilitator leaving below the minimum is refused.
    r = await client.post(f"/api/v1/spaces/{world['top']}/leave", headers=bearer(world["f1"]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_violation"
    r = await client.delete(f"/api/v1/spaces/{world['top']}/bans/{world['m2_id']}", headers=bearer(world["f1"]))
    assert r.status_code == 204
    r = await client.post(f"/api/v1/spaces/{world['top']}/join", headers=bearer(world["m2"]))
    assert r.json()["outcome"] == "joined"


async def test_max_members_holds_under_concurrent_joins(client, world, db_session) -> None:
    r = await client.patch(
        f"/api/v1/spaces/{world['top']}", json={"settings": {"membership.max_members": 3}}, headers=bearer(world["f1"])
    )
    assert r.status_code == 200, r.text
    results = await asyncio.gather(
        *[client.post(f"/api/v1/spaces/{world['top']}/join", headers=bearer(world[w])) for w in ("m1", "m2", "m3")]
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    count = await db_session.scalar(
        select(func.count()).where(SpaceMember.space_id == uuid.UUID(world["top"]), SpaceMember.status == "active")
    )
    assert count == 3


async def test_patch_refusals(client, world, db_session) -> None:
    r = await client.patch(f"/api/v1/spaces/{world['top']}", json={"name": "X"}, headers=bearer(world["m1"]))
    assert r.status_code == 403
    r = await client.patch(
        f"/api/v1/spaces/{world['top']}", json={"settings": {"facilitators.min_count": 5}}, headers=bearer(world["f1"])
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_violation"
    r = await client.patch(f"/api/v1/spaces/{world['top']}", json={"bogus": 1}, headers=bearer(world["f1"]))
    assert r.status_code == 422
