"""The background sender: delivers due outbox rows with retries and backoff.

Each row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` in its own short transaction,
sent, and marked ``sent`` in that same transaction, so:

- several app processes can run the sender at once without sending a row twice (a claimed row
  is skipped by the others);
- a restart never re-sends what was marked sent, and never loses what was not: a process that
  dies mid-send rolls its transaction back and the row is due again. (The only window for a
  duplicate is a crash between the SMTP server's "250 OK" and our commit; the Message-ID is
  the row's id, stable across attempts, so mail systems can tell the two apart.)

A passing failure (timeout, 4xx, connection refused) waits 30 s, 60 s, 120 s … up to 6 hours
before the next attempt; after ``AFFINITY_MAIL_MAX_ATTEMPTS`` attempts, or at once on a
permanent refusal (5xx), the row is marked ``failed`` and the person who caused the e-mail
(and the recipient, when they have an account) gets an in-app notification saying so.
Nothing here ever raises into a request: requests only write rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.notifications import MAIL_FAILED
from services.invitations import tokens
from services.mail import outbox
from services.mail.transport import DeliveryError, SmtpTransport, Transport
from services.persistence.models import MailOutbox, MailSuppression, Notification
from services.settings import Settings

log = logging.getLogger("affinity.mail")

FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=6)
BATCH = 100
"""Rows one run delivers at most before yielding (the next run continues)."""


def retry_delay(attempts: int) -> dt.timedelta:
    """The pause after the ``attempts``-th failed attempt (1, 2, ...): doubling, capped."""
    delay: dt.timedelta = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 20))
    return min(delay, MAX_RETRY)


def build_message(settings: Settings, row: MailOutbox) -> EmailMessage:
    """The RFC 5322 message for an outbox row."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    message["Message-ID"] = f"<{row.id.hex}@{domain}>"  # stable across attempts: duplicates are recognisable
    message["Auto-Submitted"] = "auto-generated"
    body = row.body_text
    for name, value in row.headers.items():
        if name == tokens.HEADER:  # a link whose token is never stored: rebuild it now
            body = tokens.expand(settings.secret_key, settings.base_url, body, str(value))
        elif not name.startswith("_"):  # "_..." headers are private to the outbox
            message[name] = str(value)
    body, extra = outbox.finish(settings, row, body)
    for name, value in extra.items():
        message[name] = value
    message.set_content(body)
    return message


@dataclass
class DeliveryReport:
    """What one run did."""

    sent: list[uuid.UUID] = field(default_factory=list)
    retried: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    suppressed: list[uuid.UUID] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return len(self.sent) + len(self.retried) + len(self.failed) + len(self.suppressed)


async def _claim(session: AsyncSession, now: dt.datetime) -> MailOutbox | None:
    return await session.scalar(
        select(MailOutbox)
        .where(MailOutbox.status == "pending", MailOutbox.next_attempt_at <= now)
        .order_by(MailOutbox.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def _suppressed(session: AsyncSession, row: MailOutbox) -> bool:
    found = await session.scalar(
        select(MailSuppression.kind).where(
            MailSuppression.address == row.to_address.lower(), MailSuppression.kind == row.kind
        )
    )
    return found is not None


def _tell_failure(session: AsyncSession, row: MailOutbox) -> None:
    """The visible end of a failed delivery: in-app notifications, never an exception."""
    told = {a for a in (row.notify_account_id, row.account_id) if a is not None}
    for account_id in told:
        session.add(
            Notification(
                id=uuid.uuid4(),
                account_id=account_id,
                kind=MAIL_FAILED,
                title=f"An e-mail to {row.to_address} could not be delivered",
                body=f'"{row.subject}" was not delivered: {row.last_error or "unknown error"}. '
                "Check the address; you can send it again.",
                link=None,
            )
        )


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    transport: Transport,
    *,
    now: dt.datetime | None = None,
    limit: int = BATCH,
) -> DeliveryReport:
    """Deliver up to ``limit`` due rows, each in its own transaction (see the module doc)."""
    report = DeliveryReport()
    while report.handled < limit:
        at = now or dt.datetime.now(dt.UTC)
        async with sessionmaker() as session, session.begin():
            row = await _claim(session, at)
            if row is None:
                break
            if await _suppressed(session, row):
                row.status = "suppressed"
                report.suppressed.append(row.id)
                continue
            row.attempts += 1
            try:
                await transport.send(build_message(settings, row))
            except DeliveryError as exc:
                row.last_error = str(exc)[:2000]
                if exc.permanent or row.attempts >= settings.mail_max_attempts:
                    row.status = "failed"
                    _tell_failure(session, row)
                    report.failed.append(row.id)
                    log.warning("mail %s to %s failed for good: %s", row.id, row.to_address, exc)
                else:
                    row.next_attempt_at = at + retry_delay(row.attempts)
                    report.retried.append(row.id)
                    log.info("mail %s attempt %d failed, retrying: %s", row.id, row.attempts, exc)
            else:
                row.status, row.sent_at, row.last_error = "sent", at, None
                row.headers = {k: v for k, v in row.headers.items() if k != tokens.HEADER}  # no link to rebuild now
                report.sent.append(row.id)
    return report


@dataclass
class MailRuntime:
    """The lifespan's handle on the sender (a no-op when mail is off)."""

    task: asyncio.Task[None] | None
    event: asyncio.Event

    def wake(self) -> None:
        """Deliver now rather than at the next poll (called after a commit that queued mail)."""
        self.event.set()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def start_mail(state: Any, settings: Settings, transport: Transport | None = None) -> MailRuntime:
    """Start the sender, or log that mail is off when no SMTP server is configured."""
    event = asyncio.Event()
    if settings.smtp_host is None and transport is None:
        log.info(
            "mail is off (AFFINITY_SMTP_HOST is not set): e-mails stay queued in the outbox, "
            "in-app notifications work as usual"
        )
        return MailRuntime(task=None, event=event)
    chosen: Transport = transport or SmtpTransport.from_settings(settings)
    sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker

    async def loop() -> None:
        while True:
            try:
                report = await deliver_due(sessionmaker, settings, chosen)
                if report.handled >= BATCH:
                    continue  # more may be due
            except Exception:
                log.exception("mail sender run failed; trying again at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=settings.mail_poll_seconds)
            event.clear()

    return MailRuntime(task=asyncio.get_running_loop().create_task(loop()), event=event)
