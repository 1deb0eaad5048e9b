"""All SQL of the meetings area."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import Meeting as MeetingFact
from federation.compliance import MeetingKind
from services.persistence.models import Meeting, Space

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


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


async def network_meetings(
    session: AsyncSession, network_id: uuid.UUID, start: dt.date, end: dt.date
) -> dict[uuid.UUID, list[MeetingFact]]:
    """Every meeting (not cancelled) of the network's spaces starting in [start, end) (UTC days),
    as the compliance engine's plain facts, per space: one query for the whole network.

    A 10,000-space network holds tens of thousands of meetings, so rows are kept lean: the UTC
    day comes from the database, the agenda as one space-joined string (components are slugs),
    and identical agendas share one frozenset.
    """
    # Core, not ORM, execution: the rows are plain tuples and the ORM's per-row loading costs more
    # than the query itself at this size.
    connection = await session.connection()
    rows = await connection.execute(
        select(
            cast(Meeting.space_id, Text),
            Meeting.id,
            Meeting.kind == "virtual",
            func.date(func.timezone("UTC", Meeting.starts_at)),
            func.array_to_string(Meeting.components, " "),
        )
        .join(Space, Space.id == Meeting.space_id)
        .where(
            Space.network_id == network_id,
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at >= _utc_midnight(start),
            Meeting.starts_at < _utc_midnight(end),
        )
    )
    # Keyed by the space id's text while reading: hashing a str is cached and cheap, hashing a
    # driver UUID is not, and there is one lookup per meeting.
    by_space: dict[str, list[MeetingFact]] = {}
    agendas: dict[str, frozenset[str]] = {}
    virtual, in_person = MeetingKind.VIRTUAL, MeetingKind.IN_PERSON
    for space_id, meeting_id, is_virtual, day, agenda in rows.all():
        components = agendas.get(agenda)
        if components is None:
            components = agendas[agenda] = frozenset(agenda.split())
        meeting = MeetingFact(virtual if is_virtual else in_person, day, components, meeting_id)
        found = by_space.get(space_id)
        if found is None:
            by_space[space_id] = [meeting]
        else:
            found.append(meeting)
    return {uuid.UUID(k): v for k, v in by_space.items()}


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


async def starting_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[tuple[uuid.UUID, uuid.UUID, str, dt.datetime]]:
    """(meeting id, space id, title, start) of every meeting not cancelled starting in (start, end]
    (the day-before reminders), by start time."""
    rows = await session.execute(
        select(Meeting.id, Meeting.space_id, Meeting.title, Meeting.starts_at)
        .where(Meeting.cancelled_at.is_(None), Meeting.starts_at > start, Meeting.starts_at <= end)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(MAX_LISTED * 20)
    )
    return [(m, s, str(t), at) for m, s, t, at in rows]
