"""Day-before meeting reminders: a periodic job in the app's lifespan.

A meeting is reminded on the day before its local day, in its network's time zone, from
``AFFINITY_REMINDER_HOUR`` (09:00 by default) local on: the first run at or after that hour
reminds every meeting of the next local day (``federation.schedule.reminder_window``; that day
may be 23 or 25 hours long on a daylight-saving change). A meeting scheduled for tomorrow after
the hour has passed is reminded at the next run; one scheduled on its own day gets none.

Each meeting is claimed (``INSERT ... ON CONFLICT DO NOTHING RETURNING`` into
``meeting_reminders``) and its space's active members notified in the same transaction, so it
is reminded exactly once, even with several app processes or after a restart. Occurrences of
recurring series are not reminded (they are computed, not stored; see docs/growing-groups.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.notifications import Kind
from federation.schedule import ScheduleError, reminder_window, time_zone, zone_abbreviation
from services.meetings import repository as meetings_repository
from services.notifications.service import notify
from services.persistence.models import MeetingReminder, Space, SpaceMember

log = logging.getLogger("affinity.reminders")

EVERY = 900.0
"""Seconds between runs."""
DEFAULT_HOUR = 9


def _zone(name: str) -> ZoneInfo:
    try:
        return time_zone(name)
    except ScheduleError:  # a stored zone that no longer exists: UTC rather than no reminders
        return ZoneInfo("UTC")


async def send_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: dt.datetime | None = None, hour: int = DEFAULT_HOUR
) -> int:
    """Remind the members of every meeting due for its day-before reminder at ``now`` that was
    not reminded yet (``hour``: local hour from which reminders go out); returns how many
    meetings were reminded."""
    now = now or dt.datetime.now(dt.UTC)
    done = 0
    async with sessionmaker() as session, session.begin():
        zones = await meetings_repository.network_time_zones(session)
        windows = {z: w for z in zones if (w := reminder_window(now, _zone(z), hour)) is not None}
        due = await meetings_repository.due_for_reminder(session, windows)
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
