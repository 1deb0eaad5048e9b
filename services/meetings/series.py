"""Use cases of recurring meetings: create a series once, list it with its occurrences, change
it, cancel it, and skip / cancel / move / restore one occurrence.

Same checks as single meetings (who may, fields, agenda against the governing required
components), plus the rule (``federation.schedule``): it must occur, end within five years and
name a real IANA zone — otherwise a 422 naming the field, and nothing is stored. Every change
bumps the series' SEQUENCE (an exception's own revision for one occurrence), so calendar feeds
carry the update.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from federation.meetings import can_record_attendance, can_see_join_url
from federation.permissions import Actor
from federation.schedule import ScheduleError, SeriesRule, check_exception, parse_series
from services import audit
from services.errors import Conflict, Forbidden, NotFound
from services.meetings import occurrences, repository
from services.meetings.schemas import (
    ExceptionSet,
    OccurrenceAttendanceOut,
    OccurrenceAttendanceSet,
    SeriesCreate,
    SeriesList,
    SeriesOut,
    SeriesPatch,
)
from services.meetings.service import (
    check_agenda,
    check_components,
    check_count,
    check_fields,
    checked_zone,
    invalid,
    load,
    network_zone,
)
from services.persistence.models import MeetingSeries, MeetingSeriesException, OccurrenceAttendance

_FIELDS = (
    "kind",
    "title",
    "starts_at",
    "rule",
    "time_zone",
    "duration_minutes",
    "components",
    "location",
    "join_url",
    "notes",
)


def _rule(rule: str, starts_at: dt.datetime, zone: str) -> SeriesRule:
    try:
        return parse_series(rule, starts_at, zone)
    except ScheduleError as exc:
        raise invalid(exc.message, exc.field) from None


def series_out(
    row: MeetingSeries,
    exceptions: list[MeetingSeriesException],
    *,
    show_join_url: bool,
    attendance: dict[tuple[str, dt.datetime], int] | None = None,
) -> SeriesOut:
    """A series with every occurrence (cancelled ones flagged, attendance where recorded)."""
    counts = attendance or {}
    return SeriesOut(
        id=row.id,
        space_id=row.space_id,
        kind=row.kind,  # type: ignore[arg-type]
        title=row.title,
        rule=row.rule,
        starts_at_local=row.start_local,
        time_zone=row.time_zone,
        duration_minutes=row.duration_minutes,
        components=list(row.components),
        location=row.location,
        join_url=row.join_url if show_join_url else None,
        notes=row.notes,
        sequence=row.sequence,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        cancelled_at=row.cancelled_at,
        occurrences=[
            occurrences.occurrence_out(row, o, counts.get((str(row.id), o.original)))
            for o in occurrences.expand_row(row, exceptions)
        ],
    )


def _snapshot(row: MeetingSeries) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "title": row.title,
        "starts_at": row.start_local.isoformat(),
        "rule": row.rule,
        "time_zone": row.time_zone,
        "duration_minutes": row.duration_minutes,
        "components": list(row.components),
        "location": row.location,
        "join_url": row.join_url,
        "notes": row.notes,
        "sequence": row.sequence,
        "cancelled_at": row.cancelled_at.isoformat() if row.cancelled_at else None,
    }


def _check_first_start(kind: str, rule: SeriesRule, location: str | None, join_url: str | None) -> None:
    # The same field rules as a single meeting, checked on the first and last occurrence.
    check_fields(kind, rule.starts[0], location, join_url)
    check_fields(kind, rule.last, location, join_url)


async def create(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: SeriesCreate) -> SeriesOut:
    """POST /spaces/{id}/series."""
    ctx = await load(session, actor, space_id, manage=True)
    title = data.title.strip()
    if not title:
        raise invalid("The title must not be blank.", "title")
    zone = checked_zone(data.time_zone) if data.time_zone else await network_zone(session, ctx.space.network_id)
    rule = _rule(data.rule, data.starts_at, zone)
    location = (data.location or "").strip() or None
    join_url = (data.join_url or "").strip() or None
    _check_first_start(data.kind, rule, location, join_url)
    components = check_components(data.components)
    await check_agenda(session, ctx, components)
    row = MeetingSeries(
        id=uuid.uuid4(),
        space_id=space_id,
        kind=data.kind,
        title=title,
        start_local=rule.start_local,
        time_zone=zone,
        rule=rule.rule,
        duration_minutes=data.duration_minutes,
        location=location,
        join_url=join_url,
        components=components,
        notes=data.notes.strip(),
        first_start=rule.starts[0],
        last_start=rule.last,
        sequence=0,
        created_by=actor.account_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="meeting_series.create",
        target_type="meeting_series",
        target_id=row.id,
        network_id=ctx.space.network_id,
        after={"space_id": str(space_id), **_snapshot(row), "occurrences": len(rule.starts)},
    )
    return series_out(row, [], show_join_url=can_see_join_url(ctx.who, ctx.facts))


async def list_series(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, *, include_cancelled: bool
) -> SeriesList:
    """GET /spaces/{id}/series: every series of the space with its occurrences."""
    ctx = await load(session, actor, space_id, manage=False)
    rows = await repository.series_for_spaces(
        session, [space_id], since=None, until=None, include_cancelled=include_cancelled
    )
    exceptions = await repository.exceptions_of(session, [r.id for r in rows])
    attendance = await repository.attendance_of(session, [r.id for r in rows])
    show = can_see_join_url(ctx.who, ctx.facts)
    return SeriesList(
        space_id=space_id,
        items=[series_out(r, exceptions[r.id], show_join_url=show, attendance=attendance) for r in rows],
    )


async def _require(session: AsyncSession, space_id: uuid.UUID, series_id: uuid.UUID) -> MeetingSeries:
    row = await repository.get_series(session, space_id, series_id, lock=True)
    if row is None:
        raise NotFound(f"Space {space_id} has no meeting series with id {series_id}.", code="series_not_found")
    return row


async def read(session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID) -> SeriesOut:
    """GET /spaces/{id}/series/{sid}."""
    ctx = await load(session, actor, space_id, manage=False)
    row = await _require(session, space_id, series_id)
    exceptions = await repository.exceptions_of(session, [row.id])
    attendance = await repository.attendance_of(session, [row.id])
    return series_out(
        row, exceptions[row.id], show_join_url=can_see_join_url(ctx.who, ctx.facts), attendance=attendance
    )


async def update(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID, data: SeriesPatch
) -> SeriesOut:
    """PATCH /spaces/{id}/series/{sid}: the result must still be a valid series within policy."""
    ctx = await load(session, actor, space_id, manage=True)
    row = await _require(session, space_id, series_id)
    if row.cancelled_at is not None:
        raise Conflict("This series was cancelled; create a new one instead.", code="series_cancelled")
    given = {f: getattr(data, f) for f in _FIELDS if getattr(data, f) is not msgspec.UNSET}
    exceptions = await repository.exceptions_of(session, [row.id])
    show = can_see_join_url(ctx.who, ctx.facts)
    if not given:
        return series_out(row, exceptions[row.id], show_join_url=show)
    kind = given.get("kind", row.kind)
    title = given["title"].strip() if "title" in given else row.title
    if not title:
        raise invalid("The title must not be blank.", "title")
    zone = checked_zone(given["time_zone"]) if "time_zone" in given else row.time_zone
    start: dt.datetime = given.get("starts_at", row.start_local)
    rule = _rule(given.get("rule", row.rule), start, zone)
    location = (given["location"] or "").strip() or None if "location" in given else row.location
    join_url = (given["join_url"] or "").strip() or None if "join_url" in given else row.join_url
    if kind != row.kind:
        if kind == "virtual" and "location" not in given:
            location = None
        if kind == "in_person" and "join_url" not in given:
            join_url = None
    _check_first_start(kind, rule, location, join_url)
    components = check_components(given["components"]) if "components" in given else list(row.components)
    await check_agenda(session, ctx, components)
    before = _snapshot(row)
    row.kind, row.title, row.time_zone = kind, title, zone
    row.start_local, row.rule = rule.start_local, rule.rule
    row.first_start, row.last_start = rule.starts[0], rule.last
    row.duration_minutes = given.get("duration_minutes", row.duration_minutes)
    row.location, row.join_url, row.components = location, join_url, components
    if "notes" in given:
        row.notes = given["notes"].strip()
    row.sequence += 1
    await session.flush()
    await session.refresh(row)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="meeting_series.update",
        target_type="meeting_series",
        target_id=row.id,
        network_id=ctx.space.network_id,
        before=before,
        after={"space_id": str(space_id), **_snapshot(row)},
    )
    return series_out(row, exceptions[row.id], show_join_url=show)


async def cancel(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID, *, now: dt.datetime
) -> SeriesOut:
    """DELETE /spaces/{id}/series/{sid}: cancels every occurrence (the row stays); idempotent."""
    ctx = await load(session, actor, space_id, manage=True)
    row = await _require(session, space_id, series_id)
    if row.cancelled_at is None:
        row.cancelled_at = now
        row.sequence += 1
        await session.flush()
        await session.refresh(row)
        audit.record(
            session,
            actor_id=actor.account_id,
            action="meeting_series.cancel",
            target_type="meeting_series",
            target_id=row.id,
            network_id=ctx.space.network_id,
            before={"cancelled_at": None},
            after={"space_id": str(space_id), "cancelled_at": now.isoformat(), "title": row.title},
        )
    exceptions = await repository.exceptions_of(session, [row.id])
    return series_out(row, exceptions[row.id], show_join_url=can_see_join_url(ctx.who, ctx.facts))


async def set_exception(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, series_id: uuid.UUID, data: ExceptionSet
) -> SeriesOut:
    """PUT /spaces/{id}/series/{sid}/exceptions: skip, cancel, move or restore one occurrence."""
    ctx = await load(session, actor, space_id, manage=True)
    row = await _require(session, space_id, series_id)
    if row.cancelled_at is not None:
        raise Conflict("This series was cancelled; its occurrences cannot change.", code="series_cancelled")
    rule = occurrences.rule_of(row)
    try:
        original = check_exception(rule, data.original_start, "original_start")
    except ScheduleError as exc:
        raise invalid(exc.message, exc.field) from None
    if data.action == "move":
        if data.starts_at is None:
            raise invalid("Moving an occurrence needs starts_at (with offset).", "starts_at")
        check_fields(row.kind, data.starts_at, row.location, row.join_url)
        if abs(data.starts_at - original) > repository.MOVE_MARGIN:
            raise invalid(
                f"An occurrence can move at most {repository.MOVE_MARGIN.days} days; schedule a separate meeting.",
                "starts_at",
            )
    elif data.starts_at is not None or data.duration_minutes is not None:
        raise invalid("starts_at and duration_minutes are only for action 'move'.", "starts_at")
    existing = await repository.get_exception(session, row.id, original)
    before = None if existing is None else {"kind": existing.kind, "starts_at": _iso(existing.starts_at)}
    if data.action == "restore":
        if existing is not None:
            await session.delete(existing)
            # The restored instance must outrank the cancelled one in calendars.
            row.sequence += 1
    elif existing is None:
        session.add(
            MeetingSeriesException(
                series_id=row.id,
                original_start=original,
                kind=data.action,
                starts_at=data.starts_at,
                duration_minutes=data.duration_minutes,
                revision=0,
                created_by=actor.account_id,
            )
        )
    else:
        existing.kind = data.action
        existing.starts_at = data.starts_at
        existing.duration_minutes = data.duration_minutes
        existing.revision += 1
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action=f"meeting_series.{data.action}",
        target_type="meeting_series",
        target_id=row.id,
        network_id=ctx.space.network_id,
        before=before,
        after={
            "space_id": str(space_id),
            "original_start": original.isoformat(),
            "action": data.action,
            "starts_at": _iso(data.starts_at),
        },
    )
    exceptions = await repository.exceptions_of(session, [row.id])
    await session.refresh(row)
    return series_out(row, exceptions[row.id], show_join_url=can_see_join_url(ctx.who, ctx.facts))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def record_attendance(
    session: AsyncSession,
    actor: Actor,
    space_id: uuid.UUID,
    series_id: uuid.UUID,
    data: OccurrenceAttendanceSet,
    *,
    now: dt.datetime,
) -> OccurrenceAttendanceOut:
    """PUT /spaces/{id}/series/{sid}/attendance: how many attended one occurrence."""
    ctx = await load(session, actor, space_id, manage=False)
    if not can_record_attendance(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins record attendance.", code="forbidden")
    row = await _require(session, space_id, series_id)
    if row.cancelled_at is not None:
        raise Conflict("This series was cancelled; nobody attended it.", code="series_cancelled")
    rule = occurrences.rule_of(row)
    try:
        original = check_exception(rule, data.original_start, "original_start")
    except ScheduleError as exc:
        raise invalid(exc.message, exc.field) from None
    exceptions = await repository.exceptions_of(session, [row.id])
    occ = next(o for o in occurrences.expand_row(row, exceptions[row.id]) if o.original == original)
    if occ.cancelled:
        raise Conflict("That occurrence was skipped or cancelled; nobody attended it.", code="occurrence_cancelled")
    await check_count(session, space_id, data.count, occ.starts_at, now)
    existing = await session.get(OccurrenceAttendance, (row.id, original))
    before = None if existing is None else {"count": existing.count}
    if existing is None:
        session.add(
            OccurrenceAttendance(
                series_id=row.id, original_start=original, count=data.count, recorded_by=actor.account_id
            )
        )
    else:
        existing.count = data.count
        existing.recorded_by = actor.account_id
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="meeting_series.attendance",
        target_type="meeting_series",
        target_id=row.id,
        network_id=ctx.space.network_id,
        before=before,
        after={"space_id": str(space_id), "original_start": original.isoformat(), "count": data.count},
    )
    return OccurrenceAttendanceOut(series_id=row.id, original_start=original, count=data.count)
