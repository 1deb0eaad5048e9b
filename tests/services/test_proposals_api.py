"""Members propose groups; the network's admins ask, approve (the space is created under the
templates) or decline; the proposer sees the status."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import (
    MailOutbox,
    NetworkMember,
    Notification,
    ProposalFacilitator,
    Space,
    SpaceMember,
    SpaceProposal,
)
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
    # Fay, proposed as facilitator, agrees before the approval.
    r = await client.post(f"/api/v1/me/facilitation-requests/{p['id']}/accept", headers=world["friend_h"])
    assert r.status_code == 200 and r.json() == {"proposal_id": p["id"], "answer": "accepted", "space_id": None}
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


async def _facilitators(db_session: AsyncSession, space_id: str) -> set[uuid.UUID]:
    return set(
        await db_session.scalars(
            select(SpaceMember.account_id).where(
                SpaceMember.space_id == uuid.UUID(space_id),
                SpaceMember.role == "facilitator",
                SpaceMember.status == "active",
            )
        )
    )


async def test_proposed_facilitators_are_asked_and_only_who_agrees_facilitates(
    client, world, db_session: AsyncSession
) -> None:
    lu = await make_account(db_session, name="Lu")
    await add_member(db_session, world["net"], lu)
    lu_h = bearer(await make_token(db_session, lu))
    await db_session.commit()
    body = _body(world, facilitators=[str(world["friend"].id), str(lu.id)])
    p = (await client.post(URL, json=body, headers=world["member_h"])).json()
    asked = f"/api/v1/me/facilitation-requests/{p['id']}"
    # Each proposed facilitator is asked, in-app and by e-mail (their default choice).
    for who in (world["friend"].id, lu.id):
        note = await db_session.scalar(
            select(Notification).where(Notification.account_id == who, Notification.kind == "facilitation_request")
        )
        assert note is not None and "Mo asks you to facilitate" in note.title and note.link == "/#facilitation-requests"
        assert await db_session.scalar(
            select(func.count())
            .select_from(MailOutbox)
            .where(MailOutbox.account_id == who, MailOutbox.kind == "facilitation_request")
        )
    mine = (await client.get("/api/v1/me/facilitation-requests", headers=world["friend_h"])).json()["items"]
    assert [(r["name"], r["proposer_name"], r["network"], r["status"]) for r in mine] == [
        ("Latina educators", "Mo", "kent", "pending")
    ]
    assert (await client.get("/api/v1/me/facilitation-requests", headers=world["admin_h"])).json()["items"] == []
    # Nobody answers for someone else: not the proposer, not an admin, not a stranger.
    for h in ("member_h", "admin_h", "stranger_h"):
        r = await client.post(f"{asked}/accept", headers=world[h])
        assert r.status_code == 404 and r.json()["error"]["code"] == "facilitation_request_not_found", h
    r = await client.post(f"{asked}/decline", headers=lu_h)
    assert r.status_code == 200 and r.json()["answer"] == "declined"
    r = await client.post(f"{asked}/accept", headers=lu_h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_answered"
    # The proposer (and the admins) see who agreed.
    seen = (await client.get(f"{URL}/{p['id']}", headers=world["member_h"])).json()["facilitator_answers"]
    assert sorted((a["display_name"], a["answer"]) for a in seen) == [("Fay", "pending"), ("Lu", "declined")]
    assert any(
        t == "Lu declined to facilitate Latina educators"
        for t in await db_session.scalars(
            select(Notification.title).where(Notification.account_id == world["member"].id)
        )
    )
    # Approved now: only the proposer facilitates (Fay has not agreed yet, Lu declined) ...
    done = (await client.post(f"{URL}/{p['id']}/approve", headers=world["admin_h"])).json()
    assert done["status"] == "approved"
    assert await _facilitators(db_session, done["space_id"]) == {world["member"].id}
    # ... and Fay, still asked, is reminded; agreeing now makes her a facilitator at once.
    titles = list(
        await db_session.scalars(select(Notification.title).where(Notification.account_id == world["friend"].id))
    )
    assert "Latina educators was approved: will you facilitate it?" in titles
    assert "Latina educators was approved: will you facilitate it?" not in list(
        await db_session.scalars(select(Notification.title).where(Notification.account_id == lu.id))
    )
    mine = (await client.get("/api/v1/me/facilitation-requests", headers=world["friend_h"])).json()["items"]
    assert [(r["status"], r["space_id"]) for r in mine] == [("approved", done["space_id"])]
    r = await client.post(f"{asked}/accept", headers=world["friend_h"])
    assert r.status_code == 200 and r.json()["space_id"] == done["space_id"]
    assert await _facilitators(db_session, done["space_id"]) == {world["member"].id, world["friend"].id}
    assert (
        await client.get(f"/api/v1/spaces/{done['space_id']}/members", headers=world["friend_h"])
    ).status_code == 200
    assert (await client.get("/api/v1/me/facilitation-requests", headers=world["friend_h"])).json()["items"] == []
    seen = (await client.get(f"{URL}/{p['id']}", headers=world["admin_h"])).json()["facilitator_answers"]
    assert sorted((a["display_name"], a["answer"]) for a in seen) == [("Fay", "accepted"), ("Lu", "declined")]


async def test_no_answers_to_closed_proposals_or_from_people_who_may_not_belong(
    client, world, db_session: AsyncSession
) -> None:
    declined = (await client.post(URL, json=_body(world), headers=world["member_h"])).json()
    r = await client.post(f"{URL}/{declined['id']}/decline", json={"reason": "Not now."}, headers=world["admin_h"])
    assert r.status_code == 200
    r = await client.post(f"/api/v1/me/facilitation-requests/{declined['id']}/accept", headers=world["friend_h"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "proposal_closed"
    p = (await client.post(URL, json=_body(world, name="Book circle"), headers=world["member_h"])).json()
    done = (await client.post(f"{URL}/{p['id']}/approve", headers=world["admin_h"])).json()
    # Fay leaves the network before she answers: she may no longer belong to its spaces.
    await db_session.execute(
        NetworkMember.__table__.delete().where(
            NetworkMember.account_id == world["friend"].id, NetworkMember.network_id == world["net"].id
        )
    )
    await db_session.commit()
    r = await client.post(f"/api/v1/me/facilitation-requests/{p['id']}/accept", headers=world["friend_h"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_eligible"
    assert world["friend"].id not in await _facilitators(db_session, done["space_id"])
    row = await db_session.scalar(
        select(ProposalFacilitator.answer)
        .where(ProposalFacilitator.account_id == world["friend"].id)
        .where(ProposalFacilitator.proposal_id == uuid.UUID(p["id"]))
    )
    assert row == "pending"
    r = await client.post(f"/api/v1/me/facilitation-requests/{uuid.uuid4()}/accept", headers=world["friend_h"])
    assert r.status_code == 404
    r = await client.post("/api/v1/me/facilitation-requests/not-a-uuid/accept", headers=world["friend_h"])
    assert r.status_code in {400, 404}
