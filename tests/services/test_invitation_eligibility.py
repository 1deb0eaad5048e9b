"""Invitations only to people who may belong (issue 9 item 5), checked again when they are used.

Before: a facilitator could invite an account with no role in the network and no share; it
joined an unlisted identity space and read its full chat history while every other route said
404. Now only members of the home network or of a network the space is actively shared with
can be invited (the same 404 as for an account that does not exist, and nothing is written), and
an invitation or a request stops counting when the person no longer belongs.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import NetworkMember, SpaceJoinRequest, SpaceMember
from tests.factories import (
    add_facilitators,
    add_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_token,
)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict[str, Any]:
    """kent: an unlisted invite-only identity space (facilitator f) and a request-mode space;
    esd: a network kent shares the identity space with; plus an outsider with no role anywhere."""
    kent = await make_network(db_session, slug="kent-inv")
    esd = await make_network(db_session, slug="esd-inv")
    w: dict[str, Any] = {"kent": kent, "esd": esd}
    for who, net in [("admin", kent), ("f", kent), ("m", kent), ("g", esd), ("esd_admin", esd), ("outsider", None)]:
        account = await make_account(db_session)
        if net is not None:
            await add_member(db_session, net, account, "admin" if who.endswith("admin") else "member")
        w[who] = bearer(await make_token(db_session, account))
        w[f"{who}_id"] = account.id
        w[f"{who}_account"] = account
    hidden = await make_space(
        db_session, kent, name="Hidden", join_mode="invite", visibility="unlisted",
        settings={"membership.join_mode": "invite"},
    )  # fmt: skip
    asks = await make_space(
        db_session, kent, name="Asks", join_mode="request", settings={"membership.join_mode": "request"}
    )
    await add_facilitators(db_session, hidden, w["f_account"])
    await add_facilitators(db_session, asks, w["f_account"])
    await db_session.commit()
    w["hidden"], w["asks"] = hidden.id, asks.id
    return w


async def _requests(db_session: AsyncSession) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(SpaceJoinRequest)) or 0)


async def test_an_outsider_cannot_be_invited_and_gets_the_answer_of_a_missing_account(
    client, world, db_session
) -> None:
    url = f"/api/v1/spaces/{world['hidden']}/invitations"
    nobody = str(uuid.uuid4())
    outsider = await client.post(url, json={"account_id": str(world["outsider_id"])}, headers=world["f"])
    missing = await client.post(url, json={"account_id": nobody}, headers=world["f"])
    assert outsider.status_code == missing.status_code == 404, outsider.text
    assert outsider.json()["error"]["code"] == missing.json()["error"]["code"] == "account_not_found"
    said = outsider.json()["error"]["message"].replace(str(world["outsider_id"]), "?")
    assert said == missing.json()["error"]["message"].replace(nobody, "?")
    assert await _requests(db_session) == 0  # a refused write changes nothing
    # Admins are held to the same rule.
    r = await client.post(url, json={"account_id": str(world["outsider_id"])}, headers=world["admin"])
    assert r.status_code == 404
    # The outsider still sees nothing and reads no chat.
    assert (await client.get(f"/api/v1/spaces/{world['hidden']}", headers=world["outsider"])).status_code == 404
    assert (await client.post(f"/api/v1/spaces/{world['hidden']}/join", headers=world["outsider"])).status_code == 404
    r = await client.get(f"/api/v1/spaces/{world['hidden']}/messages", headers=world["outsider"])
    assert r.status_code == 403


async def test_members_of_the_network_and_of_a_sharing_network_can_be_invited(client, world) -> None:
    url = f"/api/v1/spaces/{world['hidden']}/invitations"
    r = await client.post(url, json={"account_id": str(world["m_id"])}, headers=world["f"])
    assert r.status_code == 201, r.text
    # A member of esd: only once the space is shared with esd.
    r = await client.post(url, json={"account_id": str(world["g_id"])}, headers=world["f"])
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/spaces/{world['hidden']}/shares", json={"guest_network": "esd-inv"}, headers=world["admin"]
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/networks/esd-inv/shares/{r.json()['id']}/accept", headers=world["esd_admin"])
    assert r.status_code == 200, r.text
    r = await client.post(url, json={"account_id": str(world["g_id"])}, headers=world["f"])
    assert r.status_code == 201, r.text
    for who in ("m", "g"):
        r = await client.post(f"/api/v1/spaces/{world['hidden']}/join", headers=world[who])
        assert r.status_code == 200 and r.json()["outcome"] == "joined", r.text
        r = await client.get(f"/api/v1/spaces/{world['hidden']}/messages", headers=world[who])
        assert r.status_code == 200


async def test_an_invitation_stops_counting_when_the_invitee_leaves_the_network(client, world, db_session) -> None:
    url = f"/api/v1/spaces/{world['hidden']}/invitations"
    assert (await client.post(url, json={"account_id": str(world["m_id"])}, headers=world["f"])).status_code == 201
    await db_session.execute(delete(NetworkMember).where(NetworkMember.account_id == world["m_id"]))
    await db_session.commit()
    r = await client.post(f"/api/v1/spaces/{world['hidden']}/join", headers=world["m"])
    assert r.status_code == 404, r.text  # the same answer as for any hidden space
    rows = await db_session.scalar(
        select(func.count()).select_from(SpaceMember).where(SpaceMember.account_id == world["m_id"])
    )
    assert rows == 0


async def test_approving_a_request_checks_the_requester_still_belongs(client, world, db_session) -> None:
    r = await client.post(f"/api/v1/spaces/{world['asks']}/join", headers=world["m"])
    assert r.status_code == 200 and r.json()["outcome"] == "requested", r.text
    request_id = r.json()["request"]["id"]
    await db_session.execute(delete(NetworkMember).where(NetworkMember.account_id == world["m_id"]))
    await db_session.commit()
    r = await client.post(f"/api/v1/spaces/{world['asks']}/requests/{request_id}/approve", headers=world["f"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_eligible", r.text
    rows = await db_session.scalar(
        select(func.count()).select_from(SpaceMember).where(SpaceMember.account_id == world["m_id"])
    )
    assert rows == 0
