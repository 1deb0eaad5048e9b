"""HTTP handlers for calendar feeds (thin: parse, call, shape)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, Response, Router, delete, get, post
from litestar.datastructures import State
from litestar.params import HeaderParameter, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.calendar import service
from services.calendar.schemas import FeedCreated, FeedStatus
from services.errors import NotFound
from services.settings import Settings

ICS = "text/calendar; charset=utf-8"
_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _ics(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type=ICS,
        headers={**_HEADERS, "Content-Disposition": f'inline; filename="{filename}"'},
    )


class MyFeedController(Controller):
    """The caller's secret calendar-feed URL: see whether one exists, make a new one, end it."""

    path = "/me/calendar-feed"
    tags = ["calendar"]

    @get("/", summary="Whether you have a calendar feed (the URL is shown only when made)")
    async def read(self, *, db_session: AsyncSession, actor: Actor) -> FeedStatus:
        return await service.status(db_session, actor)

    @post("/", summary="Make (or reset) your secret calendar-feed URL; any earlier one stops working", status_code=201)
    async def reset(self, *, db_session: AsyncSession, actor: Actor, state: State) -> FeedCreated:
        settings: Settings = state.settings
        return await service.reset(db_session, actor, base_url=settings.base_url)

    @delete("/", summary="End your calendar feed (its URL stops working)", status_code=204)
    async def revoke(self, *, db_session: AsyncSession, actor: Actor) -> None:
        await service.revoke(db_session, actor)


@get(
    "/spaces/{space_id:uuid}/calendar.ics",
    summary="The space's meetings as an iCalendar feed (people in the space)",
    tags=["calendar"],
    media_type=ICS,
)
async def space_feed(db_session: AsyncSession, actor: Actor, state: State, space_id: uuid.UUID) -> Response[bytes]:
    """RFC 5545 calendar of the space's meetings and series (from a year ago on)."""
    settings: Settings = state.settings
    body = await service.space_feed(
        db_session, actor, space_id, base_url=settings.base_url, now=dt.datetime.now(dt.UTC)
    )
    return _ics(body, "space.ics")


calendar_router = Router(path="/", route_handlers=[MyFeedController, space_feed], tags=["calendar"])
"""The calendar routes under /api/v1, registered with one line in ``services.app._api_routes``."""

FeedToken = Annotated[str, Parameter(description="The secret token, with .ics")]


@get(
    "/calendar/feeds/{token:str}",
    opt={"public": True},
    summary="A member's calendar feed by its secret URL (no sign-in: calendar apps poll it)",
    tags=["calendar"],
    media_type=ICS,
)
async def member_feed(
    db_session: AsyncSession,
    state: State,
    token: FeedToken,
    if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match", max_length=2000)] = None,
) -> Response[bytes]:
    """RFC 5545 calendar of every space the URL's owner belongs to; 304 when the app's copy
    (If-None-Match) is current."""
    if not token.endswith(".ics"):
        raise NotFound("No calendar feed has this address.", code="feed_not_found")
    settings: Settings = state.settings
    found = await service.member_feed_body(
        db_session,
        token.removesuffix(".ics"),
        base_url=settings.base_url,
        now=dt.datetime.now(dt.UTC),
        if_none_match=if_none_match,
    )
    # The app may keep its copy (private: no shared cache) but must ask again each time.
    headers = {**_HEADERS, "Cache-Control": "private, no-cache", "ETag": found.etag}
    if found.body is None:
        return Response(b"", status_code=304, headers=headers)
    return Response(
        found.body,
        media_type=ICS,
        headers={**headers, "Content-Disposition": 'inline; filename="affinity.ics"'},
    )
