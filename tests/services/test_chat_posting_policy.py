"""Chat obeys the governing posting rule: a network template can make spaces announcement-only."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from services.persistence.models import Message
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token


async def test_template_makes_unset_spaces_announcement_only(client, db_session) -> None:
    network = await make_network(db_session, slug="psesd", kind="esd")
    admin = await make_account(db_session)
    facilitator = await make_account(db_session)
    member = await make_account(db_session)
    for account, role in ((admin, "admin"), (facilitator, "member"), (member, "member")):
        await add_member(db_session, network, account, role)
    space = await make_space(db_session, network, name="Announcements", kind="topic")  # chat.posting never set
    await add_space_member(db_session, space, facilitator, role="facilitator")
    await add_space_member(db_session, space, member)
    tokens = {n: await make_token(db_session, a) for n, a in (("admin", admin), ("fac", facilitator), ("mem", member))}
    await db_session.commit()
    url = f"/api/v1/spaces/{space.id}/messages"

    r = await client.post(url, json={"body": "before the rule", "key": uuid.uuid4().hex}, headers=bearer(tokens["mem"]))
    assert r.status_code == 201, r.text

    rule = {"name": "Announcement spaces", "constraints": {"chat.posting": {"allowed": ["facilitators"]}}}
    r = await client.post("/api/v1/networks/psesd/templates", json=rule, headers=bearer(tokens["admin"]))
    template = r.json()["id"]
    r = await client.put(f"/api/v1/networks/psesd/templates/{template}/attach", headers=bearer(tokens["admin"]))
    assert r.status_code in {200, 201}, r.text

    policy = (await client.get(f"/api/v1/spaces/{space.id}/policy", headers=bearer(tokens["mem"]))).json()
    assert policy["settings"]["chat.posting"] == "facilitators"
    r = await client.post(url, json={"body": "after the rule", "key": uuid.uuid4().hex}, headers=bearer(tokens["mem"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "posting_restricted"
    r = await client.post(url, json={"body": "announcement", "key": uuid.uuid4().hex}, headers=bearer(tokens["fac"]))
    assert r.status_code == 201, r.text
    count = await db_session.scalar(select(func.count()).select_from(Message).where(Message.space_id == space.id))
    assert count == 2
