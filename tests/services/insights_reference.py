"""The raw-row readers insights used before counting moved into the database: every space,
membership stretch and (space, program year) total of a network. Kept only as the reference the
equivalence tests (test_insights_equivalence.py) hold the grouped queries to; never used by the
service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Integer, Text, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.insights import Membership, SpaceYear
from services.insights.repository import LEAVING
from services.persistence.models import AuditEvent, Meeting, Message, Space, SpaceMember


def _year_start(instant: Any, zone: str, start_month: int) -> Any:
    """SQL: the calendar year in which the program year containing ``instant`` starts."""
    local = func.timezone(zone, instant)
    months = func.extract("year", local) * 12 + func.extract("month", local) - start_month
    return cast(func.floor(months / 12), Integer)


async def spaces(session: AsyncSession, network_id: uuid.UUID) -> list[tuple[str, str, dt.datetime]]:
    """(space id as text, kind, created_at) of every space of the network."""
    rows = await session.execute(
        select(cast(Space.id, Text), Space.kind, Space.created_at).where(Space.network_id == network_id)
    )
    return [(r[0], r[1], r[2]) for r in rows.all()]


async def memberships(session: AsyncSession, network_id: uuid.UUID) -> list[Membership]:
    """Current active memberships (open-ended) and ended ones reconstructed from the audit log
    (a leave, removal or ban closes the stretch; its start is the last join before it, if the log
    has one)."""
    connection = await session.connection()
    current = await connection.execute(
        select(cast(SpaceMember.account_id, Text), cast(SpaceMember.space_id, Text), SpaceMember.created_at)
        .join(Space, Space.id == SpaceMember.space_id)
        .where(Space.network_id == network_id, SpaceMember.status == "active")
    )
    out = [Membership(a, s, start, None) for a, s, start in current.all()]
    events = await connection.execute(
        select(
            AuditEvent.action,
            AuditEvent.target_id,
            AuditEvent.after["account_id"].astext,
            AuditEvent.occurred_at,
        )
        .where(
            AuditEvent.network_id == network_id,
            AuditEvent.target_type == "space",
            AuditEvent.action.in_([*LEAVING, "space.member.join"]),
        )
        .order_by(AuditEvent.occurred_at)
    )
    joined: dict[tuple[str, str], dt.datetime] = {}
    for action, space, account, at in events.all():
        if account is None:
            continue
        if action == "space.member.join":
            joined[(account, space)] = at
        else:
            out.append(Membership(account, space, joined.pop((account, space), None), at))
    return out


async def space_years(
    session: AsyncSession,
    network_id: uuid.UUID,
    *,
    zone: str,
    start_month: int,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime,
) -> dict[tuple[str, int], SpaceYear]:
    """Per (space, program year start year): single meetings held (started by ``now``, not
    cancelled) with their attendance figure (the recorded count, else the number of self
    check-ins), and chat messages (not deleted), in [since, until)."""
    connection = await session.connection()
    year = _year_start(Meeting.starts_at, zone, start_month)
    meetings = await connection.execute(
        select(
            cast(Meeting.space_id, Text),
            year,
            func.count(),
            # The attendance figure: the recorded count, else the self check-ins.
            func.coalesce(func.sum(func.coalesce(Meeting.attendance_count, Meeting.checked_in)), 0),
        )
        .join(Space, Space.id == Meeting.space_id)
        .where(
            Space.network_id == network_id,
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at >= since,
            Meeting.starts_at < min(until, now),
        )
        .group_by(Meeting.space_id, year)
    )
    out: dict[tuple[str, int], SpaceYear] = {}
    for space, y, held, attended in meetings.all():
        out[(space, int(y))] = SpaceYear(space, dt.date(int(y), start_month, 1), int(held), int(attended), 0)
    year = _year_start(Message.sent_at, zone, start_month)
    messages = await connection.execute(
        select(cast(Message.space_id, Text), year, func.count())
        .join(Space, Space.id == Message.space_id)
        .where(
            Space.network_id == network_id,
            Message.deleted_at.is_(None),
            and_(Message.sent_at >= since, Message.sent_at < until),
        )
        .group_by(Message.space_id, year)
    )
    for space, y, count in messages.all():
        key = (space, int(y))
        found = out.get(key)
        if found is None:
            out[key] = SpaceYear(space, dt.date(int(y), start_month, 1), 0, 0, int(count))
        else:
            out[key] = SpaceYear(space, found.year_start, found.meetings_held, found.attendance, int(count))
    return out
