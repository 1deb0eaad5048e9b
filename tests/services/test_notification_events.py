"""Who hears about what: join requests reach facilitators, decisions reach requesters, offered
shares reach the guest network's admins, and members are reminded the day before a meeting (once)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.notifications.reminders import send_reminders
from services.persistence.engine import create_sessionmaker
from services.persistence.models import MailOutbox, Meeting, Notification
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


async def _notes(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Notification.kind, Notification.title)
        .where(Notification.account_id == account_id)
        .order_by(Notification.created_at)
    )
    return [(k, t) for k, t in rows]


async def test_join_requests_reach_facilitators_and_decisions_reach_the_requester(client, db_session) -> None:
    net = await make_network(db_session)
    fac = await make_account(db_session, name="Fay")
    ana = await make_account(db_session, name="Ana")
    ben = await make_account(db_session, name="Ben")
    for a in (fac, ana, ben):
        await add_member(db_session, net, a)
    space = await make_space(
        db_session, net, name="Circle", join_mode="request", settings={"membership.join_mode": "request"}
    )
    await add_facilitators(db_session, space, fac)
    fh = bearer(await make_token(db_session, fac))
    ah = bearer(await make_token(db_session, ana))
    bh = bearer(await make_token(db_session, ben))
    await db_session.commit()
    ids = {"fac": fac.id, "ana": ana.id, "ben": ben.id, "space": space.id}
    ra = (await client.post(f"/api/v1/spaces/{ids['space']}/join", json={"message": "Hello!"}, headers=ah)).json()
    rb = (await client.post(f"/api/v1/spaces/{ids['space']}/join", json={}, headers=bh)).json()
    assert ra["outcome"] == rb["outcome"] == "requested"
    assert await _notes(db_session, ids["fac"]) == [
        ("join_request", "Ana asks to join Circle"),
        ("join_request", "Ben asks to join Circle"),
    ]
    mail = await db_session.scalar(select(MailOutbox).where(MailOutbox.account_id == ids["fac"]).limit(1))
    assert mail is not None and mail.kind == "join_request" and "Hello!" in mail.body_text
    r = await client.post(f"/api/v1/spaces/{ids['space']}/requests/{ra['request']['id']}/approve", headers=fh)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/spaces/{ids['space']}/requests/{rb['request']['id']}/decline", headers=fh)
    assert r.status_code == 200, r.text
    assert await _notes(db_session, ids["ana"]) == [("request_decided", "Your request to join Circle was approved")]
    assert await _notes(db_session, ids["ben"]) == [("request_decided", "Your request to join Circle was declined")]


async def test_an_offered_share_reaches_the_guest_networks_admins(client, db_session) -> None:
    host = await make_network(db_session, name="Kent")
    guest = await make_network(db_session, name="Puget ESD")
    host_admin, guest_admin, guest_member = (
        await make_account(db_session),
        await make_account(db_session),
        await make_account(db_session),
    )
    await add_member(db_session, host, host_admin, "admin")
    await add_member(db_session, guest, guest_admin, "admin")
    await add_member(db_session, guest, guest_member)
    space = await make_space(db_session, host, name="Book study", kind="topic")
    h = bearer(await make_token(db_session, host_admin))
    await db_session.commit()
    ids = (guest_admin.id, guest_member.id, space.id, guest.slug)
    r = await client.post(f"/api/v1/spaces/{ids[2]}/shares", json={"guest_network": ids[3]}, headers=h)
    assert r.status_code == 201, r.text
    assert await _notes(db_session, ids[0]) == [
        ("share_offered", "Kent offers to share “Book study” with your network")
    ]
    assert await _notes(db_session, ids[1]) == []


async def test_members_are_reminded_the_day_before_once(engine: AsyncEngine, db_session: AsyncSession) -> None:
    net = await make_network(db_session)
    ana, ben, gone = (await make_account(db_session), await make_account(db_session), await make_account(db_session))
    space = await make_space(db_session, net, name="Circle")
    await add_space_member(db_session, space, ana)
    await add_space_member(db_session, space, ben, role="facilitator")
    await add_space_member(db_session, space, gone, status="banned")
    now = dt.datetime(2031, 5, 1, 12, tzinfo=dt.UTC)
    for title, at, cancelled in (
        ("Soon", now + dt.timedelta(hours=20), None),
        ("Cancelled", now + dt.timedelta(hours=20), now),
        ("Next week", now + dt.timedelta(days=7), None),
    ):
        db_session.add(
            Meeting(
                id=uuid.uuid4(),
                space_id=space.id,
                kind="virtual",
                title=title,
                starts_at=at,
                duration_minutes=60,
                cancelled_at=cancelled,
            )
        )
    await db_session.commit()
    ids = (ana.id, ben.id, gone.id)
    maker = create_sessionmaker(engine)
    assert await send_reminders(maker, now=now) == 1
    assert await send_reminders(maker, now=now + dt.timedelta(minutes=15)) == 0  # never twice
    assert [t for _, t in await _notes(db_session, ids[0])] == ["Tomorrow: Soon (Circle)"]
    assert [t for _, t in await _notes(db_session, ids[1])] == ["Tomorrow: Soon (Circle)"]
    assert await _notes(db_session, ids[2]) == []
    assert (
        await db_session.scalar(
            select(func.count()).select_from(MailOutbox).where(MailOutbox.kind == "meeting_reminder")
        )
        == 2
    )
