"""Occurrences of recurring series: stored rows → the pure expansion → wire shapes.

A series' occurrences are computed from its rule (``federation.schedule``), never stored; only
exceptions are. Shared by the meetings list, the series use cases, compliance and the feeds.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from federation.schedule import (
    ExceptionKind,
    Occurrence,
    OccurrenceException,
    SeriesRule,
    expand,
    parse_series,
    time_zone,
    zone_abbreviation,
)
from services.meetings import repository
from services.meetings.schemas import OccurrenceOut
from services.persistence.models import MeetingSeries, MeetingSeriesException


def rule_of(row: MeetingSeries) -> SeriesRule:
    """The stored series' checked rule (it was checked when written, so this does not fail)."""
    return parse_series(row.rule, row.start_local, row.time_zone)


def exception_facts(rows: Iterable[MeetingSeriesException]) -> list[OccurrenceException]:
    """Stored exceptions as the domain's plain facts."""
    return [
        OccurrenceException(r.original_start, ExceptionKind(r.kind), r.starts_at, r.duration_minutes, r.revision)
        for r in rows
    ]


def expand_row(
    row: MeetingSeries,
    exceptions: Iterable[MeetingSeriesException],
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Occurrence]:
    """The stored series' occurrences in [since, until), exceptions applied."""
    return expand(row.id, rule_of(row), row.duration_minutes, exception_facts(exceptions), since=since, until=until)


def occurrence_out(row: MeetingSeries, occ: Occurrence, attendance: int | None = None) -> OccurrenceOut:
    """One occurrence for the wire, in the series' zone."""
    zone = time_zone(row.time_zone)
    return OccurrenceOut(
        series_id=row.id,
        title=row.title,
        kind=row.kind,  # type: ignore[arg-type]
        original_start=occ.original,
        starts_at=occ.starts_at,
        ends_at=occ.starts_at + dt.timedelta(minutes=occ.duration_minutes),
        starts_at_local=occ.starts_at.astimezone(zone).isoformat(),
        time_zone=row.time_zone,
        zone_abbreviation=zone_abbreviation(occ.starts_at, zone),
        cancelled=occ.cancelled,
        moved=occ.moved,
        exception=occ.exception.kind.value if occ.exception else None,
        attendance_count=attendance,
    )


async def between(
    session: AsyncSession,
    space_id: uuid.UUID,
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    include_cancelled: bool,
) -> list[OccurrenceOut]:
    """Occurrences of the space's live series starting in [since, until), by start."""
    rows = await repository.series_for_spaces(session, [space_id], since=since, until=until, include_cancelled=False)
    exceptions = await repository.exceptions_of(session, [r.id for r in rows])
    attendance = await repository.attendance_of(session, [r.id for r in rows])
    out: list[OccurrenceOut] = []
    for row in rows:
        for occ in expand_row(row, exceptions[row.id], since=since, until=until):
            if include_cancelled or not occ.cancelled:
                out.append(occurrence_out(row, occ, attendance.get((str(row.id), occ.original))))
    out.sort(key=lambda o: o.starts_at)
    return out
