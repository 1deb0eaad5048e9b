"""Use cases of insights: compute, suppress, chart, export, and the staff-figures import.

Figures come from ``federation.insights`` (pure counting) and are published only through
``federation.suppression``: any figure below 10 reads "fewer than 10", and complementary
suppression hides a second figure of a line whose total is shown, so a hidden one cannot be
recovered by subtraction. Spaces are only ever aggregated by kind. Only the network's admins
(and operators) see any of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import ProgramYear, program_year
from federation.insights import ALL, METRICS, bounds, tally, year_before
from federation.permissions import Actor
from federation.policy import governing_value
from federation.schedule import expand, local_day, parse_series, time_zone
from federation.space_permissions import can_view_compliance
from federation.suppression import THRESHOLD, Figure, suppress_line
from services import audit
from services.errors import Forbidden, Unprocessable
from services.insights import charts, repository
from services.insights.schemas import FigureOut, InsightsOut, MetricOut, MetricRow, StaffRow, StaffSet, YearOut
from services.meetings import occurrences
from services.meetings import repository as meetings_repository
from services.networks.service import require_network
from services.persistence.models import Network, StaffFigure
from services.policies import loading
from services.policies import repository as policies_repository
from services.spaces.access import network_actor

KINDS = ("identity", "role", "topic", "cohort")
REQUIRED_SETTINGS = ("meetings.virtual_per_year", "meetings.in_person_per_year")
MAX_YEARS = 10
DEFAULT_YEARS = 5
NOTES = [
    "Any figure below 10 shows as \u201cfewer than 10\u201d; a second figure of the same line is hidden too "
    "when needed, so a hidden one cannot be worked out from the total.",
    "Spaces are only counted by kind; no space, and no person, is ever shown on its own.",
    "Members of a year: people who belonged to a space of that kind at some point in it (people who left "
    "are known from the audit log). Network totals count each person once.",
    "Meetings required: what each space's policy asks today (virtual + in-person per year).",
    "Attendance: the count a facilitator recorded for each meeting, else the number of members who "
    "checked in themselves.",
]


def _invalid(message: str, field: str) -> Unprocessable:
    return Unprocessable(message, code="validation_error", details={"field": field})


def parse_year(label: str, start_month: int, field: str = "year") -> ProgramYear:
    """``2026-27`` (or ``2026`` when years start in January) as a program year; 422 otherwise."""
    try:
        first = int(label[:4])
        if len(label) == 7 and int(label[5:]) != (first + 1) % 100:
            raise ValueError
    except ValueError:
        raise _invalid(f"{label!r} is not a program year such as 2026-27.", field) from None
    if not 2000 <= first <= 2098:
        raise _invalid("Program years run from 2000 to 2098.", field)
    return program_year(dt.date(first, start_month, 1), start_month)


EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
"""The days insights can be asked about: program-year arithmetic stays far from datetime's limits."""


