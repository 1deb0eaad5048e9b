"""All SQL of insights: a handful of grouped queries per network, whatever its size.

Counting is done in the database and only totals come back: activity per (kind, program year)
(the year of an instant is computed in the network's zone) and people per membership pattern
(which years they were members in, which year they joined in), so a 10,000-space network
returns a few hundred rows, not hundreds of thousands. ``member_groups`` and ``activity`` are
tested against their pure definitions (``federation.insights.member_groups`` / ``kind_years``)
over raw rows read by the test's reference readers (tests/services/insights_reference.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Text, any_, bindparam, cast, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER, TIMESTAMP, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from federation.insights import ALL, KindYear, MemberGroup
from federation.schedule import time_zone
from services.persistence.models import (
    Space,
    StaffFigure,
)

LEAVING = ("space.member.leave", "space.member.remove", "space.member.ban")


async def staff_figures(session: AsyncSession, network_id: uuid.UUID) -> dict[dt.date, tuple[int, int]]:
    """The network's staff totals per program year start: (total, retained)."""
    rows = await session.execute(
        select(StaffFigure.year_start, StaffFigure.staff_total, StaffFigure.staff_retained).where(
            StaffFigure.network_id == network_id
        )
    )
    return {y: (t, r) for y, t, r in rows.all()}


