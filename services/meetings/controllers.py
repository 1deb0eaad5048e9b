"""HTTP handlers for a space's meetings (thin: parse, call, shape)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, Response, Router, delete, get, patch, post, put
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.meetings import check_ins, events, series, service
from services.meetings.schemas import (
    AttendanceSet,
    CheckInList,
    CheckInOut,
    CheckInSet,
    EventCreate,
    EventList,
    EventOut,
    ExceptionSet,
    MeetingCreate,
    MeetingList,
    MeetingOut,
    MeetingPatch,
    OccurrenceAttendanceOut,
    OccurrenceAttendanceSet,
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
SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]
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

    @put("/{meeting_id:uuid}/attendance", summary="Record how many attended (facilitators; network admins)")
    async def attendance(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        meeting_id: uuid.UUID,
        data: AttendanceSet,
    ) -> MeetingOut:
        return await service.record_attendance(
            db_session, actor, space_id, meeting_id, data, now=dt.datetime.now(dt.UTC)
        )

    @post(
        "/{meeting_id:uuid}/check-in",
        summary="Check yourself in (members; from 15 minutes before the start to the end of its day)",
    )
    async def check_in(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, meeting_id: uuid.UUID
    ) -> Response[CheckInOut]:
        out = await check_ins.check_in_meeting(db_session, actor, space_id, meeting_id, now=dt.datetime.now(dt.UTC))
        return Response(out, status_code=200 if out.already else 201)

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

    @put("/{series_id:uuid}/attendance", summary="Record how many attended one occurrence")
    async def attendance(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        series_id: uuid.UUID,
        data: OccurrenceAttendanceSet,
    ) -> OccurrenceAttendanceOut:
        return await series.record_attendance(db_session, actor, space_id, series_id, data, now=dt.datetime.now(dt.UTC))

    @post("/{series_id:uuid}/check-in", summary="Check yourself in to one occurrence (members)")
    async def check_in(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID, data: CheckInSet
    ) -> Response[CheckInOut]:
        out = await check_ins.check_in_occurrence(
            db_session, actor, space_id, series_id, data, now=dt.datetime.now(dt.UTC)
        )
        return Response(out, status_code=200 if out.already else 201)

    @put("/{series_id:uuid}/exceptions", summary="Skip, cancel, move or restore one occurrence")
    async def set_exception(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID, data: ExceptionSet
    ) -> SeriesOut:
        return await series.set_exception(db_session, actor, space_id, series_id, data)


@get(
    "/spaces/{space_id:uuid}/check-ins",
    summary="Meetings open for check-in now, with your own check-in (and the counts, for facilitators)",
    tags=["meetings"],
)
async def list_check_ins(*, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> CheckInList:
    return await check_ins.list_check_ins(db_session, actor, space_id, now=dt.datetime.now(dt.UTC))


class EventController(Controller):
    """A network's events (a convening, a conference) that meetings can be held with."""

    path = "/networks/{slug:str}/events"
    tags = ["meetings"]

    @post("/", summary="Create a network event (network admins)", status_code=201)
    async def create(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: EventCreate) -> EventOut:
        return await events.create(db_session, actor, slug, data)

    @get("/", summary="The network's events (its members)")
    async def list_events(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> EventList:
        return await events.list_events(db_session, actor, slug)

    @delete("/{event_id:uuid}", summary="Cancel a network event (network admins)", status_code=200)
    async def cancel(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, event_id: uuid.UUID) -> EventOut:
        return await events.cancel(db_session, actor, slug, event_id, now=dt.datetime.now(dt.UTC))


meetings_router = Router(
    path="/", route_handlers=[MeetingController, SeriesController, EventController, list_check_ins], tags=["meetings"]
)
"""Every meetings route, registered with one line in ``services.app._api_routes``."""
