"""``GET /me`` (and so the home page's "My spaces") lists only the spaces the caller may open.

An active membership row is not enough: a ban in a space above, an ended share, or leaving the
home network takes the member out of the room (``can_read_chat``), and the space's own routes
answer 404/403 for them. The list follows the same predicates, decided for all spaces at once.
An archived space stays readable (read-only), so it stays listed; an outside facilitator stays
listed too.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Meeting, NetworkMember, Share, Space, SpaceMember
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token


async def _listed(client, token: str) -> set[str]:
    r = await client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()["spaces"]}


async def test_me_lists_only_spaces_the_member_may_read(client, db_session: AsyncSession) -> None:
    home = await make_network(db_session)
    guest_net = await make_network(db_session)
    other_home = await make_network(db_session)
    me = await make_account(db_session)
    token = await make_token(db_session, me)
    await add_member(db_session, home, me)
    await add_member(db_session, guest_net, me)
    await add_member(db_session, other_home, me)

    plain = await make_space(db_session, home, name="Plain")
    above = await make_space(db_session, home, name="Above")
    below = await make_space(db_session, home, name="Below", parent=above)
    host = await make_network(db_session)  # not one of mine: I am in its space as a guest
    shared = await make_space(db_session, host, name="Shared")
    archived = await make_space(db_session, home, name="Archived")
    left_network = await make_space(db_session, other_home, name="Left network")
    outside = await make_space(db_session, home, name="Outside facilitator")
    outsider_net = await make_network(db_session)
    outside_elsewhere = await make_space(db_session, outsider_net, name="Facilitated from outside")
    for space in (plain, above, below, archived, left_network):
        await add_space_member(db_session, space, me)
    await add_space_member(db_session, shared, me)  # a guest, through guest_net
    await add_space_member(db_session, outside, me, role="facilitator")
    db_session.add(
        SpaceMember(space_id=outside_elsewhere.id, account_id=me.id, role="facilitator", status="active", outside=True)
    )
    now = dt.datetime.now(dt.UTC)
    share = Share(
        id=uuid.uuid4(),
        space_id=shared.id,
        host_network_id=host.id,
        guest_network_id=guest_net.id,
        status="active",
        created_at=now,
        expires_at=now + dt.timedelta(days=30),
        decided_at=now,
    )
    db_session.add(share)
    soon = now + dt.timedelta(days=3)
    for space in (plain, above, below, shared, archived, left_network, outside, outside_elsewhere):
        db_session.add(
            Meeting(
                id=uuid.uuid4(),
                space_id=space.id,
                kind="virtual",
                title=f"Meeting of {space.name}",
                starts_at=soon,
                duration_minutes=60,
                components=[],
            )
        )
    await db_session.commit()
    r = await client.post("/api/v1/me/calendar-feed", headers=bearer(token))
    feed = "/calendar/feeds/" + r.json()["url"].split("/calendar/feeds/", 1)[1]

    everything = {plain, above, below, shared, archived, left_network, outside, outside_elsewhere}
    assert await _listed(client, token) == {str(s.id) for s in everything}
    ics = (await client.get(feed)).text
    assert all(f"Meeting of {space.name}" in ics for space in everything), ics

    # Banned above: the sub-space's active row no longer lets the member in.
    await db_session.execute(
        update(SpaceMember)
        .where(SpaceMember.space_id == above.id, SpaceMember.account_id == me.id)
        .values(status="banned")
    )
    # The share ended: the guest is no longer a guest.
    await db_session.execute(update(Share).where(Share.id == share.id).values(status="ended", ended_at=now))
    # The network removed them: no role in the space's home network any more.
    await db_session.execute(
        delete(NetworkMember).where(NetworkMember.network_id == other_home.id, NetworkMember.account_id == me.id)
    )
    # Archived: read-only, still readable.
    await db_session.execute(update(Space).where(Space.id == archived.id).values(archived_at=now))
    await db_session.commit()

    listed = await _listed(client, token)
    names = {
        str(s.id): s.name for s in (plain, above, below, shared, archived, left_network, outside, outside_elsewhere)
    }
    got = sorted(names[i] for i in listed)
    assert got == sorted(s.name for s in (plain, archived, outside, outside_elsewhere)), got
    # The member's calendar feed follows the same rule (it carries the meetings' join links).
    ics = (await client.get(feed)).text
    for space in everything:
        assert (f"Meeting of {space.name}" in ics) is (str(space.id) in listed), (space.name, ics)
    # Each space the list leaves out is one its own chat refuses, and each it keeps is one it opens.
    for space in (above, below, shared, left_network):
        r = await client.get(f"/api/v1/spaces/{space.id}/messages", headers=bearer(token))
        assert r.status_code in (403, 404), (space.name, r.status_code)
    for space in (plain, archived, outside, outside_elsewhere):
        r = await client.get(f"/api/v1/spaces/{space.id}/messages", headers=bearer(token))
        assert r.status_code == 200, (space.name, r.text)
