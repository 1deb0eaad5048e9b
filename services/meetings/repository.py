"""All SQL of the meetings area."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Text, bindparam, cast, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import Meeting as MeetingFact
from federation.compliance import MeetingKind
from federation.schedule import ExceptionKind, OccurrenceException, expand, local_day, parse_series
from services.persistence.models import (
    Meeting,
    MeetingCheckIn,
    MeetingReminder,
    MeetingSeries,
    MeetingSeriesException,
    Network,
    OccurrenceAttendance,
    OccurrenceCheckIn,
    Space,
)

MAX_LISTED = 500


async def get(
    session: AsyncSession, space_id: uuid.UUID, meeting_id: uuid.UUID, *, lock: bool = False
) -> Meeting | None:
    """One meeting of a space (row-locked with ``lock``)."""
    stmt = select(Meeting).where(Meeting.id == meeting_id, Meeting.space_id == space_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_for_space(
    session: AsyncSession,
    space_id: uuid.UUID,
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    include_cancelled: bool,
) -> Sequence[Meeting]:
    """Meetings starting in [since, until), by start time (at most ``MAX_LISTED``)."""
    stmt = select(Meeting).where(Meeting.space_id == space_id)
    if since is not None:
        stmt = stmt.where(Meeting.starts_at >= since)
    if until is not None:
        stmt = stmt.where(Meeting.starts_at < until)
    if not include_cancelled:
        stmt = stmt.where(Meeting.cancelled_at.is_(None))
    stmt = stmt.order_by(Meeting.starts_at, Meeting.id).limit(MAX_LISTED)
    return (await session.execute(stmt)).scalars().all()


async def network_meetings(
    session: AsyncSession, network_id: uuid.UUID, start: dt.date, end: dt.date
) -> dict[uuid.UUID, list[MeetingFact]]:
    """Every meeting (not cancelled) of the network's spaces whose day, **in the network's time
    zone**, is in [start, end), as the compliance engine's plain facts, per space; occurrences of
    live recurring series (not skipped or cancelled) count like single meetings.

    A 10,000-space network holds tens of thousands of meetings, so rows are kept lean: the local
    day comes from the database, the agenda as one space-joined string (components are slugs),
    and identical agendas share one frozenset.
    """
    zone_name = await session.scalar(select(Network.time_zone).where(Network.id == network_id)) or "UTC"
    zone = ZoneInfo(zone_name)
    since = dt.datetime(start.year, start.month, start.day, tzinfo=zone)
    until = dt.datetime(end.year, end.month, end.day, tzinfo=zone)
    # Core, not ORM, execution: the rows are plain tuples and the ORM's per-row loading costs more
    # than the query itself at this size.
    connection = await session.connection()
    rows = await connection.execute(
        select(
            cast(Meeting.space_id, Text),
            Meeting.id,
            Meeting.kind == "virtual",
            func.date(func.timezone(zone_name, Meeting.starts_at)),
            func.array_to_string(Meeting.components, " "),
            Meeting.event_id.is_not(None),
        )
        .join(Space, Space.id == Meeting.space_id)
        .where(
            Space.network_id == network_id,
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at >= since,
            Meeting.starts_at < until,
        )
    )
    # Keyed by the space id's text while reading: hashing a str is cached and cheap, hashing a
    # driver UUID is not, and there is one lookup per meeting.
    by_space: dict[str, list[MeetingFact]] = {}
    agendas: dict[str, frozenset[str]] = {}
    virtual, in_person = MeetingKind.VIRTUAL, MeetingKind.IN_PERSON
    for space_id, meeting_id, is_virtual, day, agenda, with_event in rows.all():
        components = agendas.get(agenda)
        if components is None:
            components = agendas[agenda] = frozenset(agenda.split())
        meeting = MeetingFact(virtual if is_virtual else in_person, day, components, meeting_id, with_event)
        found = by_space.get(space_id)
        if found is None:
            by_space[space_id] = [meeting]
        else:
            found.append(meeting)
    out = {uuid.UUID(k): v for k, v in by_space.items()}
    series_rows, exceptions = await network_series(session, network_id, since, until)
    for row in series_rows:
        kind = virtual if row.kind == "virtual" else in_person
        components = frozenset(row.components)
        facts = [
            OccurrenceException(e.original_start, ExceptionKind(e.kind), e.starts_at, e.duration_minutes, e.revision)
            for e in exceptions[row.id]
        ]
        rule = parse_series(row.rule, row.start_local, row.time_zone)
        for occ in expand(row.id, rule, row.duration_minutes, facts, since=since, until=until):
            if not occ.cancelled:
                fact = MeetingFact(kind, local_day(occ.starts_at, zone), components, row.id)
                out.setdefault(row.space_id, []).append(fact)
    return out


# --- recurring series -------------------------------------------------------------------------

# A moved occurrence may leave its series' [first_start, last_start] span; range queries widen
# by this margin so it is still found (moves further than this are refused by the service).
MOVE_MARGIN = dt.timedelta(days=60)


async def get_series(
    session: AsyncSession, space_id: uuid.UUID, series_id: uuid.UUID, *, lock: bool = False
) -> MeetingSeries | None:
    """One series of a space (row-locked with ``lock``)."""
    stmt = select(MeetingSeries).where(MeetingSeries.id == series_id, MeetingSeries.space_id == space_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def series_for_spaces(
    session: AsyncSession,
    space_ids: Sequence[uuid.UUID],
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    include_cancelled: bool,
) -> Sequence[MeetingSeries]:
    """Series of these spaces that may have occurrences in [since, until), by first start."""
    stmt = select(MeetingSeries).where(MeetingSeries.space_id.in_(space_ids))
    if since is not None:
        stmt = stmt.where(MeetingSeries.last_start >= since - MOVE_MARGIN)
    if until is not None:
        stmt = stmt.where(MeetingSeries.first_start < until + MOVE_MARGIN)
    if not include_cancelled:
        stmt = stmt.where(MeetingSeries.cancelled_at.is_(None))
    stmt = stmt.order_by(MeetingSeries.first_start, MeetingSeries.id).limit(MAX_LISTED)
    return (await session.execute(stmt)).scalars().all()


async def exceptions_of(
    session: AsyncSession, series_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[MeetingSeriesException]]:
    """Every exception of these series, per series (one query)."""
    out: dict[uuid.UUID, list[MeetingSeriesException]] = {sid: [] for sid in series_ids}
    if not series_ids:
        return out
    rows = await session.execute(select(MeetingSeriesException).where(MeetingSeriesException.series_id.in_(series_ids)))
    for row in rows.scalars():
        out[row.series_id].append(row)
    return out


async def get_exception(
    session: AsyncSession, series_id: uuid.UUID, original_start: dt.datetime
) -> MeetingSeriesException | None:
    """The exception for one occurrence, or None."""
    return await session.get(MeetingSeriesException, (series_id, original_start))


async def network_series(
    session: AsyncSession, network_id: uuid.UUID, since: dt.datetime, until: dt.datetime
) -> tuple[Sequence[MeetingSeries], dict[uuid.UUID, list[MeetingSeriesException]]]:
    """Live series of the network's spaces that may occur in [since, until), with exceptions."""
    rows = (
        (
            await session.execute(
                select(MeetingSeries)
                .join(Space, Space.id == MeetingSeries.space_id)
                .where(
                    Space.network_id == network_id,
                    MeetingSeries.cancelled_at.is_(None),
                    MeetingSeries.last_start >= since - MOVE_MARGIN,
                    MeetingSeries.first_start < until + MOVE_MARGIN,
                )
            )
        )
        .scalars()
        .all()
    )
    return rows, await exceptions_of(session, [r.id for r in rows])


