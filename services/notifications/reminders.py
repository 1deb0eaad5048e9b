"""Day-before meeting reminders: a periodic job in the app's lifespan.

Every run looks at meetings starting within the next 24 hours; for each one not reminded yet it
claims the meeting (``INSERT ... ON CONFLICT DO NOTHING RETURNING`` into ``meeting_reminders``)
and notifies the space's active members, in the same transaction, so every meeting is reminded
once, even with several app processes. A meeting scheduled less than a day ahead is reminded
at the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.notifications import Kind
from services.meetings import repository as meetings_repository
from services.notifications.service import notify
from services.persistence.models import MeetingReminder, Space, SpaceMember

log = logging.getLogger("affinity.reminders")

EVERY = 900.0
"""Seconds between runs."""
AHEAD = dt.timedelta(hours=24)


async def send_reminders(sessionmaker: async_sessionmaker[AsyncSession], *, now: dt.datetime | None = None) -> int:
    """Remind the members of every meeting starting within a day that was not reminded yet;
    returns how many meetings were reminded."""
    now = now or dt.datetime.now(dt.UTC)
    done = 0
    async with sessionmaker() as session, session.begin():
        due = await meetings_repository.starting_between(session, now, now + AHEAD)
    for meeting_id, space_id, title, starts_at in due:
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
            for account_id in list(members):
                await notify(
                    session,
                    account_id=account_id,
                    kind=Kind.MEETING_REMINDER,
                    title=f"Tomorrow: {title} ({space_name})",
                    body=f"{title} of {space_name} starts {starts_at:%A %d %B at %H:%M} UTC.",
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

    async def loop() -> None:
        await asyncio.sleep(min(60.0, every))
        while True:
            try:
                count = await send_reminders(sessionmaker)
                if count:
                    log.info("meeting reminders sent for %d meeting(s)", count)
            except Exception:
                log.exception("meeting reminders failed; retrying at the next run")
            await asyncio.sleep(every)

    return RemindersRuntime(task=asyncio.get_running_loop().create_task(loop()))
