"""Day-before meeting reminders: a periodic job in the app's lifespan.

A meeting is reminded on the day before its local day, in its network's time zone, from
``AFFINITY_REMINDER_HOUR`` (09:00 by default) local on: the first run at or after that hour
reminds every meeting of the next local day (``federation.schedule.reminder_window``; that day
may be 23 or 25 hours long on a daylight-saving change). A meeting scheduled for tomorrow after
the hour has passed is reminded at the next run; one scheduled on its own day gets none.

Each meeting is claimed (``INSERT ... ON CONFLICT DO NOTHING RETURNING`` into
``meeting_reminders``) and its space's active members notified in the same transaction, so it
is reminded exactly once, even with several app processes or after a restart. Occurrences of
recurring series are computed from their rule (with skips, cancellations and moves applied) for
the same window and claimed the same way in ``occurrence_reminders``, by their rule-given start,
so a moved occurrence is reminded the day before where it actually is, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.notifications import Kind
from federation.schedule import ScheduleError, reminder_window, time_zone, zone_abbreviation
from services.meetings import repository as meetings_repository
from services.meetings.occurrences import expand_row
from services.notifications.service import notify
from services.persistence.models import MeetingReminder, OccurrenceReminder, Space, SpaceMember

log = logging.getLogger("affinity.reminders")

EVERY = 900.0
"""Seconds between runs."""
DEFAULT_HOUR = 9


def _zone(name: str) -> ZoneInfo:
    try:
        return time_zone(name)
    except ScheduleError:  # a stored zone that no longer exists: UTC rather than no reminders
        return ZoneInfo("UTC")


async def _remind(
    session: AsyncSession, space_id: uuid.UUID, title: str, starts_at: dt.datetime, zone_name: str
) -> None:
    """Tell the space's active members, in the caller's (claiming) transaction."""
    space_name = await session.scalar(select(Space.name).where(Space.id == space_id))
    members = await session.scalars(
        select(SpaceMember.account_id).where(SpaceMember.space_id == space_id, SpaceMember.status == "active")
    )
    zone = _zone(zone_name)
    local = starts_at.astimezone(zone)
    when = f"{local:%A %d %B at %H:%M} {zone_abbreviation(starts_at, zone)}"
    for account_id in list(members):
        await notify(
            session,
            account_id=account_id,
            kind=Kind.MEETING_REMINDER,
            title=f"Tomorrow: {title} ({space_name})",
            body=f"{title} of {space_name} starts {when}.",
            link=f"/spaces/{space_id}",
        )


async def send_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: dt.datetime | None = None, hour: int = DEFAULT_HOUR
) -> int:
    """Remind the members of every meeting (and occurrence of a recurring series) due for its
    day-before reminder at ``now`` that was not reminded yet (``hour``: local hour from which
    reminders go out); returns how many meetings and occurrences were reminded."""
    now = now or dt.datetime.now(dt.UTC)
    done = 0
    async with sessionmaker() as session, session.begin():
        zones = await meetings_repository.network_time_zones(session)
        windows = {z: w for z in zones if (w := reminder_window(now, _zone(z), hour)) is not None}
        due = await meetings_repository.due_for_reminder(session, windows)
        series, exceptions = await meetings_repository.series_due_for_reminder(session, windows)
        occurrences = [
            (row.id, occ.original, row.space_id, row.title, occ.starts_at, zone_name)
            for row, zone_name in series
            for occ in expand_row(row, exceptions[row.id], since=windows[zone_name][0], until=windows[zone_name][1])
            if not occ.cancelled
        ]
    for meeting_id, space_id, title, starts_at, zone_name in due:
        async with sessionmaker() as session, session.begin():
            claimed = await session.scalar(
                insert(MeetingReminder)
                .values(meeting_id=meeting_id)
                .on_conflict_do_nothing()
                .returning(MeetingReminder.meeting_id)
            )
            if claimed is None:
                continue  # reminded already (or by another process just now)
            await _remind(session, space_id, title, starts_at, zone_name)
            done += 1
    for series_id, original, space_id, title, starts_at, zone_name in occurrences:
        async with sessionmaker() as session, session.begin():
            claimed_series = await session.scalar(
                insert(OccurrenceReminder)
                .values(series_id=series_id, original_start=original)
                .on_conflict_do_nothing()
                .returning(OccurrenceReminder.series_id)
            )
            if claimed_series is None:
                continue
            await _remind(session, space_id, title, starts_at, zone_name)
            done += 1
    return done


@dataclass
class RemindersRuntime:
    """The lifespan's handle on the reminder task."""

    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def start_reminders(state: Any) -> RemindersRuntime:
    """Start the periodic reminder job (tests may set ``state.reminders_every``)."""
    sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
    every: float = getattr(state, "reminders_every", None) or EVERY
    hour: int = state.settings.reminder_hour

    async def loop() -> None:
        await asyncio.sleep(min(60.0, every))
        while True:
            try:
                count = await send_reminders(sessionmaker, hour=hour)
                if count:
                    log.info("meeting reminders sent for %d meeting(s)", count)
            except Exception:
                log.exception("meeting reminders failed; retrying at the next run")
            await asyncio.sleep(every)

    return RemindersRuntime(task=asyncio.get_running_loop().create_task(loop()))
