"""Aggregate engagement figures per program year and space kind. Pure.

Inputs are plain facts (membership intervals, per-space yearly counts); outputs are counts per
(year, kind) and per year for the whole network. People appear only as opaque keys while
counting; nothing here returns who they are. Publishing goes through
:mod:`federation.suppression`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
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


def _overlaps(m: Membership, start: dt.datetime, end: dt.datetime) -> bool:
    return (m.start is None or m.start < end) and (m.end is None or m.end > start)


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
    spans = {y.start: bounds(y, zone) for y in [year_before(years[0]), *years]} if years else {}
    present: dict[tuple[dt.date, str], set[str]] = defaultdict(set)
    first: dict[tuple[str, str], dt.datetime] = {}
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    for m in memberships:
        kind = kind_of.get(m.space)
        if kind is None:
            continue
        begun = m.start or created.get(m.space) or floor
        for key in ((m.account, kind), (m.account, ALL)):
            if key not in first or begun < first[key]:
                first[key] = begun
        for year_start, (start, end) in spans.items():
            if _overlaps(m, start, end):
                present[(year_start, kind)].add(m.account)
                present[(year_start, ALL)].add(m.account)
    for y in years:
        start, end = spans[y.start]
        prior = year_before(y).start
        for kind in keys:
            people = present.get((y.start, kind), set())
            out["members"][y.start][kind] = len(people)
            out["new_members"][y.start][kind] = sum(1 for p in people if start <= first[(p, kind)] < end)
            out["retained_members"][y.start][kind] = len(people & present.get((prior, kind), set()))
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
