"""HTTP handlers of the notifications area: the caller's list and preferences (API), and the
one-click unsubscribe pages reached from e-mails (no sign-in: the signed token is the proof)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post, put
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.principal import Principal
from services.mail import outbox
from services.notifications import service
from services.notifications.schemas import NotificationList, PreferenceList, PreferenceOut, PreferenceSet
from services.rendering import render
from services.settings import Settings

Limit = Annotated[int, Parameter(ge=1, le=200, description="At most this many (newest first)")]
Token = Annotated[str, QueryParameter(name="t", max_length=1200, description="The token from the e-mail's link")]


class MyNotificationsController(Controller):
    """The caller's in-app notifications and per-kind channel choices."""

    path = "/me"
    tags = ["notifications"]

    @get("/notifications", summary="Your notifications, newest first, with the unread count")
    async def list_notifications(
        self, db_session: AsyncSession, principal: Principal, limit: Limit = 50
    ) -> NotificationList:
        return await service.list_mine(db_session, principal.account_id, limit)

    @post("/notifications/{notification_id:uuid}/read", summary="Mark one of your notifications read", status_code=204)
    async def mark_read(self, db_session: AsyncSession, principal: Principal, notification_id: uuid.UUID) -> None:
        await service.mark_read(db_session, principal.account_id, notification_id)

    @get("/notification-preferences", summary="Your channel (email, in_app, off) for every kind of notification")
    async def preferences(self, db_session: AsyncSession, principal: Principal) -> PreferenceList:
        return await service.preferences(db_session, principal.account_id)

    @put("/notification-preferences/{kind:str}", summary="Choose email, in_app or off for one kind", status_code=200)
    async def set_preference(
        self,
        db_session: AsyncSession,
        principal: Principal,
        kind: Annotated[str, Parameter(max_length=40)],
        data: PreferenceSet,
    ) -> PreferenceOut:
        return await service.set_preference(db_session, principal.account_id, kind, data)


_PUBLIC = {"public": True}


def _bad_link() -> Response[str]:
    return render(
        "message.html",
        status=400,
        title="This unsubscribe link does not work",
        message="The link is damaged or incomplete. Copy the whole link from the e-mail, or sign in and choose "
        "which e-mails you get on your home page.",
        problem=True,
        link="/",
        link_text="Go to the home page",
    )


class UnsubscribeController(Controller):
    """One-click unsubscribe from e-mails of one kind (RFC 8058: mail clients POST to the link)."""

    path = "/notifications/unsubscribe"
    tags = ["notifications"]

    @get("/", opt=_PUBLIC, summary="Confirm stopping one kind of e-mail (HTML)", media_type=MediaType.HTML)
    async def confirm(self, request: Request[Any, Any, Any], t: Token) -> Response[str]:
        settings: Settings = request.app.state.settings
        found = outbox.read_unsubscribe_token(settings, t)
        if found is None:
            return _bad_link()
        address, kind = found
        return render(
            "unsubscribe.html", title="Stop these e-mails", address=address, kind=kind.replace("_", " "), token=t
        )

    @post("/", opt=_PUBLIC, summary="Stop one kind of e-mail (one click)", media_type=MediaType.HTML, status_code=200)
    async def unsubscribe(self, request: Request[Any, Any, Any], db_session: AsyncSession, t: Token) -> Response[str]:
        # No CSRF token: the signed token in the link is the whole authority, and all it can do
        # is stop e-mail of one kind to one address (what RFC 8058 one-click needs).
        settings: Settings = request.app.state.settings
        found = await service.unsubscribe(db_session, settings, t)
        if found is None:
            return _bad_link()
        address, kind = found
        return render(
            "message.html",
            title="Unsubscribed",
            message=f"No more “{kind.replace('_', ' ')}” e-mails will go to {address}. Signed-in members still see "
            "these in their notifications on the home page and can change this there.",
            link="/",
            link_text="Go to the home page",
        )
