"""Who hears about what: join requests reach facilitators, decisions reach requesters, offered
shares reach the guest network's admins, and members are reminded the day before a meeting (once)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.meetings.reminders import send_reminders
from services.persistence.engine import create_sessionmaker
from services.persistence.models import MailOutbox, Meeting, MeetingSeries, MeetingSeriesException, Notification
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


async def test_reminders_follow_the_network_day_across_a_daylight_saving_change(
    engine: AsyncEngine, db_session: AsyncSession
) -> None:
    """New York leaves daylight saving on Sunday 2 November 2031: that Sunday is 25 hours long.
    Reminders go out from 09:00 local on the day before, once per meeting, restarts included."""
    ny = await make_network(db_session, slug="nyc")
    ny.time_zone = "America/New_York"
    utc = await make_network(db_session, slug="utc")
    ana = await make_account(db_session)
    space = await make_space(db_session, ny, name="Circle")
    other = await make_space(db_session, utc, name="Elsewhere")
    await add_space_member(db_session, space, ana)
    await add_space_member(db_session, other, ana)
    z = dt.UTC
    for where, title, at in (
        (space, "Saturday night", dt.datetime(2031, 11, 2, 0, 0, tzinfo=z)),  # Sat 1 Nov 20:00 EDT: today
        (space, "Sunday early", dt.datetime(2031, 11, 2, 4, 30, tzinfo=z)),  # Sun 00:30 EDT
        (space, "Sunday late", dt.datetime(2031, 11, 3, 4, 30, tzinfo=z)),  # Sun 23:30 EST
        (space, "Monday", dt.datetime(2031, 11, 3, 5, 30, tzinfo=z)),  # Mon 00:30 EST
        (other, "UTC Sunday", dt.datetime(2031, 11, 2, 3, 0, tzinfo=z)),  # Sun 03:00 in the UTC network
    ):
        db_session.add(
            Meeting(id=uuid.uuid4(), space_id=where.id, kind="virtual", title=title, starts_at=at, duration_minutes=60)
        )
    # A weekly series on Sunday evenings (20:00 local): 26 Oct (EDT), 2 Nov and 9 Nov (EST; skipped)
    series = MeetingSeries(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="virtual",
        title="Weekly circle",
        start_local=dt.datetime(2031, 10, 26, 20),
        time_zone="America/New_York",
        rule="FREQ=WEEKLY;COUNT=3",
        duration_minutes=60,
        components=[],
        first_start=dt.datetime(2031, 10, 27, 0, tzinfo=z),
        last_start=dt.datetime(2031, 11, 10, 1, tzinfo=z),
    )
    db_session.add(series)
    await db_session.flush()
    db_session.add(
        MeetingSeriesException(series_id=series.id, original_start=dt.datetime(2031, 11, 10, 1, tzinfo=z), kind="skip")
    )
    await db_session.commit()
    maker = create_sessionmaker(engine)
    # Saturday 08:59 EDT: New York's reminders are not due; the UTC network's (12:59 there) are
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 1, 12, 59, tzinfo=z), hour=9) == 1
    # Saturday 09:00 EDT: the whole 25-hour Sunday, not the next 24 hours (two meetings and the
    # series' occurrence on Sunday evening)
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 1, 13, 0, tzinfo=z), hour=9) == 3
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 1, 13, 0, tzinfo=z), hour=9) == 0  # a restart
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 2, 3, 0, tzinfo=z), hour=9) == 0  # Sat 23:00
    # Sunday 09:00 is 14:00 UTC now (EST): Monday's meeting then, and only then
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 2, 13, 30, tzinfo=z), hour=9) == 0
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 2, 14, 0, tzinfo=z), hour=9) == 1
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 2, 14, 15, tzinfo=z), hour=9) == 0
    # the skipped occurrence (Sunday 9 November) is not reminded
    assert await send_reminders(maker, now=dt.datetime(2031, 11, 8, 14, 0, tzinfo=z), hour=9) == 0
    notes = await _notes(db_session, ana.id)
    assert sorted(t for _, t in notes) == [
        "Tomorrow: Monday (Circle)",
        "Tomorrow: Sunday early (Circle)",
        "Tomorrow: Sunday late (Circle)",
        "Tomorrow: UTC Sunday (Elsewhere)",
        "Tomorrow: Weekly circle (Circle)",
    ]
    body = await db_session.scalar(
        select(Notification.body).where(Notification.title == "Tomorrow: Weekly circle (Circle)")
    )
    assert body == "Weekly circle of Circle starts Sunday 02 November at 20:00 EST."
    body = await db_session.scalar(
        select(Notification.body).where(Notification.title == "Tomorrow: Sunday late (Circle)")
    )
    assert body == "Sunday late of Circle starts Sunday 02 November at 23:30 EST."
