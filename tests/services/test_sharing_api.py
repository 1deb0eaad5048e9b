"""Sharing agreements through the API: offer, accept (with guest constraints), trusted
auto-accept, expiry after 14 days, guests joining and chatting, ending (guests lose access at
once, host members and history unaffected), include_subspaces, refused roles, bad input, and
nothing written on refusal."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import AuditEvent, Message, Share, ShareMembership, SpaceMember
from services.sharing import service as sharing_service
from tests.factories import (
    add_facilitators,
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)

TABLES = ("shares", "share_memberships", "trusted_networks", "space_members", "space_join_requests", "audit_events")


async def fingerprint(session: AsyncSession) -> dict[str, str]:
    await session.rollback()
    out = {}
    for table in TABLES:
        row = (
            await session.execute(
                text(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")
            )
        ).one()
        out[table] = f"{row[0]}:{row[1]}"
    return out


@pytest.fixture
async def world(db_session: AsyncSession) -> dict[str, Any]:
    """Host network 'esd' (admin, facilitator, member of S, network member) with an identity
    space S and a sub-space C; guest network 'kent' (admin, two members); network 'west'."""
    esd = await make_network(db_session, slug="esd", name="Puget ESD")
    kent = await make_network(db_session, slug="kent", name="Kent SD")
    west = await make_network(db_session, slug="west", name="Westwood SD")
    w: dict[str, Any] = {"esd_id": esd.id, "kent_id": kent.id}
    for who, net, role in [
        ("host_admin", esd, "admin"),
        ("fac", esd, "member"),
        ("member", esd, "member"),
        ("net_member", esd, "member"),
        ("guest_admin", kent, "admin"),
        ("g1", kent, "member"),
        ("g2", kent, "member"),
        ("west_admin", west, "admin"),
        ("stranger", None, None),
    ]:
        a = await make_account(db_session, name=who)
        if net is not None:
            await add_member(db_session, net, a, role or "member")
        w[who] = bearer(await make_token(db_session, a))
        w[f"{who}_id"] = a.id
    space = await make_space(
        db_session,
        esd,
        name="Latina principals",
        kind="identity",
        join_mode="open",
        settings={"membership.join_mode": "open"},
    )
    child = await make_space(
        db_session,
        esd,
        name="Latina new principals",
        parent=space,
        join_mode="parent_members",
        settings={"membership.join_mode": "parent_members"},
    )
    fac = await db_session.get(type(await make_account(db_session)), w["fac_id"])
    member = await db_session.get(type(fac), w["member_id"])
    assert fac is not None and member is not None
    await add_facilitators(db_session, space, fac)
    await add_space_member(db_session, space, member)
    await db_session.commit()
    w["S"], w["C"] = str(space.id), str(child.id)
    return w


async def _offer(client: Any, w: dict[str, Any], **body: Any) -> Any:
    return await client.post(
        f"/api/v1/spaces/{w['S']}/shares", json={"guest_network": "kent", **body}, headers=w["host_admin"]
    )


async def _active(client: Any, w: dict[str, Any], constraints: dict[str, Any] | None = None, **body: Any) -> str:
    r = await _offer(client, w, **body)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    a = await client.post(
        f"/api/v1/networks/kent/shares/{sid}/accept", json={"constraints": constraints or {}}, headers=w["guest_admin"]
    )
    assert a.status_code == 200, a.text
    return str(sid)


async def test_offer_accept_join_chat_end(client, world, db_session: AsyncSession) -> None:
    w = world
    r = await _offer(w=w, client=client, message="Join our Latina principals circle")
    assert r.status_code == 201, r.text
    share = r.json()
    assert share["status"] == "pending" and share["host_network"] == "esd" and share["guest_network"] == "kent"
    created = dt.datetime.fromisoformat(share["created_at"])
    assert dt.datetime.fromisoformat(share["expires_at"]) - created == dt.timedelta(days=14)
    assert "member_count" not in share  # sharing tells the guest nothing about who is in the space

    # Before acceptance a guest member sees nothing.
    assert (await client.get(f"/api/v1/spaces/{w['S']}", headers=w["g1"])).status_code == 404
    listed = (await client.get("/api/v1/networks/kent/shares", headers=w["guest_admin"])).json()["items"]
    assert [(s["id"], s["status"], s["direction"]) for s in listed] == [(share["id"], "pending", "incoming")]
    out = (await client.get("/api/v1/networks/esd/shares", headers=w["host_admin"])).json()["items"]
    assert out[0]["direction"] == "outgoing"

    constraints = {"chat.retention_days": {"max": 90}}
    r = await client.post(
        f"/api/v1/networks/kent/shares/{share['id']}/accept",
        json={"constraints": constraints},
        headers=w["guest_admin"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["constraints"] == constraints

    # The guest sees the space and the policy that applies to them (guest constraints with their source).
    r = await client.get(f"/api/v1/spaces/{w['S']}", headers=w["g1"])
    assert r.status_code == 200 and r.json()["member_count"] is None
    policy = (await client.get(f"/api/v1/spaces/{w['S']}/policy", headers=w["g1"])).json()
    bound = policy["constraints"]["chat.retention_days"]
    assert "guest_network" in str(bound) and "Kent SD" in str(bound), bound
    host_policy = (await client.get(f"/api/v1/spaces/{w['S']}/policy", headers=w["member"])).json()
    assert "chat.retention_days" not in host_policy["constraints"]

    # Join (open), chat.
    r = await client.post(f"/api/v1/spaces/{w['S']}/join", headers=w["g1"])
    assert r.status_code == 200 and r.json()["outcome"] == "joined", r.text
    row = await db_session.get(SpaceMember, (uuid.UUID(w["S"]), w["g1_id"]))
    assert row is not None and row.own_standing and row.status == "active"
    link = await db_session.get(ShareMembership, (uuid.UUID(w["S"]), w["g1_id"]))
    assert link is not None and str(link.share_id) == share["id"]
    r = await client.get(f"/api/v1/spaces/{w['S']}/messages", headers=w["g1"])
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/spaces/{w['S']}/messages", json={"body": "Hola", "key": "k1"}, headers=w["g1"])
    assert r.status_code in (200, 201), r.text
    # Guests see the member list of the space they belong to; the guest admin (not a member) does not.
    assert (await client.get(f"/api/v1/spaces/{w['S']}/members", headers=w["g1"])).status_code == 200
    assert (await client.get(f"/api/v1/spaces/{w['S']}/members", headers=w["guest_admin"])).status_code == 404

    # The guest admin ends it: the guest loses access at once; host members and history stay.
    r = await client.delete(f"/api/v1/shares/{share['id']}", headers=w["guest_admin"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ended" and r.json()["removed_memberships"] == 1
    assert (await client.get(f"/api/v1/spaces/{w['S']}", headers=w["g1"])).status_code == 404
    assert (await client.get(f"/api/v1/spaces/{w['S']}/messages", headers=w["g1"])).status_code in (403, 404)
    r = await client.post(f"/api/v1/spaces/{w['S']}/messages", json={"body": "x", "key": "k2"}, headers=w["g1"])
    assert r.status_code in (403, 404)
    await db_session.rollback()
    assert await db_session.get(SpaceMember, (uuid.UUID(w["S"]), w["g1_id"])) is None
    assert await db_session.get(SpaceMember, (uuid.UUID(w["S"]), w["member_id"])) is not None
    assert (await client.get(f"/api/v1/spaces/{w['S']}/messages", headers=w["member"])).json()["items"][0][
        "body"
    ] == "Hola"
    assert await db_session.scalar(select(func.count()).select_from(Message)) == 1
    actions = set(await db_session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "share")))
    assert {"share.offer", "share.accept", "share.end"} <= actions
    # Ended is final.
    r = await client.delete(f"/api/v1/shares/{share['id']}", headers=w["host_admin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "share_not_open"


async def test_trusted_host_is_accepted_at_once(client, world, db_session) -> None:
    w = world
    r = await client.put("/api/v1/networks/kent/trusted-networks/esd", headers=w["guest_admin"])
    assert r.status_code == 201, r.text
    assert (await client.put("/api/v1/networks/kent/trusted-networks/esd", headers=w["guest_admin"])).status_code == 200
    listed = (await client.get("/api/v1/networks/kent/trusted-networks", headers=w["guest_admin"])).json()
    assert [t["trusted_network"] for t in listed["items"]] == ["esd"]
    # Only the guest's admins decide whom they trust.
    for who in ("host_admin", "g1"):
        r = await client.put("/api/v1/networks/kent/trusted-networks/esd", headers=w[who])
        assert r.status_code == 403
    r = await _offer(client, w)
    assert r.status_code == 201 and r.json()["status"] == "active" and r.json()["auto_accepted"], r.text
    assert (await client.get(f"/api/v1/spaces/{w['S']}", headers=w["g1"])).status_code == 200
    assert (
        await client.delete("/api/v1/networks/kent/trusted-networks/esd", headers=w["guest_admin"])
    ).status_code == 204
    r = await client.delete("/api/v1/networks/kent/trusted-networks/esd", headers=w["guest_admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_trusted"
    r = await client.put("/api/v1/networks/kent/trusted-networks/nope", headers=w["guest_admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "network_not_found"


async def test_offers_expire_after_14_days(client, world, db_session, monkeypatch) -> None:
    w = world
    r = await _offer(client, w)
    sid = r.json()["id"]
    real = sharing_service.now
    monkeypatch.setattr(sharing_service, "now", lambda: real() + dt.timedelta(days=13, hours=23))
    listed = (await client.get("/api/v1/networks/kent/shares", headers=w["guest_admin"])).json()["items"]
    assert listed[0]["status"] == "pending"
    monkeypatch.setattr(sharing_service, "now", lambda: real() + dt.timedelta(days=14, minutes=1))
    listed = (await client.get("/api/v1/networks/kent/shares", headers=w["guest_admin"])).json()["items"]
    assert listed[0]["status"] == "expired"
    before = await fingerprint(db_session)
    r = await client.post(f"/api/v1/networks/kent/shares/{sid}/accept", headers=w["guest_admin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "share_expired", r.text
    assert await fingerprint(db_session) == before
    assert (await client.get(f"/api/v1/spaces/{w['S']}", headers=w["g1"])).status_code == 404
    # A new offer replaces the lapsed one.
    r = await _offer(client, w)
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    statuses = sorted(await db_session.scalars(select(Share.status)))
    assert statuses == ["expired", "pending"]


async def test_guests_allowed_false_is_refused_naming_rule_and_source(client, world, db_session) -> None:
    w = world
    esd_id = w["esd_id"]
    from services.persistence.models import Network

    esd = await db_session.get(Network, esd_id)
    assert esd is not None
    await make_template(
        db_session,
        esd,
        {"membership.guests_allowed": {"locked": True, "value": False}},
        name="Closed circles",
        attach_to=esd,
    )
    await db_session.commit()
    before = await fingerprint(db_session)
    r = await _offer(client, w)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "guests_not_allowed"
    assert "membership.guests_allowed" in err["message"] and "Closed circles" in err["message"]
    assert err["details"]["source"]["name"] == "Closed circles"
    assert await fingerprint(db_session) == before


async def test_guests_allowed_false_in_space_settings(client, world, db_session) -> None:
    w = world
    r = await client.patch(
        f"/api/v1/spaces/{w['S']}", json={"settings": {"membership.guests_allowed": False}}, headers=w["host_admin"]
    )
    assert r.status_code == 200, r.text
    r = await _offer(client, w)
    assert r.status_code == 422 and r.json()["error"]["code"] == "guests_not_allowed"
    assert "own settings" in r.json()["error"]["message"]
    # A sub-space that refuses guests blocks include_subspaces, naming it.
    await client.patch(
        f"/api/v1/spaces/{w['S']}", json={"settings": {"membership.guests_allowed": True}}, headers=w["host_admin"]
    )
    r = await client.patch(
        f"/api/v1/spaces/{w['C']}", json={"settings": {"membership.guests_allowed": False}}, headers=w["host_admin"]
    )
    assert r.status_code == 200, r.text
    r = await _offer(client, w, include_subspaces=True)
    assert r.status_code == 422 and "Latina new principals" in r.json()["error"]["message"], r.text
    assert (await _offer(client, w)).status_code == 201


async def test_include_subspaces(client, world, db_session) -> None:
    w = world
    # Without sub-spaces: the guest sees S but not C.
    sid = await _active(client, w)
    assert (await client.get(f"/api/v1/spaces/{w['C']}", headers=w["g1"])).status_code == 404
    h = (await client.get(f"/api/v1/spaces/{w['S']}/hierarchy", headers=w["g1"])).json()
    assert [i["name"] for i in h["items"]] == ["Latina principals"]
    assert (await client.delete(f"/api/v1/shares/{sid}", headers=w["host_admin"])).status_code == 200

    await _active(client, w, include_subspaces=True)
    h = (await client.get(f"/api/v1/spaces/{w['S']}/hierarchy", headers=w["g1"])).json()
    assert [i["name"] for i in h["items"]] == ["Latina principals", "Latina new principals"]
    assert (await client.get(f"/api/v1/spaces/{w['C']}", headers=w["g1"])).status_code == 200
    # C is parent_members: a guest joins S first, then C.
    r = await client.post(f"/api/v1/spaces/{w['C']}/join", headers=w["g1"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "parent_membership_required"
    assert (await client.post(f"/api/v1/spaces/{w['S']}/join", headers=w["g1"])).json()["outcome"] == "joined"
    assert (await client.post(f"/api/v1/spaces/{w['C']}/join", headers=w["g1"])).json()["outcome"] == "joined"
    # Own standing: leaving S does not take the guest out of C (they joined it through the share).
    r = await client.post(f"/api/v1/spaces/{w['S']}/leave", headers=w["g1"])
    assert r.status_code == 200 and w["C"] in r.json()["kept"], r.text
    assert (await client.get(f"/api/v1/spaces/{w['C']}/messages", headers=w["g1"])).status_code == 200


async def test_ending_removes_exactly_the_guest_memberships(client, world, db_session) -> None:
    w = world
    sid = await _active(client, w, include_subspaces=True)
    for who in ("g1", "g2"):
        assert (await client.post(f"/api/v1/spaces/{w['S']}/join", headers=w[who])).status_code == 200
    assert (await client.post(f"/api/v1/spaces/{w['C']}/join", headers=w["g1"])).status_code == 200
    assert (await client.post(f"/api/v1/spaces/{w['C']}/join", headers=w["member"])).status_code == 200
    r = await client.delete(f"/api/v1/shares/{sid}", headers=w["host_admin"])
    assert r.status_code == 200 and r.json()["removed_memberships"] == 3, r.text
    await db_session.rollback()
    rows = {(str(m.space_id), m.account_id) for m in await db_session.scalars(select(SpaceMember))}
    assert rows == {(w["S"], w["fac_id"]), (w["S"], w["member_id"]), (w["C"], w["member_id"])}
    assert await db_session.scalar(select(func.count()).select_from(ShareMembership)) == 0


async def test_refused_roles_write_nothing(client, world, db_session) -> None:
    w = world
    r = await _offer(client, w)
    sid = r.json()["id"]
    before = await fingerprint(db_session)
    accept = f"/api/v1/networks/kent/shares/{sid}/accept"
    cases = [
        # the host's admin cannot accept for the guest, even through the host's own URL
        ("POST", accept, "host_admin", 403),
        ("POST", f"/api/v1/networks/esd/shares/{sid}/accept", "host_admin", 403),
        ("POST", accept, "g1", 403),
        ("POST", accept, "west_admin", 403),
        ("POST", f"/api/v1/networks/kent/shares/{sid}/decline", "host_admin", 403),
        ("POST", accept, None, 401),
        # the guest admin cannot offer the host's space; members cannot either
        ("POST", f"/api/v1/spaces/{w['S']}/shares", "guest_admin", 404),
        ("POST", f"/api/v1/spaces/{w['S']}/shares", "member", 403),
        ("POST", f"/api/v1/spaces/{w['S']}/shares", "fac", 403),
        ("POST", f"/api/v1/spaces/{w['S']}/shares", None, 401),
        # ending: only either side's admins
        ("DELETE", f"/api/v1/shares/{sid}", "west_admin", 404),
        ("DELETE", f"/api/v1/shares/{sid}", "g1", 404),
        ("DELETE", f"/api/v1/shares/{sid}", "member", 404),
        ("DELETE", f"/api/v1/shares/{sid}", None, 401),
        # listing: the network's admins
        ("GET", "/api/v1/networks/kent/shares", "g1", 403),
        ("GET", "/api/v1/networks/kent/shares", "host_admin", 403),
        ("GET", "/api/v1/networks/esd/shares", "member", 403),
    ]
    for method, url, who, status in cases:
        kwargs: dict[str, Any] = {"headers": w[who] if who else {}}
        if url.endswith("/shares") and method == "POST":
            kwargs["json"] = {"guest_network": "kent"}
        r = await client.request(method, url, **kwargs)
        assert r.status_code == status, (method, url, who, r.text)
        assert r.json()["error"]["code"]
        assert await fingerprint(db_session) == before, (method, url, who)


async def test_bad_input(client, world, db_session) -> None:
    w = world
    before = await fingerprint(db_session)
    r = await client.post(f"/api/v1/spaces/{w['S']}/shares", json={"guest_network": "nope"}, headers=w["host_admin"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "network_not_found"
    r = await client.post(f"/api/v1/spaces/{w['S']}/shares", json={"guest_network": "esd"}, headers=w["host_admin"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "same_network"
    r = await client.post(f"/api/v1/spaces/{w['S']}/shares", json={"guest": "kent"}, headers=w["host_admin"])
    assert r.status_code == 422 and r.json()["error"]["code"]
    r = await client.post(
        f"/api/v1/spaces/{uuid.uuid4()}/shares", json={"guest_network": "kent"}, headers=w["host_admin"]
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "space_not_found"
    assert await fingerprint(db_session) == before

    sid = (await _offer(client, w)).json()["id"]
    before = await fingerprint(db_session)
    r = await _offer(client, w)
    assert r.status_code == 409 and r.json()["error"]["code"] == "share_exists"
    accept = f"/api/v1/networks/kent/shares/{sid}/accept"
    r = await client.post(accept, json={"constraints": {"chat.retention_days": {"min": 3}}}, headers=w["guest_admin"])
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_constraints" and "chat.retention_days" in err["message"]
    assert err["details"]["parameter"] == "chat.retention_days"
    r = await client.post(accept, json={"constraints": {"no.such": {"max": 1}}}, headers=w["guest_admin"])
    assert r.status_code == 422 and r.json()["error"]["details"]["parameter"] == "no.such"
    r = await client.post(accept, json={"constraints": ["x"]}, headers=w["guest_admin"])
    assert r.status_code == 422 and r.json()["error"]["code"]
    r = await client.post(f"/api/v1/networks/kent/shares/{uuid.uuid4()}/accept", headers=w["guest_admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "share_not_found"
    r = await client.post(f"/api/v1/networks/nope/shares/{sid}/accept", headers=w["guest_admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "network_not_found"
    r = await client.delete(f"/api/v1/shares/{uuid.uuid4()}", headers=w["host_admin"])
    assert r.status_code == 404
    assert await fingerprint(db_session) == before

    # Guest constraints that contradict a host lock are refused, naming the parameter.
    r = await client.patch(
        f"/api/v1/spaces/{w['S']}",
        json={"subspace_constraints": {}, "settings": {"chat.posting": "members"}},
        headers=w["host_admin"],
    )
    from services.persistence.models import Network

    esd = await db_session.get(Network, w["esd_id"])
    assert esd is not None
    await make_template(db_session, esd, {"membership.join_mode": {"allowed": ["open"]}}, name="Open", attach_to=esd)
    await db_session.commit()
    before = await fingerprint(db_session)
    r = await client.post(
        accept, json={"constraints": {"membership.join_mode": {"allowed": ["request"]}}}, headers=w["guest_admin"]
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "constraint_conflict", r.text
    assert r.json()["error"]["details"]["parameter"] == "membership.join_mode"
    assert await fingerprint(db_session) == before

    # Decline, then it cannot be accepted.
    r = await client.post(f"/api/v1/networks/kent/shares/{sid}/decline", headers=w["guest_admin"])
    assert r.status_code == 200 and r.json()["status"] == "declined"
    r = await client.post(accept, headers=w["guest_admin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "share_not_pending"


async def test_guest_constraints_narrow_the_join_mode(client, world, db_session) -> None:
    """Kent lets its members join shared spaces only by request: an open space becomes
    request-to-join for them, and the host's own members still join at once."""
    w = world
    sid = await _active(client, w, constraints={"membership.join_mode": {"allowed": ["request"]}})
    r = await client.post(f"/api/v1/spaces/{w['S']}/join", headers=w["g1"])
    assert r.status_code == 200 and r.json()["outcome"] == "requested", r.text
    rid = r.json()["request"]["id"]
    assert (await client.post(f"/api/v1/spaces/{w['S']}/join", headers=w["net_member"])).json()["outcome"] == "joined"
    # The facilitator approves; the membership is a guest one, tied to the share.
    r = await client.post(f"/api/v1/spaces/{w['S']}/requests/{rid}/approve", headers=w["fac"])
    assert r.status_code == 200, r.text
    link = await db_session.get(ShareMembership, (uuid.UUID(w["S"]), w["g1_id"]))
    assert link is not None and str(link.share_id) == sid
    # Ending cancels pending guest requests too.
    r = await client.post(f"/api/v1/spaces/{w['S']}/join", headers=w["g2"])
    assert r.json()["outcome"] == "requested"
    assert (await client.delete(f"/api/v1/shares/{sid}", headers=w["host_admin"])).status_code == 200
    r = await client.get(f"/api/v1/spaces/{w['S']}/requests", params={"status": "pending"}, headers=w["fac"])
    assert r.json()["items"] == []