class SpaceFacts(NamedTuple):
    """What insights need of a space: its kind and age, and what the policy resolver reads."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    kind: str
    created_at: dt.datetime
    settings: dict[str, Any]
    subspace_constraints: dict[str, Any] | None


async def space_facts(session: AsyncSession, network_id: uuid.UUID, settings: Sequence[str]) -> list[SpaceFacts]:
    """Every space of the network, shallowest first, with only the ``settings`` named (one
    query, plain rows: no ORM objects, and no JSON decoded for spaces that set nothing)."""
    wanted = cast(list(settings), ARRAY(Text))
    picked = (
        select(func.jsonb_object_agg(literal_column("key"), literal_column("value")))
        .select_from(func.jsonb_each(Space.settings))
        .where(literal_column("key", Text) == any_(wanted))
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Space.id,
            Space.parent_id,
            Space.name,
            Space.kind,
            Space.created_at,
            picked,
            func.nullif(Space.subspace_constraints, cast("{}", Space.subspace_constraints.type)),
        )
        .where(Space.network_id == network_id)
        .order_by(Space.depth, Space.name, Space.id)
    )
    return [SpaceFacts(r[0], r[1], r[2], r[3], r[4], r[5] or {}, r[6]) for r in rows.all()]


async def _roomy(session: AsyncSession) -> None:
    """For the rest of the transaction: hash the grouped reads in memory rather than sorting them
    on disk, and skip JIT compilation (it costs more than these queries take)."""
    await session.execute(select(func.set_config("work_mem", "64MB", True), func.set_config("jit", "off", True)))


def _bits(n: int) -> str:
    """SQL: a bit per year the stretch [began, ended) overlaps (year i is [:starts[i+1], :ends[i+1]))."""
    return " | ".join(
        f"(CASE WHEN (st.began IS NULL OR st.began < (:ends)[{i + 1}]) "
        f"AND (st.ended IS NULL OR st.ended > (:starts)[{i + 1}]) THEN {1 << i} ELSE 0 END)"
        for i in range(n)
    )


def _joined(n: int) -> str:
    """SQL: the index of the year ``first`` falls in, -1 when none."""
    whens = " ".join(f"WHEN first >= (:starts)[{i + 1}] AND first < (:ends)[{i + 1}] THEN {i}" for i in range(n))
    return f"CASE {whens} ELSE -1 END"


async def member_groups(
    session: AsyncSession, network_id: uuid.UUID, spans: Sequence[tuple[dt.datetime, dt.datetime]]
) -> list[MemberGroup]:
    """People per membership pattern (see ``federation.insights.MemberGroup``) over ``spans`` (the
    year before the first, then each year), per kind and for the whole network, from the same
    stretches ``memberships`` reads: current active memberships, and ended ones from the audit
    log (a leave, removal or ban closes a stretch that began at the join just before it, if the
    log has one)."""
    n = len(spans)
    leaving = ", ".join(f"'{a}'" for a in LEAVING)
    # Only constants and year indexes are formatted into the text; every value is a bound parameter.
    stmt = text(
        f"""
        WITH ev AS (
            SELECT e.action, e.target_id AS space_id, e.after ->> 'account_id' AS account, e.occurred_at,
                   lag(e.action) OVER w AS prev_action, lag(e.occurred_at) OVER w AS prev_at
            FROM audit_events e
            WHERE e.network_id = :network AND e.target_type = 'space'
              AND e.action IN ('space.member.join', {leaving})
              AND e.after ->> 'account_id' IS NOT NULL
            WINDOW w AS (PARTITION BY e.target_id, e.after ->> 'account_id' ORDER BY e.occurred_at)
        ), stretch AS (
            SELECT sm.account_id::text AS account, s.kind, s.created_at, sm.created_at AS began,
                   NULL::timestamptz AS ended
            FROM space_members sm JOIN spaces s ON s.id = sm.space_id
            WHERE s.network_id = :network AND sm.status = 'active'
            UNION ALL
            SELECT ev.account, s.kind, s.created_at,
                   CASE WHEN ev.prev_action = 'space.member.join' THEN ev.prev_at END, ev.occurred_at
            FROM ev JOIN spaces s ON s.id::text = ev.space_id AND s.network_id = :network
            WHERE ev.action <> 'space.member.join'
        ), person AS (
            SELECT GROUPING(st.kind) AS everyone, st.kind, bit_or({_bits(n)}) AS mask,
                   min(coalesce(st.began, st.created_at, '-infinity')) AS first
            FROM stretch st
            GROUP BY GROUPING SETS ((st.account, st.kind), (st.account))
        )
        SELECT everyone, kind, mask, {_joined(n)} AS joined, count(*) AS people
        FROM person GROUP BY everyone, kind, mask, joined
        """  # noqa: S608
    ).bindparams(
        bindparam("network", type_=UUID(as_uuid=True)),
        bindparam("starts", type_=ARRAY(TIMESTAMP(timezone=True))),
        bindparam("ends", type_=ARRAY(TIMESTAMP(timezone=True))),
    )
    await _roomy(session)
    rows = await session.execute(
        stmt, {"network": network_id, "starts": [s for s, _ in spans], "ends": [e for _, e in spans]}
    )
    return [
        MemberGroup(ALL if everyone else kind, int(mask), int(joined), int(people))
        for everyone, kind, mask, joined, people in rows.all()
    ]


def instant_bounds(zone: str, days: Sequence[dt.date]) -> list[dt.datetime] | None:
    """Local midnight of each day in ``zone`` as an instant, or None if one of them is skipped or
    repeated by a clock change (then only converting each instant to local time is exact)."""
    tz = time_zone(zone)
    out = []
    for d in days:
        midnight = dt.datetime(d.year, d.month, d.day, tzinfo=tz)
        if midnight.utcoffset() != midnight.replace(fold=1).utcoffset():
            return None
        out.append(midnight)
    return out


async def activity(
    session: AsyncSession,
    network_id: uuid.UUID,
    *,
    zone: str,
    year_starts: Sequence[dt.date],
    year_end: dt.date,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime,
    series: Sequence[tuple[uuid.UUID, int, int, int]],
) -> list[KindYear]:
    """Per (kind, program year): spaces active (met or chatted), single meetings held (started by
    ``now``, not cancelled) with their attendance figure (recorded count, else self check-ins),
    and chat messages (not deleted), in [since, until). ``series`` adds (space, year index,
    occurrences held, attendance) of recurring meetings, expanded by the caller. Year ``i``
    (from 1) starts at local midnight of ``year_starts[i - 1]`` in ``zone``, as the tests'
    reference reader ``space_years`` (tests/services/insights_reference.py) computes it."""
    n = len(year_starts)
    days = (*year_starts, year_end)
    instants = instant_bounds(zone, days)
    if instants is not None:
        # Every year starts at a local midnight that happens exactly once: comparing instants
        # gives the same year as converting each row to local time, without converting 300,000.
        meeting_year, message_year = "width_bucket(m.starts_at, :bounds)", "width_bucket(g.sent_at, :bounds)"
    else:
        meeting_year = "width_bucket(timezone(:zone, m.starts_at), :local)"
        message_year = "width_bucket(timezone(:zone, g.sent_at), :local)"
    stmt = text(
        f"""
        WITH per AS (
            SELECT m.space_id, {meeting_year} AS y,
                   count(*) AS held, coalesce(sum(coalesce(m.attendance_count, m.checked_in)), 0) AS attended, 0 AS chat
            FROM meetings m JOIN spaces s ON s.id = m.space_id
            WHERE s.network_id = :network AND m.cancelled_at IS NULL
              AND m.starts_at >= :since AND m.starts_at < :held_until
            GROUP BY 1, 2
            UNION ALL
            SELECT g.space_id, {message_year}, 0, 0, count(*)
            FROM messages g JOIN spaces s ON s.id = g.space_id
            WHERE s.network_id = :network AND g.deleted_at IS NULL AND g.sent_at >= :since AND g.sent_at < :until
            GROUP BY 1, 2
            UNION ALL
            SELECT r.space_id, r.y, r.held, r.attended, 0
            FROM unnest(:r_space, :r_year, :r_held, :r_attended) AS r(space_id, y, held, attended)
        )
        SELECT s.kind, p.y, count(DISTINCT p.space_id), sum(p.held), sum(p.attended), sum(p.chat)
        FROM per p JOIN spaces s ON s.id = p.space_id AND s.network_id = :network
        WHERE p.y BETWEEN 1 AND :n
        GROUP BY s.kind, p.y
        """  # noqa: S608 - only one of two fixed expressions is formatted in
    ).bindparams(
        bindparam("network", type_=UUID(as_uuid=True)),
        bindparam("bounds", type_=ARRAY(TIMESTAMP(timezone=True)))
        if instants is not None
        else bindparam("local", type_=ARRAY(TIMESTAMP(timezone=False))),
        bindparam("r_space", type_=ARRAY(UUID(as_uuid=True))),
        bindparam("r_year", type_=ARRAY(INTEGER)),
        bindparam("r_held", type_=ARRAY(INTEGER)),
        bindparam("r_attended", type_=ARRAY(INTEGER)),
    )
    params: dict[str, Any] = (
        {"bounds": instants}
        if instants is not None
        else {"zone": zone, "local": [dt.datetime(d.year, d.month, d.day) for d in days]}
    )
    await _roomy(session)
    rows = await session.execute(
        stmt,
        params
        | {
            "network": network_id,
            "since": since,
            "until": until,
            "held_until": min(until, now),
            "n": n,
            "r_space": [r[0] for r in series],
            "r_year": [r[1] for r in series],
            "r_held": [r[2] for r in series],
            "r_attended": [r[3] for r in series],
        },
    )
    return [
        KindYear(kind, year_starts[int(y) - 1], int(active), int(held), int(attended), int(chat))
        for kind, y, active, held, attended, chat in rows.all()
    ]