async def attendance_of(session: AsyncSession, series_ids: Sequence[uuid.UUID]) -> dict[tuple[str, dt.datetime], int]:
    """Recorded attendance of these series' occurrences, by (series id as text, original start)."""
    if not series_ids:
        return {}
    rows = await session.execute(
        select(OccurrenceAttendance.series_id, OccurrenceAttendance.original_start, OccurrenceAttendance.count).where(
            OccurrenceAttendance.series_id.in_(series_ids)
        )
    )
    # Keyed by the id's text, like the other per-row lookups here (cheap to hash).
    return {(str(sid), start): count for sid, start, count in rows.all()}


async def next_starts(
    session: AsyncSession, space_ids: Sequence[uuid.UUID], now: dt.datetime
) -> dict[uuid.UUID, dt.datetime]:
    """The next (not cancelled) meeting start of each space after ``now``, in one query (the public directory)."""
    if not space_ids:
        return {}
    rows = await session.execute(
        select(Meeting.space_id, func.min(Meeting.starts_at))
        .where(Meeting.space_id.in_(space_ids), Meeting.cancelled_at.is_(None), Meeting.starts_at > now)
        .group_by(Meeting.space_id)
    )
    out: dict[uuid.UUID, dt.datetime] = {}
    for space_id, starts in rows:
        out[space_id] = starts
    return out


