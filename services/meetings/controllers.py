"""HTTP handlers for a space's meetings (thin: parse, call, shape)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, Router, delete, get, patch, post, put
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.meetings import series, service
from services.meetings.schemas import (
    ExceptionSet,
    MeetingCreate,
    MeetingList,
    MeetingOut,
    MeetingPatch,
    SeriesCreate,
    SeriesList,
    SeriesOut,
    SeriesPatch,
)

From = Annotated[
    dt.datetime | None,
    QueryParameter(name="from", description="Meetings starting at or after (ISO 8601 with offset; default: now)"),
]
To = Annotated[
    dt.datetime | None, QueryParameter(name="to", description="Meetings starting before (ISO 8601 with offset)")
]
IncludeCancelled = Annotated[bool, Parameter(description="Also list cancelled meetings")]


class MeetingController(Controller):
    """A space's meetings: schedule (facilitators, admins), list (members, facilitators, admins)."""

    path = "/spaces/{space_id:uuid}/meetings"
    tags = ["meetings"]

    @post("/", summary="Schedule a meeting (facilitators of the space; network admins)", status_code=201)
    async def create(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: MeetingCreate
    ) -> MeetingOut:
        return await service.schedule(db_session, actor, space_id, data)

    @get("/", summary="The space's meetings (default: upcoming); members, facilitators, admins")
    async def list_meetings(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        since: From = None,
        until: To = None,
        include_cancelled: IncludeCancelled = False,
    ) -> MeetingList:
        return await service.list_meetings(
            db_session,
            actor,
            space_id,
            since=since,
            until=until,
            include_cancelled=include_cancelled,
            now=dt.datetime.now(dt.UTC),
        )

    @patch("/{meeting_id:uuid}", summary="Change a meeting (facilitators of the space; network admins)")
    async def update(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, meeting_id: uuid.UUID, data: MeetingPatch
    ) -> MeetingOut:
        return await service.update(db_session, actor, space_id, meeting_id, data)

    @delete(
        "/{meeting_id:uuid}",
        summary="Cancel a meeting (the record stays, with cancelled_at)",
        status_code=200,
    )
    async def cancel(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, meeting_id: uuid.UUID
    ) -> MeetingOut:
        return await service.cancel(db_session, actor, space_id, meeting_id, now=dt.datetime.now(dt.UTC))


class SeriesController(Controller):
    """A space's recurring meetings: one RFC 5545 rule, occurrences computed, exceptions stored."""

    path = "/spaces/{space_id:uuid}/series"
    tags = ["meetings"]

    @post("/", summary="Create a recurring meeting (facilitators of the space; network admins)", status_code=201)
    async def create(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: SeriesCreate
    ) -> SeriesOut:
        return await series.create(db_session, actor, space_id, data)

    @get("/", summary="The space's recurring meetings with their occurrences; members, facilitators, admins")
    async def list_series(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        include_cancelled: IncludeCancelled = False,
    ) -> SeriesList:
        return await series.list_series(db_session, actor, space_id, include_cancelled=include_cancelled)

    @get("/{series_id:uuid}", summary="One recurring meeting with its occurrences")
    async def read(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID
    ) -> SeriesOut:
        return await series.read(db_session, actor, space_id, series_id)

    @patch("/{series_id:uuid}", summary="Change a recurring meeting (facilitators of the space; network admins)")
    async def update(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID, data: SeriesPatch
    ) -> SeriesOut:
        return await series.update(db_session, actor, space_id, series_id, data)

    @delete("/{series_id:uuid}", summary="Cancel a recurring meeting (every occurrence)", status_code=200)
    async def cancel(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID
    ) -> SeriesOut:
        return await series.cancel(db_session, actor, space_id, series_id, now=dt.datetime.now(dt.UTC))

    @put("/{series_id:uuid}/exceptions", summary="Skip, cancel, move or restore one occurrence")
    async def set_exception(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID, data: ExceptionSet
    ) -> SeriesOut:
        return await series.set_exception(db_session, actor, space_id, series_id, data)


meetings_router = Router(path="/", route_handlers=[MeetingController, SeriesController], tags=["meetings"])
"""Every meetings route, registered with one line in ``services.app._api_routes``."""
