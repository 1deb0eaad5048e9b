"""Members propose groups; the network's admins ask, approve (the space is created under the
templates) or decline; the proposer sees the status."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Notification, Space, SpaceMember, SpaceProposal
from tests.factories import (
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict:
    net = await make_network(db_session, slug="kent", name="Kent School District")
    admin, member, friend, stranger = [await make_account(db_session, name=n) for n in ("Ada", "Mo", "Fay", "Sam")]
    await add_member(db_session, net, admin, "admin")
    await add_member(db_session, net, member)
    await add_member(db_session, net, friend)
    staff = await make_space(db_session, net, name="Staff of colour", kind="identity", join_mode="open")
    hidden = await make_space(db_session, net, name="Hidden circle", join_mode="invite", visibility="unlisted")
    await add_space_member(db_session, staff, member)
    out = {
        "net": net,
        "admin": admin,
        "member": member,
        "friend": friend,
        "stranger": stranger,
        "staff": staff,
        "hidden": hidden,
        **{
            f"{k}_h": bearer(await make_token(db_session, a))
            for k, a in (("admin", admin), ("member", member), ("friend", friend), ("stranger", stranger))
        },
    }
    await db_session.commit()
    return out


URL = "/api/v1/networks/kent/proposals"


def _body(world: dict, **kw: object) -> dict:
    return {
        "name": "Latina educators",
        "kind": "identity",
        "purpose": "A place for Latina staff to meet monthly.",
        "parent_id": str(world["staff"].id),
        "facilitators": [str(world["friend"].id)],
        **kw,
    }


async def test_a_member_proposes_and_an_admin_asks_then_approves(client, world, db_session: AsyncSession) -> None:
    r = await client.post(URL, json=_body(world), headers=world["member_h"])
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["status"], p["proposer_name"], p["i_will_facilitate"]) == ("pending", "Mo", True)
    note = await db_session.scalar(select(Notification).where(Notification.account_id == world["admin"].id))
    assert note is not None and note.kind == "proposal_submitted" and "Latina educators" in note.title
    # The admin sees it; another member does not.
    assert [x["id"] for x in (await client.get(URL, headers=world["admin_h"])).json()["items"]] == [p["id"]]
    assert (await client.get(URL, headers=world["friend_h"])).json()["items"] == []
    assert (await client.get(f"{URL}/{p['id']}", headers=world["friend_h"])).status_code == 404
    r = await client.post(
        f"{URL}/{p['id']}/question", json={"question": "Monthly or termly?"}, headers=world["admin_h"]
    )
    assert r.status_code == 200 and r.json()["status"] == "question"
    r = await client.post(f"{URL}/{p['id']}/approve", headers=world["member_h"])
    assert r.status_code == 403
    r = await client.post(f"{URL}/{p['id']}/answer", json={"answer": "Monthly."}, headers=world["member_h"])
    assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["answer"] == "Monthly."
    r = await client.post(f"{URL}/{p['id']}/approve", json={"join_mode": "request"}, headers=world["admin_h"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "approved" and done["space_id"]
    space = await db_session.get(Space, uuid.UUID(done["space_id"]))
    assert space is not None and space.parent_id == world["staff"].id and space.description.startswith("A place")
    facilitators = set(
        await db_session.scalars(
            select(SpaceMember.account_id).where(SpaceMember.space_id == space.id, SpaceMember.role == "facilitator")
        )
    )
    assert facilitators == {world["member"].id, world["friend"].id}
    # The proposer sees the outcome, and was told.
    mine = (await client.get(f"{URL}/{p['id']}", headers=world["member_h"])).json()
    assert mine["status"] == "approved"
    titles = list(
        await db_session.scalars(select(Notification.title).where(Notification.account_id == world["member"].id))
    )
    assert any("was approved" in t for t in titles)
    again = await client.post(f"{URL}/{p['id']}/approve", headers=world["admin_h"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "proposal_not_open"


async def test_decline_needs_a_reason_the_proposer_sees(client, world) -> None:
    p = (
        await client.post(URL, json=_body(world, parent_id=None, i_will_facilitate=False), headers=world["member_h"])
    ).json()
    r = await client.post(f"{URL}/{p['id']}/decline", json={"reason": "  "}, headers=world["admin_h"])
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "reason"
    r = await client.post(f"{URL}/{p['id']}/decline", json={"reason": "We have one already."}, headers=world["admin_h"])
    assert r.status_code == 200
    mine = (await client.get(URL, headers=world["member_h"])).json()["items"]
    assert [(m["status"], m["reason"]) for m in mine] == [("declined", "We have one already.")]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"name": "staff OF colour"}, "name", "name_taken"),
        ({"name": "   "}, "name", "validation_error"),
        ({"purpose": "  "}, "purpose", "validation_error"),
        ({"parent_id": "hidden"}, "parent_id", "parent_not_found"),
        ({"parent_id": str(uuid.UUID(int=7))}, "parent_id", "parent_not_found"),
        ({"facilitators": ["stranger"]}, "facilitators", "facilitator_not_in_network"),
    ],
)
async def test_bad_proposals_name_the_field(client, world, db_session, change, field, code) -> None:
    body = _body(world, **change)
    if change.get("parent_id") == "hidden":
        body["parent_id"] = str(world["hidden"].id)
    if change.get("facilitators") == ["stranger"]:
        body["facilitators"] = [str(world["stranger"].id)]
    r = await client.post(URL, json=body, headers=world["member_h"])
    assert r.status_code == 422, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["details"]["field"]) == (code, field)
    assert await db_session.scalar(select(func.count()).select_from(SpaceProposal)) == 0


async def test_a_hidden_parent_reads_like_a_missing_one(client, world) -> None:
    hidden = await client.post(URL, json=_body(world, parent_id=str(world["hidden"].id)), headers=world["member_h"])
    missing_id = str(uuid.uuid4())
    missing = await client.post(URL, json=_body(world, parent_id=missing_id), headers=world["member_h"])
    assert (
        hidden.json()["error"]["message"].replace(str(world["hidden"].id), missing_id)
        == missing.json()["error"]["message"]
    )


async def test_a_second_open_proposal_with_the_same_name_is_refused(client, world) -> None:
    assert (await client.post(URL, json=_body(world), headers=world["member_h"])).status_code == 201
    r = await client.post(URL, json=_body(world), headers=world["friend_h"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "name_taken"


async def test_people_outside_the_network_cannot_propose(client, world) -> None:
    r = await client.post(URL, json=_body(world, parent_id=None, facilitators=[]), headers=world["stranger_h"])
    assert r.status_code == 403
    assert (await client.get(URL, headers=world["stranger_h"])).status_code == 403
    assert (await client.post(URL, json=_body(world))).status_code == 401


async def test_approval_follows_the_templates(client, world, db_session: AsyncSession) -> None:
    await make_template(db_session, world["net"], {"facilitators.min_count": {"min": 3}}, attach_to=world["net"])
    await db_session.commit()
    p = (await client.post(URL, json=_body(world, parent_id=None), headers=world["member_h"])).json()
    r = await client.post(f"{URL}/{p['id']}/approve", headers=world["admin_h"])
    assert r.status_code == 422 and "facilitators.min_count" in r.text
    assert (await client.get(f"{URL}/{p['id']}", headers=world["admin_h"])).json()["status"] == "pending"
    assert await db_session.scalar(select(func.count()).select_from(Space).where(Space.name == "Latina educators")) == 0
