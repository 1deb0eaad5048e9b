"""Notification use cases: notify a member (in-app and/or e-mail by their choice), list, choose, unsubscribe.

:func:`notify` is what other areas call, inside their own transaction, when something happens
that a member should hear about; the in-app row and the outbox row commit (or roll back) with
the event.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.notifications import DEFAULT_CHANNEL, Channel, Kind, after_unsubscribe, deliveries
from services.errors import NotFound, Unprocessable
from services.mail import outbox
from services.notifications import repository
from services.notifications.schemas import (
    NotificationList,
    NotificationOut,
    PreferenceList,
    PreferenceOut,
    PreferenceSet,
)
from services.persistence.models import Notification
from services.settings import Settings

DESCRIPTIONS = {
    Kind.INVITATION: "Someone invites you to a space",
    Kind.JOIN_REQUEST: "Someone asks to join a space you facilitate",
    Kind.REQUEST_DECIDED: "Your request to join a space was answered",
    Kind.PROPOSAL_DECIDED: "Your proposed group was approved, declined or has a question",
    Kind.PROPOSAL_SUBMITTED: "A member proposed a new group in a network you administer",
    Kind.FACILITATION_REQUEST: "Someone proposes a group and asks you to facilitate it",
    Kind.SHARE_OFFERED: "Another network offers to share a space with a network you administer",
    Kind.MEETING_REMINDER: "A meeting of one of your spaces is tomorrow",
}


async def channel_of(session: AsyncSession, account_id: uuid.UUID, kind: Kind) -> Channel:
    """The member's channel for ``kind`` (default: e-mail and in-app)."""
    stored = await repository.channel(session, account_id, kind.value)
    return Channel(stored) if stored else DEFAULT_CHANNEL


async def notify(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    kind: Kind,
    title: str,
    body: str = "",
    link: str | None = None,
    notify_on_failure: uuid.UUID | None = None,
    in_app_only: bool = False,
) -> None:
    """Tell a member about something, in the caller's transaction, as they chose for ``kind``.

    ``link`` is a path on this service (e.g. ``/spaces/<id>``); e-mails show it as a full URL.
    Needs no settings: the sender makes the e-mail's links when it sends.
    ``in_app_only``: the caller sends its own e-mail (e.g. an invitation with its link).
    """
    in_app, by_mail = deliveries(await channel_of(session, account_id, kind))
    by_mail = by_mail and not in_app_only
    found = await repository.recipient(session, account_id)
    if found is None or not found[1]:
        return
    if in_app:
        session.add(
            Notification(
                id=uuid.uuid4(), account_id=account_id, kind=kind.value, title=title[:300], body=body[:2000], link=link
            )
        )
    if by_mail:
        outbox.enqueue(
            session,
            to=found[0],
            kind=kind.value,
            subject=title,
            body=body or title,
            link=link,
            account_id=account_id,
            notify_account_id=notify_on_failure,
        )


async def list_mine(session: AsyncSession, account_id: uuid.UUID, limit: int) -> NotificationList:
    """The caller's newest notifications."""
    items, unread = await repository.listing(session, account_id, limit)
    return NotificationList(
        items=[
            NotificationOut(
                id=n.id,
                kind=n.kind,
                title=n.title,
                body=n.body,
                link=n.link,
                created_at=n.created_at,
                read=n.read_at is not None,
            )
            for n in items
        ],
        unread=unread,
    )


async def mark_read(session: AsyncSession, account_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    """Mark one of the caller's notifications read."""
    if not await repository.mark_read(session, account_id, notification_id, dt.datetime.now(dt.UTC)):
        raise NotFound(f"You have no notification with id {notification_id}.", code="notification_not_found")


async def preferences(session: AsyncSession, account_id: uuid.UUID) -> PreferenceList:
    """The caller's channel for every kind."""
    stored = await repository.channels(session, account_id)
    return PreferenceList(
        items=[
            PreferenceOut(kind=k.value, channel=stored.get(k.value, DEFAULT_CHANNEL.value), description=DESCRIPTIONS[k])  # type: ignore[arg-type]
            for k in Kind
        ]
    )


def _kind(raw: str) -> Kind:
    try:
        return Kind(raw)
    except ValueError:
        raise Unprocessable(
            f"There is no notification kind {raw!r}; use one of: {', '.join(k.value for k in Kind)}.",
            code="unknown_kind",
            details={"field": "kind"},
        ) from None


async def set_preference(session: AsyncSession, account_id: uuid.UUID, kind: str, data: PreferenceSet) -> PreferenceOut:
    """Choose e-mail, in-app or off for one kind."""
    chosen = _kind(kind)
    await repository.set_channel(session, account_id, chosen.value, data.channel)
    return PreferenceOut(kind=chosen.value, channel=data.channel, description=DESCRIPTIONS[chosen])


async def unsubscribe(session: AsyncSession, settings: Settings, token: str) -> tuple[str, str] | None:
    """Apply a one-click unsubscribe: no more ``kind`` mail to the address; accounts with that
    address keep the in-app list. Returns (address, kind), or None for a bad token."""
    found = outbox.read_unsubscribe_token(settings, token)
    if found is None:
        return None
    address, kind = found
    await repository.suppress(session, address, kind)
    if kind in {k.value for k in Kind}:
        for account_id in await repository.accounts_by_email(session, address):
            current = await channel_of(session, account_id, Kind(kind))
            await repository.set_channel(session, account_id, kind, after_unsubscribe(current).value)
    return address, kind
