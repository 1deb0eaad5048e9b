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


async def test_a_guest_networks_agreement_can_stop_its_members_posting(client, db_session) -> None:
    """DESIGN: a shared space's effective constraint includes the guest network's guest constraints
    for that guest's members. An agreement that allows only facilitators to post stops the guest
    network's members (HTTP send, the rights chat reports, the library's add) and no one else."""
    import datetime as dt

    from services.persistence.models import Share

    host = await make_network(db_session)
    guest_net = await make_network(db_session)
    other_guests = await make_network(db_session)
    space = await make_space(db_session, host, kind="topic")
    people = {}
    for name, net in (("host", host), ("guest", guest_net), ("other", other_guests)):
        people[name] = await make_account(db_session)
        await add_member(db_session, net, people[name])
        await add_space_member(db_session, space, people[name])
    now = dt.datetime.now(dt.UTC)
    for net, constraints in ((guest_net, {"chat.posting": {"allowed": ["facilitators"]}}), (other_guests, {})):
        db_session.add(
            Share(
                id=uuid.uuid4(),
                space_id=space.id,
                host_network_id=host.id,
                guest_network_id=net.id,
                status="active",
                constraints=constraints,
                created_at=now,
                expires_at=now + dt.timedelta(days=14),
                decided_at=now,
            )
        )
    tokens = {name: await make_token(db_session, account) for name, account in people.items()}
    await db_session.commit()
    url = f"/api/v1/spaces/{space.id}/messages"
    for name, allowed in (("host", True), ("other", True), ("guest", False)):
        r = await client.post(
            url, json={"body": f"hi from {name}", "key": uuid.uuid4().hex}, headers=bearer(tokens[name])
        )
        if allowed:
            assert r.status_code == 201, (name, r.text)
        else:
            assert r.status_code == 403 and r.json()["error"]["code"] == "posting_restricted", r.text
        # The guest still reads the room, and the library follows the same rule.
        assert (await client.get(url, headers=bearer(tokens[name]))).status_code == 200
        r = await client.get(f"/api/v1/spaces/{space.id}/resources", headers=bearer(tokens[name]))
        assert r.status_code == 200 and r.json()["can_add"] is allowed, (name, r.text)
    stored = await db_session.scalar(select(func.count()).where(Message.space_id == space.id))
    assert stored == 2