async def network_time_zones(session: AsyncSession) -> list[str]:
    """Every time zone some network uses (a handful: the reminders compute one window per zone)."""
    return [str(z) for z in await session.scalars(select(Network.time_zone).distinct())]


async def due_for_reminder(
    session: AsyncSession, windows: Mapping[str, tuple[dt.datetime, dt.datetime]]
) -> list[tuple[uuid.UUID, uuid.UUID, str, dt.datetime, str]]:
    """(meeting id, space id, title, start, network time zone) of every meeting not cancelled and
    not reminded yet that starts in its network's window [start, end) (one query for every zone),
    by start time."""
    if not windows:
        return []
    within = or_(
        *(
            (Network.time_zone == zone) & (Meeting.starts_at >= start) & (Meeting.starts_at < end)
            for zone, (start, end) in windows.items()
        )
    )
    rows = await session.execute(
        select(Meeting.id, Meeting.space_id, Meeting.title, Meeting.starts_at, Network.time_zone)
        .join(Space, Space.id == Meeting.space_id)
        .join(Network, Network.id == Space.network_id)
        .outerjoin(MeetingReminder, MeetingReminder.meeting_id == Meeting.id)
        .where(Meeting.cancelled_at.is_(None), MeetingReminder.meeting_id.is_(None), within)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(MAX_LISTED * 20)
    )
    return [(m, s, str(t), at, str(z)) for m, s, t, at, z in rows]


async def series_due_for_reminder(
    session: AsyncSession, windows: Mapping[str, tuple[dt.datetime, dt.datetime]]
) -> tuple[list[tuple[MeetingSeries, str]], dict[uuid.UUID, list[MeetingSeriesException]]]:
    """Live series (with their network's time zone) that may have an occurrence in their
    network's window [start, end), and their exceptions (two queries for every zone)."""
    if not windows:
        return [], {}
    within = or_(
        *(
            (Network.time_zone == zone)
            & (MeetingSeries.last_start >= start - MOVE_MARGIN)
            & (MeetingSeries.first_start < end + MOVE_MARGIN)
            for zone, (start, end) in windows.items()
        )
    )
    rows = await session.execute(
        select(MeetingSeries, Network.time_zone)
        .join(Space, Space.id == MeetingSeries.space_id)
        .join(Network, Network.id == Space.network_id)
        .where(MeetingSeries.cancelled_at.is_(None), within)
        .order_by(MeetingSeries.first_start, MeetingSeries.id)
        .limit(MAX_LISTED * 20)
    )
    found = [(row, str(zone)) for row, zone in rows]
    return found, await exceptions_of(session, [r.id for r, _ in found])


