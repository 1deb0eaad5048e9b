"""Insights counted in the database (activity per kind and year, people per membership pattern)
give exactly the figures, and the same suppressed output, as counting the raw rows in Python
(the definitions in ``federation.insights``), on a seeded network with every kind of fact:
ended memberships from the audit log (join/leave/remove/ban, a leave without a join), members
of several kinds, cancelled meetings, future meetings, deleted messages, recurring meetings with
skipped occurrences, recorded attendance and self check-ins (the figure is the recorded count,
else the check-ins), nested spaces with their own templates, sub-space
constraints and settings, and instants right at the program year's boundary in the network's
zone."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import ProgramYear, program_year
from federation.insights import (
    ALL,
    METRICS,
    SpaceYear,
    bounds,
    figures,
    kind_years,
    member_groups,
    year_before,
)
from federation.meetings import effective_attendance
from federation.policy import governing_value
from federation.schedule import expand, local_day, parse_series, time_zone
from federation.suppression import suppress_line
from services.insights import repository
from services.insights import service as insights
from services.meetings import occurrences
from services.meetings import repository as meetings_repository
from services.persistence.models import (
    AuditEvent,
    Meeting,
    MeetingCheckIn,
    MeetingSeries,
    MeetingSeriesException,
    Message,
    Network,
    OccurrenceAttendance,
    OccurrenceCheckIn,
    PolicyAttachment,
    PolicyTemplate,
    PolicyTemplateVersion,
    SpaceMember,
)
from services.policies import loading
from services.policies import repository as policies_repository
from tests.factories import make_account, make_network, make_space
from tests.services import insights_reference as reference

ZONE = "America/Los_Angeles"
START_MONTH = 8
KINDS = insights.KINDS
REQUIRED = insights.REQUIRED_SETTINGS


async def _seed(session: AsyncSession, now: dt.datetime, seed: int) -> Network:
    rng = random.Random(seed)
    network = await make_network(session, slug=f"eq{seed}")
    network.time_zone = ZONE
    zone = time_zone(ZONE)
    this_year = program_year(local_day(now, zone), START_MONTH)
    t0 = dt.datetime(this_year.start.year - 6, 6, 1, tzinfo=dt.UTC)
    span = (now + dt.timedelta(days=60) - t0).total_seconds()

    def when() -> dt.datetime:
        return t0 + dt.timedelta(seconds=rng.random() * span)

    # Instants either side of each year's start (local midnight on August 1st).
    edges = []
    for k in range(6):
        start = dt.datetime(this_year.start.year - k, START_MONTH, 1, tzinfo=zone)
        edges += [start - dt.timedelta(microseconds=1), start, start + dt.timedelta(microseconds=1)]

    people = [await make_account(session, name=f"eq{seed}-{i}") for i in range(30)]
    spaces = []
    for i in range(16):
        parent = spaces[rng.randrange(len(spaces))] if spaces and rng.random() < 0.4 else None
        settings = {"meetings.virtual_per_year": rng.choice([0, 2, 5, 40])} if rng.random() < 0.5 else {}
        space = await make_space(session, network, parent=parent, kind=KINDS[i % 4], settings=settings)
        space.created_at = when() if rng.random() < 0.7 else t0
        if rng.random() < 0.2:
            space.subspace_constraints = {"meetings.in_person_per_year": {"min": rng.choice([1, 2])}}
        spaces.append(space)
    other = await make_network(session, slug=f"eq{seed}-other")
    outsider_space = await make_space(session, other, kind="identity")
    for p in people[:5]:
        session.add(SpaceMember(space_id=outsider_space.id, account_id=p.id, created_at=when()))
        session.add(
            Meeting(space_id=outsider_space.id, kind="virtual", title="x", starts_at=when(), duration_minutes=30)
        )

    members = set()
    for p in people:
        for s in rng.sample(spaces, rng.randint(0, 4)):
            members.add((s.id, p.id))
            status = rng.choice(["active", "active", "active", "requested", "banned"])
            session.add(SpaceMember(space_id=s.id, account_id=p.id, status=status, created_at=when()))
    # Ended stretches, from the audit log only.
    actions = ["space.member.join", "space.member.leave", "space.member.remove", "space.member.ban"]
    for _ in range(60):
        s, p = rng.choice(spaces), rng.choice(people)
        session.add(
            AuditEvent(
                action=rng.choice(actions),
                target_type="space",
                target_id=str(s.id),
                network_id=network.id,
                after={"account_id": str(p.id)},
                occurred_at=when(),
            )
        )
    session.add(
        AuditEvent(
            action="space.member.leave",
            target_type="space",
            target_id=str(spaces[0].id),
            network_id=network.id,
            after={},
            occurred_at=when(),
        )
    )

    checked_in: list[Meeting] = []
    for s in spaces:
        for _ in range(rng.randint(0, 12)):
            at = rng.choice(edges) if rng.random() < 0.2 else when()
            meeting = Meeting(
                id=uuid.uuid4(),
                space_id=s.id,
                kind="virtual",
                title="m",
                starts_at=at,
                duration_minutes=60,
                attendance_count=rng.choice([None, rng.randint(0, 30)]),
                cancelled_at=when() if rng.random() < 0.15 else None,
            )
            session.add(meeting)
            if rng.random() < 0.5:
                checked_in.append(meeting)
        for seq in range(1, rng.randint(1, 15)):
            at = rng.choice(edges) if rng.random() < 0.2 else when()
            session.add(
                Message(
                    space_id=s.id,
                    seq=seq,
                    id=uuid.uuid4(),
                    body="hi",
                    key=f"k{seq}",
                    sent_at=at,
                    deleted_at=when() if rng.random() < 0.1 else None,
                )
            )
    for s in rng.sample(spaces, 6):
        start_local = dt.datetime(this_year.start.year - rng.randint(0, 3), rng.randint(1, 12), 5, 16)
        rule = parse_series("FREQ=MONTHLY;BYDAY=2TU;COUNT=18", start_local, ZONE)
        series = MeetingSeries(
            id=uuid.uuid4(),
            space_id=s.id,
            kind="virtual",
            title="monthly",
            start_local=start_local,
            time_zone=ZONE,
            rule=rule.rule,
            duration_minutes=60,
            first_start=rule.starts[0],
            last_start=rule.last,
        )
        session.add(series)
        await session.flush()
        session.add(MeetingSeriesException(series_id=series.id, original_start=rule.starts[2], kind="skip"))
        for occ in rng.sample(list(rule.starts), 5):
            session.add(OccurrenceAttendance(series_id=series.id, original_start=occ, count=rng.randint(1, 20)))
        # Self check-ins: on occurrences with and without a recorded count (the count wins).
        for occ in rng.sample(list(rule.starts), 8):
            for p in rng.sample(people, rng.randint(1, 6)):
                session.add(OccurrenceCheckIn(series_id=series.id, original_start=occ, account_id=p.id))
    await session.flush()
    for meeting in checked_in:
        for p in rng.sample(people, rng.randint(1, 6)):
            session.add(MeetingCheckIn(meeting_id=meeting.id, account_id=p.id))

    for target in (None, spaces[1], spaces[5]):
        template = PolicyTemplate(id=uuid.uuid4(), network_id=network.id, name=f"t{target}", mode="enforce")
        session.add(template)
        await session.flush()
        constraints = {"meetings.virtual_per_year": {"min": rng.choice([1, 3, 6])}}
        if target is not None:
            constraints["meetings.in_person_per_year"] = {"min": rng.choice([1, 2])}
        session.add(PolicyTemplateVersion(template_id=template.id, version=1, constraints=constraints))
        session.add(
            PolicyAttachment(
                template_id=template.id, network_id=network.id, space_id=target.id if target is not None else None
            )
        )
    await session.commit()
    return network


async def _reference(
    session: AsyncSession, network: Network, years: list[ProgramYear], now: dt.datetime
) -> dict[str, dict[dt.date, dict[str, int]]]:
    """The figures as they were computed before the counting moved into SQL: raw rows, Python."""
    zone = time_zone(network.time_zone)
    first_start, first_end = bounds(years[0], zone)
    since = first_start - (first_end - first_start)
    until = bounds(years[-1], zone)[1]
    space_rows = await reference.spaces(session, network.id)
    kind_of = {s: k for s, k, _ in space_rows}
    created = {s: c for s, _, c in space_rows}
    memberships = await reference.memberships(session, network.id)
    per_space = await reference.space_years(
        session, network.id, zone=network.time_zone, start_month=START_MONTH, since=since, until=until, now=now
    )
    series_rows, exceptions = await meetings_repository.network_series(session, network.id, since, min(until, now))
    # Occurrences' figures from the raw rows: the recorded count, else the check-ins.
    recorded = await meetings_repository.attendance_of(session, [r.id for r in series_rows])
    checked: dict[tuple[str, dt.datetime], int] = {}
    for c in (await session.execute(select(OccurrenceCheckIn))).scalars():
        key = (str(c.series_id), c.original_start)
        checked[key] = checked.get(key, 0) + 1
    attendance = {k: effective_attendance(recorded.get(k), checked.get(k, 0)) for k in {*recorded, *checked}}
    for row in series_rows:
        rule = parse_series(row.rule, row.start_local, row.time_zone)
        facts = occurrences.exception_facts(exceptions[row.id])
        for occ in expand(row.id, rule, row.duration_minutes, facts, until=min(until, now)):
            if occ.cancelled:
                continue
            year = program_year(local_day(occ.starts_at, zone), START_MONTH)
            key = (str(row.space_id), year.start.year)
            found = per_space.get(key) or SpaceYear(str(row.space_id), year.start)
            per_space[key] = SpaceYear(
                found.space,
                found.year_start,
                found.meetings_held + 1,
                found.attendance + attendance.get((str(row.id), occ.original), 0),
                found.chat_messages,
            )
    spaces_full = await policies_repository.network_spaces(session, network.id)
    attached = await policies_repository.attached_templates(session, network.id, None)
    resolver = loading.resolver_for(spaces_full, attached)
    required: dict[str, int] = {}
    for s in spaces_full:
        policy = resolver.policy(s.id)
        total = 0
        for name in REQUIRED:
            value = governing_value(policy, s.settings, name)
            total += value if isinstance(value, int) and not isinstance(value, bool) else 0
        required[str(s.id)] = total
    return figures(
        years,
        KINDS,
        kind_of=kind_of,
        created=created,
        memberships=memberships,
        space_years=per_space.values(),
        required=required,
        zone=zone,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sql_counting_gives_the_same_figures_and_output(db_session: AsyncSession, seed: int) -> None:
    now = dt.datetime.now(dt.UTC)
    network = await _seed(db_session, now, seed)
    zone = time_zone(ZONE)
    today = local_day(now, zone)
    years = insights.years_between(None, None, today=today, start_month=START_MONTH)
    expected = await _reference(db_session, network, years, now)
    assert await insights.raw_figures(db_session, network, years, start_month=START_MONTH, now=now) == expected
    out = await insights.compute(db_session, network, years, start_month=START_MONTH, now=now)

    # Not a vacuous comparison: the seed reaches every metric.
    assert any(expected["members"][y.start][ALL] for y in years)
    assert any(expected["new_members"][y.start][ALL] for y in years)
    assert any(expected["retained_members"][y.start][ALL] for y in years)
    assert any(expected["chat_messages"][y.start][ALL] for y in years)
    assert any(expected["attendance"][y.start][ALL] for y in years)
    assert any(expected["meetings_required"][y.start][ALL] for y in years)

    by_label = {y.label: y.start for y in years}
    for metric in out.metrics:
        for row in metric.rows:
            want = expected[metric.name][by_label[row.year]]
            # The published (suppressed) cells are exactly what the raw figures publish.
            line = suppress_line({k: want[k] for k in KINDS}, want[ALL])
            assert {k: (f.display, f.suppressed) for k, f in row.by_kind.items()} == {
                k: (line.cells[k].display, line.cells[k].suppressed) for k in KINDS
            }
            assert (row.total.display, row.total.suppressed) == (line.total.display, line.total.suppressed)
    assert [m.name for m in out.metrics] == [name for name, _ in METRICS]
    assert msgspec.json.encode(out) == msgspec.json.encode(
        await insights.compute(db_session, network, years, start_month=START_MONTH, now=now)
    )


def test_midnights_a_clock_change_skips_are_irregular() -> None:
    """Brazil's clocks went from 00:00 to 01:00 on 2018-11-04: no instant bound for that day, so the
    activity query converts every row to local time instead."""
    assert repository.instant_bounds("America/Sao_Paulo", [dt.date(2018, 11, 4)]) is None
    assert repository.instant_bounds("America/Sao_Paulo", [dt.date(2018, 11, 1)]) == [
        dt.datetime(2018, 11, 1, 3, tzinfo=dt.UTC)
    ]


@pytest.mark.parametrize("wall_clock", [False, True])
async def test_grouped_reads_match_their_definitions(
    db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch, wall_clock: bool
) -> None:
    """The two grouped queries, one by one, against the pure definitions over raw rows (the
    activity query both ways: instant bounds, and local time when a year starts in a clock change)."""
    if wall_clock:
        monkeypatch.setattr(repository, "instant_bounds", lambda zone, days: None)
    now = dt.datetime.now(dt.UTC)
    network = await _seed(db_session, now, 4)
    zone = time_zone(ZONE)
    years = insights.years_between(None, None, today=local_day(now, zone), start_month=START_MONTH)
    space_rows = await reference.spaces(db_session, network.id)
    kind_of = {s: k for s, k, _ in space_rows}
    created = {s: c for s, _, c in space_rows}
    spans = [bounds(year_before(years[0]), zone), *(bounds(y, zone) for y in years)]
    raw = await reference.memberships(db_session, network.id)
    want = member_groups(years, kind_of=kind_of, created=created, memberships=raw, zone=zone)
    got = await repository.member_groups(db_session, network.id, spans)
    assert sorted(got, key=repr) == sorted(want, key=repr)
    assert len(want) > 5

    first_start, first_end = bounds(years[0], zone)
    since = first_start - (first_end - first_start)
    until = bounds(years[-1], zone)[1]
    per_space = await reference.space_years(
        db_session, network.id, zone=ZONE, start_month=START_MONTH, since=since, until=until, now=now
    )
    starts = {y.start for y in years}
    want_activity = [k for k in kind_years(per_space.values(), kind_of=kind_of) if k.year_start in starts]
    got_activity = await repository.activity(
        db_session,
        network.id,
        zone=ZONE,
        year_starts=[y.start for y in years],
        year_end=years[-1].end,
        since=since,
        until=until,
        now=now,
        series=[],
    )
    assert sorted(got_activity, key=repr) == sorted(want_activity, key=repr)
    assert len(want_activity) > 5


async def test_attendance_is_the_recorded_count_else_the_check_ins(db_session: AsyncSession) -> None:
    """Per meeting and per occurrence: a recorded count is the figure (even 0, even with more
    check-ins), else the number of self check-ins; cancelled meetings count for nothing. Both the
    per-space read and the grouped one agree."""
    now = dt.datetime.now(dt.UTC)
    network = await make_network(db_session, slug="eq-checkins")
    network.time_zone = ZONE
    zone = time_zone(ZONE)
    space = await make_space(db_session, network, kind="identity")
    people = [await make_account(db_session, name=f"eqc-{i}") for i in range(6)]
    # A past program year, well inside it (so the day of the run does not matter).
    year = program_year(local_day(now - dt.timedelta(days=400), zone), START_MONTH)
    at = dt.datetime.combine(year.start + dt.timedelta(days=100), dt.time(12), tzinfo=zone)

    async def meeting(count: int | None, checked: int, *, cancelled: bool = False) -> None:
        m = Meeting(
            id=uuid.uuid4(),
            space_id=space.id,
            kind="virtual",
            title="m",
            starts_at=at,
            duration_minutes=60,
            attendance_count=count,
            cancelled_at=now if cancelled else None,
        )
        db_session.add(m)
        await db_session.flush()
        for p in people[:checked]:
            db_session.add(MeetingCheckIn(meeting_id=m.id, account_id=p.id))

    await meeting(12, 3)  # 12: the recorded count wins
    await meeting(None, 4)  # 4: the check-ins
    await meeting(0, 2)  # 0: a recorded zero is a count
    await meeting(None, 0)  # 0
    await meeting(None, 5, cancelled=True)  # not held
    start_local = dt.datetime.combine(year.start + dt.timedelta(days=50), dt.time(16))
    rule = parse_series("FREQ=DAILY;COUNT=2", start_local, ZONE)
    series = MeetingSeries(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="virtual",
        title="daily",
        start_local=start_local,
        time_zone=ZONE,
        rule=rule.rule,
        duration_minutes=60,
        first_start=rule.starts[0],
        last_start=rule.last,
    )
    db_session.add(series)
    await db_session.flush()
    first, second = rule.starts
    db_session.add(OccurrenceAttendance(series_id=series.id, original_start=first, count=5))
    db_session.add(OccurrenceCheckIn(series_id=series.id, original_start=first, account_id=people[0].id))
    for p in people[:2]:
        db_session.add(OccurrenceCheckIn(series_id=series.id, original_start=second, account_id=p.id))
    await db_session.commit()

    assert await meetings_repository.effective_attendance_of(db_session, [series.id]) == {
        (str(series.id), first): 5,
        (str(series.id), second): 2,
    }
    years = [year]
    first_start, first_end = bounds(year, zone)
    per_space = await reference.space_years(
        db_session, network.id, zone=ZONE, start_month=START_MONTH, since=first_start, until=first_end, now=now
    )
    assert per_space[(str(space.id), year.start.year)].attendance == 12 + 4 + 0 + 0
    raw = await insights.raw_figures(db_session, network, years, start_month=START_MONTH, now=now)
    assert raw["attendance"][year.start][ALL] == 16 + 5 + 2
    assert raw["attendance"][year.start]["identity"] == 16 + 5 + 2
