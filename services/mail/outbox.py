"""Writing e-mail into the outbox, in the caller's transaction.

An e-mail is a row in ``mail_outbox`` added to the same session (and so the same transaction)
as the event that causes it: if the event rolls back, no mail; if it commits, the mail stays
queued until the sender delivers it or gives up. After the commit the sender is woken (the
``mail_wake`` callable the app puts into every session's ``info``) so mail leaves at once
rather than at the next poll.

Every e-mail carries a one-click unsubscribe for its kind (RFC 8058 headers and a link in the
text): a signed token of address and kind, so it works without signing in. Links (the
unsubscribe link, a ``link`` path) are made when the e-mail is sent, from the settings the
sender has, so queuing mail needs no settings and any use case can do it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.crypto import b64url, mac, same
from services.persistence.models import MailOutbox
from services.persistence.session import on_commit
from services.settings import Settings

WAKE_KEY = "mail_wake"
"""Key in ``AsyncSession.info`` of the callable that wakes the sender (set by the app)."""
_UNSUBSCRIBE = "mail-unsubscribe"


def unsubscribe_token(settings: Settings, address: str, kind: str) -> str:
    """A token that lets whoever holds it stop ``kind`` e-mails to ``address`` (no sign-in)."""
    payload = f"{address.lower()}|{kind}"
    return b64url(payload.encode()) + "." + mac(settings.secret_key, _UNSUBSCRIBE, payload)


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[str, str] | None:
    """(address, kind) for a genuine token, else None."""
    if len(token) > 1200 or token.count(".") != 1:
        return None
    encoded, signature = token.split(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if "|" not in payload or not same(mac(settings.secret_key, _UNSUBSCRIBE, payload), signature):
        return None
    address, kind = payload.rsplit("|", 1)
    return address, kind


def unsubscribe_url(settings: Settings, address: str, kind: str) -> str:
    """The one-click unsubscribe link for ``kind`` e-mails to ``address``."""
    return f"{settings.base_url}/notifications/unsubscribe?t={unsubscribe_token(settings, address, kind)}"


LINK_HEADER = "_link"
"""Private outbox header: a path on this service the sender appends to the text as a full URL."""


def finish(settings: Settings, row: MailOutbox, body: str) -> tuple[str, dict[str, str]]:
    """The text and headers as sent: the row's link as a full URL, the unsubscribe link and headers."""
    link = unsubscribe_url(settings, row.to_address, row.kind)
    path = row.headers.get(LINK_HEADER)
    text = body.rstrip() + (f"\n\n{settings.base_url}{path}" if path else "")
    text += f"\n\n--\nTo stop e-mails like this one, open: {link}\n"
    return text, {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def enqueue(
    session: AsyncSession,
    *,
    to: str,
    kind: str,
    subject: str,
    body: str,
    account_id: uuid.UUID | None = None,
    notify_account_id: uuid.UUID | None = None,
    link: str | None = None,
) -> MailOutbox:
    """Queue one e-mail in the caller's transaction; it leaves after the commit.

    ``link`` is a path on this service; the sent text ends with it as a full URL, then with the
    unsubscribe link for its kind (also in the headers, for mail clients' own button).
    """
    row = MailOutbox(
        id=uuid.uuid4(),
        to_address=to,
        subject=subject[:300],
        body_text=body,
        kind=kind,
        account_id=account_id,
        notify_account_id=notify_account_id,
        headers={LINK_HEADER: link} if link else {},
        status="pending",
        attempts=0,
    )
    session.add(row)
    wake: Callable[[], Any] | None = session.info.get(WAKE_KEY)
    if wake is not None:

        async def after_commit() -> None:
            result = wake()
            if isinstance(result, Awaitable):
                await result

        on_commit(session, after_commit)
    return row