async def check_in_meeting(session: AsyncSession, meeting_id: uuid.UUID, account_id: uuid.UUID) -> bool:
    """Record that ``account_id`` checked in to a single meeting; False if they already had
    (``ON CONFLICT DO NOTHING``: two clicks at once count once)."""
    result = await session.execute(
        insert(MeetingCheckIn)
        .values(meeting_id=meeting_id, account_id=account_id)
        .on_conflict_do_nothing(index_elements=["meeting_id", "account_id"])
        .returning(MeetingCheckIn.meeting_id)
    )
    return result.first() is not None


async def check_in_occurrence(
    session: AsyncSession, series_id: uuid.UUID, original_start: dt.datetime, account_id: uuid.UUID
) -> bool:
    """Record that ``account_id`` checked in to one occurrence of a series; False if they already had."""
    result = await session.execute(
        insert(OccurrenceCheckIn)
        .values(series_id=series_id, original_start=original_start, account_id=account_id)
        .on_conflict_do_nothing(index_elements=["series_id", "original_start", "account_id"])
        .returning(OccurrenceCheckIn.series_id)
    )
    return result.first() is not None


async def meeting_check_ins(
    session: AsyncSession, meeting_ids: Sequence[uuid.UUID], account_id: uuid.UUID
) -> dict[uuid.UUID, tuple[int, bool]]:
    """Per meeting: (how many checked in, whether ``account_id`` did), in one grouped query.
    Only counts and the caller's own flag come back, never who."""
    if not meeting_ids:
        return {}
    rows = await session.execute(
        select(
            MeetingCheckIn.meeting_id,
            func.count(),
            func.bool_or(MeetingCheckIn.account_id == account_id),
        )
        .where(MeetingCheckIn.meeting_id.in_(meeting_ids))
        .group_by(MeetingCheckIn.meeting_id)
    )
    return {mid: (int(n), bool(mine)) for mid, n, mine in rows.all()}


async def occurrence_check_ins(
    session: AsyncSession, series_ids: Sequence[uuid.UUID], account_id: uuid.UUID
) -> dict[tuple[uuid.UUID, dt.datetime], tuple[int, bool]]:
    """Per (series, original start): (how many checked in, whether ``account_id`` did), one query."""
    if not series_ids:
        return {}
    rows = await session.execute(
        select(
            OccurrenceCheckIn.series_id,
            OccurrenceCheckIn.original_start,
            func.count(),
            func.bool_or(OccurrenceCheckIn.account_id == account_id),
        )
        .where(OccurrenceCheckIn.series_id.in_(series_ids))
        .group_by(OccurrenceCheckIn.series_id, OccurrenceCheckIn.original_start)
    )
    return {(sid, start): (int(n), bool(mine)) for sid, start, n, mine in rows.all()}


async def effective_attendance_of(
    session: AsyncSession, series_ids: Sequence[uuid.UUID]
) -> dict[tuple[str, dt.datetime], int]:
    """The attendance figure of these series' occurrences (the recorded count where one was
    entered, else the number of self check-ins; ``federation.meetings.effective_attendance``),
    by (series id as text, original start), in one grouped query."""
    if not series_ids:
        return {}
    stmt = text(
        """
        SELECT coalesce(a.series_id, c.series_id)::text, coalesce(a.original_start, c.original_start),
               coalesce(a.count, c.n)
        FROM (SELECT series_id, original_start, count FROM occurrence_attendance
              WHERE series_id = ANY(:ids)) a
        FULL JOIN (SELECT series_id, original_start, count(*) AS n FROM occurrence_check_ins
                   WHERE series_id = ANY(:ids) GROUP BY 1, 2) c
          ON c.series_id = a.series_id AND c.original_start = a.original_start
        """
    ).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
    rows = await session.execute(stmt, {"ids": list(series_ids)})
    return {(sid, start): int(n) for sid, start, n in rows.all()}
