"""Self check-in: a member says "I was there" from the meeting's page, once per meeting.

Who may (``federation.meetings.can_check_in``: the people in the room) and when
(``check_in_window``: from 15 minutes before the start to the end of the meeting's day in the
network's zone) are decided in ``federation``; here they are applied, then the row is written
with ``ON CONFLICT DO NOTHING`` (checking in again is a 200 ``already``). Single meetings and
occurrences of series alike, as attendance counts are. Only counts ever leave: members see
whether they themselves checked in; those who record attendance see the recorded count, the
number of check-ins and the resulting figure; nobody sees who.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.meetings import (
    CheckInState,
    CheckInWindow,
    can_check_in,
    can_see_attendance,
    check_in_window,
    effective_attendance,
)
from federation.permissions import Actor
from federation.schedule import ScheduleError, check_exception, time_zone, zone_abbreviation
from services.errors import Conflict, Forbidden, NotFound
from services.meetings import occurrences, repository
from services.meetings.schemas import CheckInList, CheckInOut, CheckInSet
from services.meetings.service import invalid, load, network_zone
from services.spaces import access
from services.spaces.access import SpaceContext

LOOK_BACK = dt.timedelta(days=2)
"""How far back ``GET /check-ins`` looks: every window has closed by then (a day and a meeting's
longest length at most)."""


def _when(instant: dt.datetime, zone: str) -> str:
    tz = time_zone(zone)
    return f"{instant.astimezone(tz):%a %d %b %Y, %H:%M} {zone_abbreviation(instant, tz)}"


def _refuse(window: CheckInWindow, state: CheckInState, zone: str) -> None:
    """A 409 with a sentence saying when check-in opens or when it closed."""
    if state is CheckInState.NOT_YET:
        raise Conflict(
            f"Check-in is not open yet: it opens at {_when(window.opens, zone)}, 15 minutes before the meeting.",
            code="check_in_not_open",
            details={"opens_at": window.opens.isoformat()},
        )
    if state is CheckInState.CLOSED:
        raise Conflict(
            f"Check-in for this meeting closed at {_when(window.closes, zone)} (the end of the meeting's day); "
            "ask a facilitator to include you in the recorded count.",
            code="check_in_closed",
            details={"closes_at": window.closes.isoformat()},
        )


async def _load(session: AsyncSession, actor: Actor, space_id: uuid.UUID, *, write: bool) -> SpaceContext:
    """The space (the missing-space 404 for those who may not see its meetings); with ``write``
    a 403 for people who see the meetings but are not in the room (network admins, operators)."""
    ctx = await load(session, actor, space_id, manage=False)
    if write and not can_check_in(ctx.who, ctx.facts):
        raise Forbidden(
            "Only the space's members check themselves in; admins record attendance as a count instead.",
            code="forbidden",
        )
    if write:
        access.refuse_if_archived(ctx.space)  # read-only while archived
    return ctx


def _out(
    ctx: SpaceContext,
    *,
    title: str,
    starts_at: dt.datetime,
    duration_minutes: int,
    zone: str,
    shown_zone: str,
    now: dt.datetime,
    recorded: int | None,
    check_ins: tuple[int, bool],
    already: bool = False,
    meeting_id: uuid.UUID | None = None,
    series_id: uuid.UUID | None = None,
    original_start: dt.datetime | None = None,
) -> CheckInOut:
    window = check_in_window(starts_at, duration_minutes, time_zone(zone))
    count, mine = check_ins
    figures = can_see_attendance(ctx.who, ctx.facts)
    tz = time_zone(shown_zone)
    return CheckInOut(
        space_id=ctx.space.id,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=duration_minutes),
        starts_at_local=starts_at.astimezone(tz).isoformat(),
        time_zone=shown_zone,
        zone_abbreviation=zone_abbreviation(starts_at, tz),
        opens_at=window.opens,
        closes_at=window.closes,
        state=window.state(now).value,
        checked_in=mine,
        can_check_in=can_check_in(ctx.who, ctx.facts),
        meeting_id=meeting_id,
        series_id=series_id,
        original_start=original_start,
        recorded=recorded if figures else None,
        checked_in_count=count if figures else None,
        attendance=effective_attendance(recorded, count) if figures else None,
        already=already,
    )


async def check_in_meeting(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, meeting_id: uuid.UUID, *, now: dt.datetime
) -> CheckInOut:
    """POST /spaces/{id}/meetings/{mid}/check-in."""
    ctx = await _load(session, actor, space_id, write=True)
    meeting = await repository.get(session, space_id, meeting_id)
    if meeting is None:
        raise NotFound(f"Space {space_id} has no meeting with id {meeting_id}.", code="meeting_not_found")
    if meeting.cancelled_at is not None:
        raise Conflict("This meeting was cancelled; there is nothing to check in to.", code="meeting_cancelled")
    zone = await network_zone(session, ctx.space.network_id)
    window = check_in_window(meeting.starts_at, meeting.duration_minutes, time_zone(zone))
    _refuse(window, window.state(now), meeting.time_zone or zone)
    inserted = await repository.check_in_meeting(session, meeting.id, actor.account_id)
    found = await repository.meeting_check_ins(session, [meeting.id], actor.account_id)
    return _out(
        ctx,
        title=meeting.title,
        starts_at=meeting.starts_at,
        duration_minutes=meeting.duration_minutes,
        zone=zone,
        shown_zone=meeting.time_zone or zone,
        now=now,
        recorded=meeting.attendance_count,
        check_ins=found.get(meeting.id, (0, False)),
        already=not inserted,
        meeting_id=meeting.id,
    )


async def check_in_occurrence(
    session: AsyncSession,
    actor: Actor,
    space_id: uuid.UUID,
    series_id: uuid.UUID,
    data: CheckInSet,
    *,
    now: dt.datetime,
) -> CheckInOut:
    """POST /spaces/{id}/series/{sid}/check-in {"original_start"}: one occurrence."""
    ctx = await _load(session, actor, space_id, write=True)
    row = await repository.get_series(session, space_id, series_id)
    if row is None:
        raise NotFound(f"Space {space_id} has no meeting series with id {series_id}.", code="series_not_found")
    if row.cancelled_at is not None:
        raise Conflict("This series was cancelled; there is nothing to check in to.", code="series_cancelled")
    try:
        original = check_exception(occurrences.rule_of(row), data.original_start, "original_start")
    except ScheduleError as exc:
        raise invalid(exc.message, exc.field) from None
    exceptions = await repository.exceptions_of(session, [row.id])
    occ = next(o for o in occurrences.expand_row(row, exceptions[row.id]) if o.original == original)
    if occ.cancelled:
        raise Conflict(
            "That occurrence was skipped or cancelled; there is nothing to check in to.", code="occurrence_cancelled"
        )
    zone = await network_zone(session, ctx.space.network_id)
    window = check_in_window(occ.starts_at, occ.duration_minutes, time_zone(zone))
    _refuse(window, window.state(now), row.time_zone)
    inserted = await repository.check_in_occurrence(session, row.id, original, actor.account_id)
    found = await repository.occurrence_check_ins(session, [row.id], actor.account_id)
    recorded = await repository.attendance_of(session, [row.id])
    return _out(
        ctx,
        title=row.title,
        starts_at=occ.starts_at,
        duration_minutes=occ.duration_minutes,
        zone=zone,
        shown_zone=row.time_zone,
        now=now,
        recorded=recorded.get((str(row.id), original)),
        check_ins=found.get((row.id, original), (0, False)),
        already=not inserted,
        series_id=row.id,
        original_start=original,
    )


async def list_check_ins(session: AsyncSession, actor: Actor, space_id: uuid.UUID, *, now: dt.datetime) -> CheckInList:
    """GET /spaces/{id}/check-ins: meetings and occurrences whose window is open now; for those
    who see attendance, also the ones whose window closed within the last two days. A fixed
    number of queries, whatever the number of meetings."""
    ctx = await _load(session, actor, space_id, write=False)
    zone = await network_zone(session, ctx.space.network_id)
    tz = time_zone(zone)
    figures = can_see_attendance(ctx.who, ctx.facts)
    since, until = now - LOOK_BACK, now + dt.timedelta(minutes=15, microseconds=1)
    meetings = await repository.list_for_space(session, space_id, since=since, until=until, include_cancelled=False)
    series_rows = await repository.series_for_spaces(
        session, [space_id], since=since, until=until, include_cancelled=False
    )
    exceptions = await repository.exceptions_of(session, [r.id for r in series_rows])
    single = await repository.meeting_check_ins(session, [m.id for m in meetings], actor.account_id)
    repeated = await repository.occurrence_check_ins(session, [r.id for r in series_rows], actor.account_id)
    recorded = await repository.attendance_of(session, [r.id for r in series_rows])

    def shown(starts_at: dt.datetime, minutes: int) -> bool:
        state = check_in_window(starts_at, minutes, tz).state(now)
        return state is CheckInState.OPEN or (figures and state is CheckInState.CLOSED)

    items = [
        _out(
            ctx,
            title=m.title,
            starts_at=m.starts_at,
            duration_minutes=m.duration_minutes,
            zone=zone,
            shown_zone=m.time_zone or zone,
            now=now,
            recorded=m.attendance_count,
            check_ins=single.get(m.id, (0, False)),
            meeting_id=m.id,
        )
        for m in meetings
        if shown(m.starts_at, m.duration_minutes)
    ]
    for row in series_rows:
        for occ in occurrences.expand_row(row, exceptions[row.id], since=since, until=until):
            if occ.cancelled or not shown(occ.starts_at, occ.duration_minutes):
                continue
            items.append(
                _out(
                    ctx,
                    title=row.title,
                    starts_at=occ.starts_at,
                    duration_minutes=occ.duration_minutes,
                    zone=zone,
                    shown_zone=row.time_zone,
                    now=now,
                    recorded=recorded.get((str(row.id), occ.original)),
                    check_ins=repeated.get((row.id, occ.original), (0, False)),
                    series_id=row.id,
                    original_start=occ.original,
                )
            )
    items.sort(key=lambda i: i.starts_at)
    return CheckInList(space_id=space_id, items=items)
