"""The caller's notifications and per-kind preferences; notify() honours them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.notifications import Kind
from services.notifications.service import notify
from services.persistence.models import MailOutbox, Notification
from services.settings import Settings
from tests.factories import bearer, make_account, make_token


async def test_notify_follows_the_members_choice(client, db_session: AsyncSession, settings: Settings) -> None:
    ana = await make_account(db_session, email="ana@example.org")
    token = await make_token(db_session, ana)
    await db_session.commit()
    h = bearer(token)
    # Default: e-mail and in-app.
    await notify(db_session, account_id=ana.id, kind=Kind.REQUEST_DECIDED, title="Approved", link="/")
    await db_session.commit()
    r = await client.get("/api/v1/me/notifications", headers=h)
    assert r.status_code == 200
    assert [(n["title"], n["read"]) for n in r.json()["items"]] == [("Approved", False)]
    assert r.json()["unread"] == 1
    assert await db_session.scalar(select(func.count()).select_from(MailOutbox)) == 1
    # In-app only: no more mail. Off: nothing at all.
    r = await client.put("/api/v1/me/notification-preferences/request_decided", json={"channel": "in_app"}, headers=h)
    assert r.status_code == 200 and r.json()["channel"] == "in_app"
    await notify(db_session, account_id=ana.id, kind=Kind.REQUEST_DECIDED, title="Again")
    r = await client.put("/api/v1/me/notification-preferences/meeting_reminder", json={"channel": "off"}, headers=h)
    await notify(db_session, account_id=ana.id, kind=Kind.MEETING_REMINDER, title="Tomorrow")
    await db_session.commit()
    assert await db_session.scalar(select(func.count()).select_from(MailOutbox)) == 1
    titles = (await db_session.scalars(select(Notification.title).order_by(Notification.created_at))).all()
    assert sorted(titles) == ["Again", "Approved"]
    prefs = {
        p["kind"]: p["channel"]
        for p in (await client.get("/api/v1/me/notification-preferences", headers=h)).json()["items"]
    }
    assert (
        prefs["request_decided"] == "in_app" and prefs["meeting_reminder"] == "off" and prefs["invitation"] == "email"
    )
    first = await client.get("/api/v1/me/notifications", headers=h)
    nid = first.json()["items"][0]["id"]
    assert (await client.post(f"/api/v1/me/notifications/{nid}/read", headers=h)).status_code == 204
    assert (await client.get("/api/v1/me/notifications", headers=h)).json()["unread"] == 1


async def test_someone_elses_notification_is_not_found(client, db_session: AsyncSession, settings: Settings) -> None:
    ana, ben = await make_account(db_session), await make_account(db_session)
    token = await make_token(db_session, ben)
    await notify(db_session, account_id=ana.id, kind=Kind.INVITATION, title="For Ana")
    await db_session.commit()
    nid = await db_session.scalar(select(Notification.id))
    r = await client.post(f"/api/v1/me/notifications/{nid}/read", headers=bearer(token))
    assert r.status_code == 404 and r.json()["error"]["code"] == "notification_not_found"
    assert await db_session.scalar(select(Notification.read_at)) is None


async def test_bad_preferences_are_refused(client, db_session: AsyncSession) -> None:
    ana = await make_account(db_session)
    h = bearer(await make_token(db_session, ana))
    await db_session.commit()
    r = await client.put("/api/v1/me/notification-preferences/gossip", json={"channel": "email"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_kind"
    r = await client.put("/api/v1/me/notification-preferences/invitation", json={"channel": "pigeon"}, headers=h)
    assert r.status_code == 422 and "channel" in r.text
    r = await client.get("/api/v1/me/notifications", params={"limit": 0}, headers=h)
    assert r.status_code in {400, 422}


async def test_anonymous_callers_are_refused(client) -> None:
    assert (await client.get("/api/v1/me/notifications")).status_code == 401
