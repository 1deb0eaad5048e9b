"""Aggregate engagement figures per program year and space kind. Pure.

Inputs are plain facts (membership intervals, per-space yearly counts); outputs are counts per
(year, kind) and per year for the whole network. People appear only as opaque keys while
counting; nothing here returns who they are. Publishing goes through
:mod:`federation.suppression`.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from federation.compliance import ProgramYear

ALL = "all"
METRICS: tuple[tuple[str, str], ...] = (
    ("active_spaces", "Active spaces (met or chatted)"),
    ("members", "Members"),
    ("new_members", "New members"),
    ("retained_members", "Members kept from the year before"),
    ("meetings_held", "Meetings held"),
    ("meetings_required", "Meetings required by policy"),
    ("attendance", "Attendance (recorded)"),
    ("chat_messages", "Chat messages"),
)
ADDITIVE = frozenset({"active_spaces", "meetings_held", "meetings_required", "attendance", "chat_messages"})
"""Metrics whose network total is the sum over kinds (the others count distinct people)."""


@dataclass(frozen=True, slots=True)
class Membership:
    """One stretch of one person's membership of one space: [start, end); None = open."""

    account: str
    space: str
    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SpaceYear:
    """Per-space counts for one program year (keyed by the year's start)."""

    space: str
    year_start: dt.date
    meetings_held: int = 0
    attendance: int = 0
    chat_messages: int = 0


def year_before(y: ProgramYear) -> ProgramYear:
    """The program year before ``y``."""
    return ProgramYear(y.start.replace(year=y.start.year - 1), y.end.replace(year=y.end.year - 1))


def bounds(y: ProgramYear, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The year's [start, end) as instants: midnight of its first and last-plus-one day in ``zone``."""
    start = dt.datetime(y.start.year, y.start.month, y.start.day, tzinfo=zone)
    end = dt.datetime(y.end.year, y.end.month, y.end.day, tzinfo=zone)
    return start, end


def figures(
    years: Sequence[ProgramYear],
    kinds: Sequence[str],
    *,
    kind_of: Mapping[str, str],
    created: Mapping[str, dt.datetime],
    memberships: Iterable[Membership],
    space_years: Iterable[SpaceYear],
    required: Mapping[str, int],
    zone: dt.tzinfo,
) -> dict[str, dict[dt.date, dict[str, int]]]:
    """metric -> year start -> kind (and :data:`ALL`) -> figure, for ``years`` (in order).

    Members of a year: people whose membership overlaps it; new: whose first membership (of that
    kind, or of any kind for :data:`ALL`) began in it; kept: members of the year before who are
    members in this one. ``required`` is each space's meetings per year under today's policy,
    counted for spaces that existed in the year.
    """
    keys = [*kinds, ALL]
    out: dict[str, dict[dt.date, dict[str, int]]] = {
        name: {y.start: dict.fromkeys(keys, 0) for y in years} for name, _ in METRICS
    }
    # Index 0 is the year before the first (for "kept"); 1.. are ``years``.
    all_years = [year_before(years[0]), *years] if years else []
    spans = [bounds(y, zone) for y in all_years]
    starts = [s for s, _ in spans]
    ends = [e for _, e in spans]
    # Per (person, kind): a bit per year they were a member in, and when they first joined.
    # Bit masks, not sets per year: one dict update per membership, whatever the number of years.
    masks: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], dt.datetime] = {}
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    n = len(spans)
    for m in memberships:
        kind = kind_of.get(m.space)
        if kind is None:
            continue
        begun = m.start or created.get(m.space) or floor
        # Years overlapping [start, end): those ending after its start and starting before its end.
        lo = 0 if m.start is None else bisect_right(ends, m.start)
        hi = n if m.end is None else bisect_left(starts, m.end)
        bits = ((1 << hi) - 1) ^ ((1 << lo) - 1) if hi > lo else 0
        for key in ((m.account, kind), (m.account, ALL)):
            masks[key] = masks.get(key, 0) | bits
            known = first.get(key)
            if known is None or begun < known:
                first[key] = begun
    members = [dict.fromkeys(keys, 0) for _ in range(n)]
    retained = [dict.fromkeys(keys, 0) for _ in range(n)]
    new = [dict.fromkeys(keys, 0) for _ in range(n)]
    for key, mask in masks.items():
        kind = key[1]
        for i in range(1, n):
            if mask >> i & 1:
                members[i][kind] += 1
                if mask >> (i - 1) & 1:
                    retained[i][kind] += 1
        joined = bisect_right(starts, first[key]) - 1
        if 1 <= joined < n and first[key] < ends[joined] and mask >> joined & 1:
            new[joined][kind] += 1
    for i, y in enumerate(years, start=1):
        out["members"][y.start] = members[i]
        out["retained_members"][y.start] = retained[i]
        out["new_members"][y.start] = new[i]
        end = ends[i]
        start = starts[i]
        for space, kind in kind_of.items():
            if created.get(space, start) < end:
                out["meetings_required"][y.start][kind] += required.get(space, 0)
    active: set[tuple[dt.date, str]] = set()
    for sy in space_years:
        kind = kind_of.get(sy.space)
        if kind is None or sy.year_start not in out["members"]:
            continue
        out["meetings_held"][sy.year_start][kind] += sy.meetings_held
        out["attendance"][sy.year_start][kind] += sy.attendance
        out["chat_messages"][sy.year_start][kind] += sy.chat_messages
        if (sy.meetings_held or sy.chat_messages) and (sy.year_start, sy.space) not in active:
            active.add((sy.year_start, sy.space))
            out["active_spaces"][sy.year_start][kind] += 1
    for name in ADDITIVE:
        for per_kind in out[name].values():
            per_kind[ALL] = sum(v for k, v in per_kind.items() if k != ALL)
    return out
