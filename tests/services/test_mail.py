"""The e-mail outbox and its sender, against a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.app import create_app
from services.mail import outbox
from services.mail.sender import deliver_due, retry_delay
from services.mail.transport import SmtpTransport
from services.persistence.engine import create_sessionmaker
from services.persistence.models import MailOutbox, MailSuppression, Notification
from services.settings import Settings
from tests.factories import make_account
from tests.services.mailserver import Mailbox, smtp_server


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return msgspec.structs.replace(
        settings,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        smtp_security="none",
        mail_from="Kent Affinity <affinity@kent.example.org>",
        mail_max_attempts=3,
        mail_poll_seconds=0.2,
        public_url="http://affinity.test",
    )


def _transport(s: Settings) -> SmtpTransport:
    return SmtpTransport.from_settings(s)


async def _queue(session: AsyncSession, s: Settings, to: str = "ana@example.org", **kw: object) -> MailOutbox:
    row = outbox.enqueue(session, to=to, kind="invitation", subject="You are invited", body="Come in.", **kw)  # type: ignore[arg-type]
    await session.commit()
    return row


async def test_a_rolled_back_event_writes_no_mail(db_session: AsyncSession, mail_settings: Settings) -> None:
    outbox.enqueue(db_session, to="ana@example.org", kind="invitation", subject="x", body="y")
    await db_session.rollback()
    assert await db_session.scalar(select(func.count()).select_from(MailOutbox)) == 0


async def test_queued_mail_is_delivered_once_with_unsubscribe(
    engine: AsyncEngine, db_session: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    row = await _queue(db_session, mail_settings)
    maker = create_sessionmaker(engine)
    report = await deliver_due(maker, mail_settings, _transport(mail_settings))
    assert report.sent == [row.id]
    [message] = mailbox.messages
    assert message["Subject"] == "You are invited"
    assert message["From"] == "Kent Affinity <affinity@kent.example.org>"
    assert message["Message-ID"] == f"<{row.id.hex}@kent.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://affinity.test/notifications/unsubscribe?t=")
    assert link in message.get_content()
    # A second run (e.g. after a restart) sends nothing again.
    again = await deliver_due(maker, mail_settings, _transport(mail_settings))
    assert again.handled == 0
    assert len(mailbox.messages) == 1
    await db_session.refresh(row)
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.sent_at is not None


async def test_two_senders_at_once_send_each_message_once(
    engine: AsyncEngine, db_session: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    for n in range(6):
        await _queue(db_session, mail_settings, to=f"p{n}@example.org")
    maker = create_sessionmaker(engine)
    reports = await asyncio.gather(*(deliver_due(maker, mail_settings, _transport(mail_settings)) for _ in range(2)))
    assert sum(len(r.sent) for r in reports) == 6
    assert sorted(m["To"] for m in mailbox.messages) == sorted(f"p{n}@example.org" for n in range(6))


async def test_passing_failures_retry_with_backoff_then_fail_visibly(
    engine: AsyncEngine, db_session: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    inviter = await make_account(db_session)
    row = await _queue(db_session, mail_settings, notify_account_id=inviter.id)
    maker = create_sessionmaker(engine)
    mailbox.refuse_with = "451 4.3.0 Try again later"
    now = dt.datetime.now(dt.UTC)
    first = await deliver_due(maker, mail_settings, _transport(mail_settings), now=now)
    assert first.retried == [row.id]
    await db_session.refresh(row)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == now + retry_delay(1)
    # Not due yet: nothing is tried.
    assert (await deliver_due(maker, mail_settings, _transport(mail_settings), now=now)).handled == 0
    later = now + dt.timedelta(hours=1)
    assert (await deliver_due(maker, mail_settings, _transport(mail_settings), now=later)).retried == [row.id]
    much_later = now + dt.timedelta(days=1)
    assert (await deliver_due(maker, mail_settings, _transport(mail_settings), now=much_later)).failed == [row.id]
    await db_session.refresh(row)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "451" in (row.last_error or "")
    told = (await db_session.scalars(select(Notification).where(Notification.account_id == inviter.id))).all()
    assert [n.kind for n in told] == ["mail_failed"]
    assert "ana@example.org" in told[0].title
    assert mailbox.messages == []


async def test_a_permanent_refusal_fails_at_once(
    engine: AsyncEngine, db_session: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    row = await _queue(db_session, mail_settings)
    mailbox.refuse_with = "550 5.1.1 No such user"
    report = await deliver_due(create_sessionmaker(engine), mail_settings, _transport(mail_settings))
    assert report.failed == [row.id]


async def test_an_unreachable_server_is_a_retry_not_an_error(
    engine: AsyncEngine, db_session: AsyncSession, mail_settings: Settings
) -> None:
    row = await _queue(db_session, mail_settings)
    closed = msgspec.structs.replace(mail_settings, smtp_port=1)
    report = await deliver_due(create_sessionmaker(engine), closed, _transport(closed))
    assert report.retried == [row.id]


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(40) == dt.timedelta(hours=6)


async def test_one_click_unsubscribe_stops_that_kind(
    engine: AsyncEngine, db_session: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    app = create_app(mail_settings)
    token = outbox.unsubscribe_token(mail_settings, "Ana@Example.org", "invitation")
    async with AsyncTestClient(app=app, base_url="http://affinity.test") as client:
        page = await client.get("/notifications/unsubscribe", params={"t": token})
        assert page.status_code == 200 and "ana@example.org" in page.text
        tampered = await client.post("/notifications/unsubscribe", params={"t": token[:-2] + "xx"})
        assert tampered.status_code == 400
        assert await db_session.scalar(select(func.count()).select_from(MailSuppression)) == 0
        # What a mail client sends for List-Unsubscribe-Post (no cookies, no CSRF token).
        done = await client.post(
            "/notifications/unsubscribe", params={"t": token}, data={"List-Unsubscribe": "One-Click"}
        )
        assert done.status_code == 200, done.text
    row = await _queue(db_session, mail_settings, to="ana@example.org")
    other = outbox.enqueue(
        db_session, to="ana@example.org", kind="meeting_reminder", subject="Tomorrow", body="Meeting"
    )
    await db_session.commit()
    report = await deliver_due(create_sessionmaker(engine), mail_settings, _transport(mail_settings))
    assert report.suppressed == [row.id]
    assert report.sent == [other.id]
    assert [m["Subject"] for m in mailbox.messages] == ["Tomorrow"]


async def test_the_app_sends_queued_mail_in_the_background(
    engine: AsyncEngine, db_session: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    await _queue(db_session, mail_settings)
    async with AsyncTestClient(app=create_app(mail_settings)):
        await asyncio.to_thread(mailbox.wait, 1)
    assert mailbox.messages[0]["To"] == "ana@example.org"


async def test_without_smtp_mail_is_off_and_stays_queued(
    db_session: AsyncSession, settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    row = await _queue(db_session, settings)
    settings = msgspec.structs.replace(settings, log_level="INFO")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health")).status_code == 200
    assert "mail is off (AFFINITY_SMTP_HOST is not set)" in capfd.readouterr().err
    await db_session.refresh(row)
    assert row.status == "pending"
    assert uuid.UUID(str(row.id))
