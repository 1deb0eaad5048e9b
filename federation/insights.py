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
    ("attendance", "Attendance (recorded or checked in)"),
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


@dataclass(frozen=True, slots=True)
class MemberGroup:
    """``people`` who share one pattern of membership, among the spaces of ``kind`` (or of any
    kind for :data:`ALL`): bit ``i`` of ``mask`` is set when they were members in year ``i`` (0 is
    the year before the first year asked about), ``joined`` is the index of the year their first
    membership began in (-1 when outside these years). Counting people per pattern, not per
    person, lets the database hand over a few hundred rows instead of every membership."""

    kind: str
    mask: int
    joined: int
    people: int


@dataclass(frozen=True, slots=True)
class KindYear:
    """Activity of the spaces of one kind in one program year."""

    kind: str
    year_start: dt.date
    active_spaces: int = 0
    meetings_held: int = 0
    attendance: int = 0
    chat_messages: int = 0


def _spans(years: Sequence[ProgramYear], zone: dt.tzinfo) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) of the year before the first, then of each of ``years``."""
    all_years = [year_before(years[0]), *years] if years else []
    return [bounds(y, zone) for y in all_years]


def member_groups(
    years: Sequence[ProgramYear],
    *,
    kind_of: Mapping[str, str],
    created: Mapping[str, dt.datetime],
    memberships: Iterable[Membership],
    zone: dt.tzinfo,
) -> list[MemberGroup]:
    """The membership patterns of :func:`figures` from membership stretches (the definition the
    database's grouping in ``services.insights.repository`` is tested against)."""
    spans = _spans(years, zone)
    starts = [s for s, _ in spans]
    ends = [e for _, e in spans]
    # Per (person, kind): a bit per year they were a member in, and when they first joined.
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
    groups: dict[tuple[str, int, int], int] = {}
    for key, mask in masks.items():
        joined = bisect_right(starts, first[key]) - 1
        if not (0 <= joined < n and first[key] < ends[joined]):
            joined = -1
        group = (key[1], mask, joined)
        groups[group] = groups.get(group, 0) + 1
    return [MemberGroup(k, mask, joined, people) for (k, mask, joined), people in groups.items()]


def kind_years(space_years: Iterable[SpaceYear], *, kind_of: Mapping[str, str]) -> list[KindYear]:
    """Per-space yearly counts summed per kind (a space is active in a year it met or chatted in).
    The definition the database's grouping is tested against."""
    totals: dict[tuple[str, dt.date], list[int]] = {}
    active: set[tuple[dt.date, str]] = set()
    for sy in space_years:
        kind = kind_of.get(sy.space)
        if kind is None:
            continue
        row = totals.setdefault((kind, sy.year_start), [0, 0, 0, 0])
        row[1] += sy.meetings_held
        row[2] += sy.attendance
        row[3] += sy.chat_messages
        if (sy.meetings_held or sy.chat_messages) and (sy.year_start, sy.space) not in active:
            active.add((sy.year_start, sy.space))
            row[0] += 1
    return [KindYear(k, y, *row) for (k, y), row in totals.items()]


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
    return tally(
        years,
        kinds,
        groups=member_groups(years, kind_of=kind_of, created=created, memberships=memberships, zone=zone),
        activity=kind_years(space_years, kind_of=kind_of),
        kind_of=kind_of,
        created=created,
        required=required,
        zone=zone,
    )


def tally(
    years: Sequence[ProgramYear],
    kinds: Sequence[str],
    *,
    groups: Iterable[MemberGroup],
    activity: Iterable[KindYear],
    kind_of: Mapping[str, str],
    created: Mapping[str, dt.datetime],
    required: Mapping[str, int],
    zone: dt.tzinfo,
) -> dict[str, dict[dt.date, dict[str, int]]]:
    """The figures of :func:`figures` from membership patterns and per-kind activity."""
    keys = [*kinds, ALL]
    out: dict[str, dict[dt.date, dict[str, int]]] = {
        name: {y.start: dict.fromkeys(keys, 0) for y in years} for name, _ in METRICS
    }
    spans = _spans(years, zone)
    n = len(spans)
    members = [dict.fromkeys(keys, 0) for _ in range(n)]
    retained = [dict.fromkeys(keys, 0) for _ in range(n)]
    new = [dict.fromkeys(keys, 0) for _ in range(n)]
    for g in groups:
        if g.kind not in members[0]:
            continue
        for i in range(1, n):
            if g.mask >> i & 1:
                members[i][g.kind] += g.people
                if g.mask >> (i - 1) & 1:
                    retained[i][g.kind] += g.people
        if 1 <= g.joined < n and g.mask >> g.joined & 1:
            new[g.joined][g.kind] += g.people
    for i, y in enumerate(years, start=1):
        out["members"][y.start] = members[i]
        out["retained_members"][y.start] = retained[i]
        out["new_members"][y.start] = new[i]
        start, end = spans[i]
        for space, kind in kind_of.items():
            if created.get(space, start) < end:
                out["meetings_required"][y.start][kind] += required.get(space, 0)
    for a in activity:
        per_year = out["meetings_held"].get(a.year_start)
        if per_year is None or a.kind not in per_year:
            continue
        out["meetings_held"][a.year_start][a.kind] += a.meetings_held
        out["attendance"][a.year_start][a.kind] += a.attendance
        out["chat_messages"][a.year_start][a.kind] += a.chat_messages
        out["active_spaces"][a.year_start][a.kind] += a.active_spaces
    for name in ADDITIVE:
        for per_kind in out[name].values():
            per_kind[ALL] = sum(v for k, v in per_kind.items() if k != ALL)
    return out