def years_between(
    since: dt.date | None, until: dt.date | None, *, today: dt.date, start_month: int
) -> list[ProgramYear]:
    """The program years overlapping [since, until] (default: the last five, this one included)."""
    for name, day in (("from", since), ("to", until)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise _invalid(f"'{name}' must be a day between {EARLIEST} and {LATEST}.", name)
    last = program_year(until or today, start_month)
    first = (
        program_year(since, start_month)
        if since
        else program_year(last.start.replace(year=last.start.year - (DEFAULT_YEARS - 1)), start_month)
    )
    if since and until and until < since:
        raise _invalid("'to' must not be before 'from'.", "to")
    years: list[ProgramYear] = []
    y = first
    while y.start <= last.start:
        years.append(y)
        y = program_year(y.end, start_month)
        if len(years) > MAX_YEARS:
            raise _invalid(f"Ask for at most {MAX_YEARS} program years at a time.", "from")
    return years


async def _admin_network(session: AsyncSession, actor: Actor, slug: str) -> Network:
    network = await require_network(session, slug)
    if not can_view_compliance(network_actor(actor, network.id)):
        raise Forbidden("Only this network's admins can see its insights.", code="forbidden")
    return network


def _fig(f: Figure) -> FigureOut:
    return FigureOut(value=f.value, display=f.display, suppressed=f.suppressed)


async def raw_figures(
    session: AsyncSession,
    network: Network,
    years: list[ProgramYear],
    *,
    start_month: int,
    now: dt.datetime,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, dict[dt.date, dict[str, int]]]:
    """metric -> year start -> kind (and ``all``) -> figure, before suppression (never published
    as such: :func:`compute` publishes them)."""
    zone = time_zone(network.time_zone)
    first_start, first_end = bounds(years[0], zone)
    since = first_start - (first_end - first_start)  # the year before the first: for "kept" members
    until = bounds(years[-1], zone)[1]
    facts = await repository.space_facts(session, network.id, REQUIRED_SETTINGS)
    kind_of = {str(s.id): s.kind for s in facts}
    created = {str(s.id): s.created_at for s in facts}
    progress(f"{len(facts)} spaces")
    spans = [bounds(year_before(years[0]), zone), *(bounds(y, zone) for y in years)]
    groups = await repository.member_groups(session, network.id, spans)
    progress(f"{sum(g.people for g in groups if g.kind == ALL)} people")
    # Occurrences of recurring meetings count as meetings held, with their attendance figure
    # (the recorded count, else the self check-ins).
    series_rows, exceptions = await meetings_repository.network_series(session, network.id, since, min(until, now))
    attendance = await meetings_repository.effective_attendance_of(session, [r.id for r in series_rows])
    index = {y.start: i for i, y in enumerate(years, start=1)}
    held: dict[tuple[uuid.UUID, int], list[int]] = {}
    for row in series_rows:
        rule = parse_series(row.rule, row.start_local, row.time_zone)
        facts_of = occurrences.exception_facts(exceptions[row.id])
        for occ in expand(row.id, rule, row.duration_minutes, facts_of, until=min(until, now)):
            if occ.cancelled:
                continue
            i = index.get(program_year(local_day(occ.starts_at, zone), start_month).start)
            if i is None:
                continue
            counts = held.setdefault((row.space_id, i), [0, 0])
            counts[0] += 1
            counts[1] += attendance.get((str(row.id), occ.original), 0)
    activity = await repository.activity(
        session,
        network.id,
        zone=network.time_zone,
        year_starts=[y.start for y in years],
        year_end=years[-1].end,
        since=since,
        until=until,
        now=now,
        series=[(space, i, c[0], c[1]) for (space, i), c in held.items()],
    )
    progress("meetings and chat counted")
    attached = await policies_repository.attached_templates(session, network.id, None)
    resolver = loading.resolver_for(facts, attached)
    required: dict[str, int] = {}
    # Spaces without templates of their own share their parent's policy object: resolve the
    # requirement once per (policy, settings) rather than once per space.
    known: dict[tuple[int, str], int] = {}
    for s in facts:
        policy = resolver.policy(s.id)
        key = (id(policy), repr(sorted(s.settings.items())))
        total = known.get(key)
        if total is None:
            total = 0
            for name in REQUIRED_SETTINGS:
                value = governing_value(policy, s.settings, name)
                total += value if isinstance(value, int) and not isinstance(value, bool) else 0
            known[key] = total
        required[str(s.id)] = total
    progress("policy requirements resolved")
    return tally(
        years,
        KINDS,
        groups=groups,
        activity=activity,
        kind_of=kind_of,
        created=created,
        required=required,
        zone=zone,
    )


async def compute(
    session: AsyncSession,
    network: Network,
    years: list[ProgramYear],
    *,
    start_month: int,
    now: dt.datetime,
    progress: Callable[[str], None] = lambda _: None,
) -> InsightsOut:
    """The network's insights for ``years`` (no permission check: callers do that)."""
    table = await raw_figures(session, network, years, start_month=start_month, now=now, progress=progress)
    metrics = []
    for name, label in METRICS:
        rows = []
        for y in years:
            values = table[name][y.start]
            line = suppress_line({k: values[k] for k in KINDS}, values[ALL])
            rows.append(
                MetricRow(year=y.label, by_kind={k: _fig(line.cells[k]) for k in KINDS}, total=_fig(line.total))
            )
        metrics.append(MetricOut(name=name, label=label, rows=rows))
    staff_rows = []
    staff = await repository.staff_figures(session, network.id)
    for y in years:
        if y.start in staff:
            total, retained = staff[y.start]
            # Retained is part of the total: publishing both when one is small would give it away.
            line = suppress_line({"retained": retained, "not_retained": total - retained}, total)
            staff_rows.append(
                StaffRow(year=y.label, staff_total=_fig(line.total), staff_retained=_fig(line.cells["retained"]))
            )
    return InsightsOut(
        network=network.slug,
        time_zone=network.time_zone,
        years=[YearOut(label=y.label, start=y.start, end=y.end) for y in years],
        kinds=list(KINDS),
        metrics=metrics,
        staff=staff_rows,
        threshold=THRESHOLD,
        notes=NOTES,
    )


async def insights(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    *,
    since: dt.date | None,
    until: dt.date | None,
    start_month: int,
    now: dt.datetime,
) -> InsightsOut:
    """GET /networks/{slug}/insights."""
    network = await _admin_network(session, actor, slug)
    today = local_day(now, time_zone(network.time_zone))
    years = years_between(since, until, today=today, start_month=start_month)
    return await compute(session, network, years, start_month=start_month, now=now)


def to_csv(out: InsightsOut) -> str:
    """The same figures (same suppression) as CSV: metric, year, kind, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["metric", "year", "kind", "value"])
    for metric in out.metrics:
        for row in metric.rows:
            for kind, figure in row.by_kind.items():
                writer.writerow([metric.name, row.year, kind, figure.display])
            writer.writerow([metric.name, row.year, "all", row.total.display])
    for staff in out.staff:
        writer.writerow(["staff_total", staff.year, "all", staff.staff_total.display])
        writer.writerow(["staff_retained", staff.year, "all", staff.staff_retained.display])
    return buffer.getvalue()


def chart(out: InsightsOut, kind: str, metric: str) -> str | None:
    """SVG for ``trend`` (the network total per year) or ``kinds`` (per kind, latest year) of a
    metric; None if the metric is unknown."""
    found = next((m for m in out.metrics if m.name == metric), None)
    if found is None:
        return None

    def back(f: FigureOut) -> Figure:
        return Figure(f.value)

    if kind == "trend":
        return charts.trend(found.label, [r.year for r in found.rows], [back(r.total) for r in found.rows])
    last = found.rows[-1]
    return charts.bars(f"{found.label}, {last.year}", list(last.by_kind), [back(f) for f in last.by_kind.values()])


async def set_staff(session: AsyncSession, actor: Actor, slug: str, data: StaffSet, *, start_month: int) -> StaffRow:
    """PUT /networks/{slug}/insights/staff: a year's staff totals (admins). Negative figures or a
    retained figure above the total: 422 naming the field, nothing stored."""
    network = await _admin_network(session, actor, slug)
    year = parse_year(data.year, start_month)
    if data.staff_total < 0:
        raise _invalid("staff_total cannot be negative.", "staff_total")
    if data.staff_retained < 0:
        raise _invalid("staff_retained cannot be negative.", "staff_retained")
    if data.staff_retained > data.staff_total:
        raise _invalid(
            f"staff_retained ({data.staff_retained}) cannot be more than staff_total ({data.staff_total}).",
            "staff_retained",
        )
    stmt = insert(StaffFigure).values(
        network_id=network.id,
        year_start=year.start,
        staff_total=data.staff_total,
        staff_retained=data.staff_retained,
        updated_by=actor.account_id,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[StaffFigure.network_id, StaffFigure.year_start],
            set_={
                "staff_total": data.staff_total,
                "staff_retained": data.staff_retained,
                "updated_by": actor.account_id,
                "updated_at": dt.datetime.now(dt.UTC),
            },
        )
    )
    audit.record(
        session,
        actor_id=actor.account_id,
        action="insights.staff",
        target_type="network",
        target_id=network.id,
        network_id=network.id,
        after={"year": year.label, "staff_total": data.staff_total, "staff_retained": data.staff_retained},
    )
    line = suppress_line(
        {"retained": data.staff_retained, "not_retained": data.staff_total - data.staff_retained}, data.staff_total
    )
    return StaffRow(year=year.label, staff_total=_fig(line.total), staff_retained=_fig(line.cells["retained"]))
