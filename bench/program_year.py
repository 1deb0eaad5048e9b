"""Program-year benchmarks: a network's insights over five years, and a member's calendar feed.

Creates a throwaway database on the machine's PostgreSQL (tests/pg.py finds it), migrates it,
seeds it with COPY, times the use cases directly (database reads included, no HTTP), and drops
the database. Short by default: the machine is shared.

    .venv/bin/python bench/program_year.py                # 10,000 spaces, 5 years; feed of 50 spaces
    .venv/bin/python bench/program_year.py --spaces 2000  # smaller
    .venv/bin/python bench/program_year.py --check-in-share 0  # every meeting has a recorded count

Targets: insights < 2 s; a member's feed (50 spaces, 3 years of series) < 100 ms. Prints wall
clock, process CPU time and time spent waiting on statements for insights, and the feed cold
(nothing cached), warm (the same feed again) and not modified (304 to an app sending the ETag),
with the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from federation.compliance import program_year  # noqa: E402
from services.calendar import service as calendar  # noqa: E402
from services.insights import service as insights  # noqa: E402
from services.persistence import migrate  # noqa: E402
from services.persistence.engine import create_engine, create_sessionmaker, libpq_url  # noqa: E402
from services.persistence.models import Network  # noqa: E402
from tests.pg import admin_url  # noqa: E402

KINDS = ["identity", "role", "topic", "cohort"]
BASIC = {"meetings.virtual_per_year": {"min": 3}, "meetings.in_person_per_year": {"min": 1}}
UTC = dt.UTC


async def _seed(
    url: str, n_spaces: int, series_share: float, seed: int, check_in_share: float = 0.5
) -> tuple[uuid.UUID, str]:
    """The network (insights) and a member of 50 spaces with 3 years of series (feed)."""
    rng = random.Random(seed)
    engine = create_engine(url, pool_size=2)
    await migrate.upgrade(engine)
    await engine.dispose()
    conn = await asyncpg.connect(libpq_url(url))
    now = dt.datetime.now(UTC)
    this_year = program_year(now.date(), 8)
    first_year = this_year.start.year - 4
    t0 = dt.datetime(first_year, 8, 1, tzinfo=UTC)
    try:
        network_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO networks (id, slug, name, kind, time_zone) VALUES ($1, 'bench', 'Bench', 'district', "
            "'America/Los_Angeles')",
            network_id,
        )
        people = [uuid.uuid4() for _ in range(n_spaces * 2)]
        await conn.copy_records_to_table(
            "accounts",
            records=[(p, f"p{i}@bench.example", f"Person {i}", True) for i, p in enumerate(people)],
            columns=["id", "email", "display_name", "email_verified"],
        )
        spaces = [uuid.uuid4() for _ in range(n_spaces)]
        span = (now - t0).total_seconds()
        await conn.copy_records_to_table(
            "spaces",
            records=[
                (s, network_id, [], 0, f"Space {i}", KINDS[i % 4], "request", "listed", "{}", "{}", t0)
                for i, s in enumerate(spaces)
            ],
            columns=[
                "id",
                "network_id",
                "path",
                "depth",
                "name",
                "kind",
                "join_mode",
                "visibility",
                "settings",
                "subspace_constraints",
                "created_at",
            ],
        )
        members = set()
        of_space: dict[uuid.UUID, list[uuid.UUID]] = {}
        for s in spaces:
            for p in rng.sample(people, 6):
                members.add((s, p))
                of_space.setdefault(s, []).append(p)
        await conn.copy_records_to_table(
            "space_members",
            records=[(s, p, "member", "active", t0 + dt.timedelta(seconds=rng.random() * span)) for s, p in members],
            columns=["space_id", "account_id", "role", "status", "created_at"],
        )
        meetings = []
        messages = []
        check_ins = []
        for s in spaces:
            for _ in range(5 * 4):  # four meetings a year for five years
                at = t0 + dt.timedelta(seconds=rng.random() * span)
                mid = uuid.uuid4()
                if rng.random() < check_in_share:
                    # No recorded count: members checked themselves in (the figure is their number).
                    meetings.append((mid, s, "virtual", "Circle", at, 60, [], None))
                    check_ins += [(mid, p) for p in rng.sample(of_space[s], rng.randint(1, 6))]
                else:
                    meetings.append((mid, s, "virtual", "Circle", at, 60, [], rng.randint(2, 6)))
            for seq in range(1, 11):  # ten messages
                at = t0 + dt.timedelta(seconds=rng.random() * span)
                messages.append((s, seq, uuid.uuid4(), None, "hello", f"k{seq}", at))
        await conn.copy_records_to_table(
            "meetings",
            records=meetings,
            columns=[
                "id",
                "space_id",
                "kind",
                "title",
                "starts_at",
                "duration_minutes",
                "components",
                "attendance_count",
            ],
        )
        await conn.copy_records_to_table("meeting_check_ins", records=check_ins, columns=["meeting_id", "account_id"])
        await conn.copy_records_to_table(
            "messages", records=messages, columns=["space_id", "seq", "id", "author_id", "body", "key", "sent_at"]
        )
        # Recurring meetings for a share of the spaces: monthly this program year.
        start_local = dt.datetime(this_year.start.year, 8, 11, 16)
        from federation.schedule import parse_series

        rule = parse_series("FREQ=MONTHLY;BYDAY=2TU;COUNT=12", start_local, "America/Los_Angeles")
        series = [
            (
                uuid.uuid4(),
                s,
                "virtual",
                "Monthly",
                start_local,
                "America/Los_Angeles",
                rule.rule,
                60,
                [],
                rule.starts[0],
                rule.last,
            )
            for s in spaces[: int(n_spaces * series_share)]
        ]
        series_columns = [
            "id",
            "space_id",
            "kind",
            "title",
            "start_local",
            "time_zone",
            "rule",
            "duration_minutes",
            "components",
            "first_start",
            "last_start",
        ]
        await conn.copy_records_to_table("meeting_series", records=series, columns=series_columns)
        occurrence_check_ins = [
            (row[0], start, p)
            for row in series
            if rng.random() < check_in_share
            for start in rule.starts[:3]
            for p in rng.sample(of_space[row[1]], rng.randint(1, 6))
        ]
        await conn.copy_records_to_table(
            "occurrence_check_ins", records=occurrence_check_ins, columns=["series_id", "original_start", "account_id"]
        )
        template = uuid.uuid4()
        await conn.execute(
            "INSERT INTO policy_templates (id, network_id, name, mode) VALUES ($1, $2, 'Basic', 'enforce')",
            template,
            network_id,
        )
        await conn.execute(
            "INSERT INTO policy_template_versions (template_id, version, constraints) VALUES ($1, 1, $2::jsonb)",
            template,
            json.dumps(BASIC),
        )
        await conn.execute(
            "INSERT INTO policy_attachments (id, template_id, network_id) VALUES ($1, $2, $3)",
            uuid.uuid4(),
            template,
            network_id,
        )

        # The feed: one member of 50 spaces, each with a monthly series over three years, a few
        # exceptions, and a dozen single meetings.
        member = uuid.uuid4()
        await conn.execute(
            "INSERT INTO accounts (id, email, display_name, email_verified) VALUES ($1, 'member@bench.example', "
            "'Member', true)",
            member,
        )
        # A member of the network, as joining makes one: a space member outside the network (an
        # outside facilitator, a removed person) sees none of its meetings in the feed.
        await conn.execute(
            "INSERT INTO network_members (network_id, account_id, role) VALUES ($1, $2, 'member')", network_id, member
        )
        feed_spaces = spaces[:50]
        await conn.executemany(
            "INSERT INTO space_members (space_id, account_id, role, status) VALUES ($1, $2, 'member', 'active') "
            "ON CONFLICT DO NOTHING",
            [(s, member) for s in feed_spaces],
        )
        long_start = dt.datetime(now.year - 1, 9, 1, 9)
        long_rule = parse_series("FREQ=MONTHLY;BYDAY=2TU;COUNT=36", long_start, "America/Los_Angeles")
        long_series = [
            (
                uuid.uuid4(),
                s,
                "virtual",
                "Three-year circle",
                long_start,
                "America/Los_Angeles",
                long_rule.rule,
                60,
                [],
                long_rule.starts[0],
                long_rule.last,
            )
            for s in feed_spaces
        ]
        await conn.copy_records_to_table("meeting_series", records=long_series, columns=series_columns)
        await conn.copy_records_to_table(
            "meeting_series_exceptions",
            records=[(row[0], long_rule.starts[3], "skip") for row in long_series],
            columns=["series_id", "original_start", "kind"],
        )
        # Fresh statistics, as autovacuum would have them in production (COPY leaves none).
        await conn.execute("ANALYZE")
        token = calendar.TOKEN_PREFIX + "bench-token"
        await conn.execute(
            "INSERT INTO calendar_feeds (account_id, token_hash) VALUES ($1, $2)",
            member,
            calendar._hash(token),  # the bench stores a token the way the service does
        )
    finally:
        await conn.close()
    return network_id, token


def _db_clock(engine: object) -> dict[str, float]:
    """Seconds spent waiting on statements (send to last row, as the driver sees it)."""
    from sqlalchemy import event

    spent = {"s": 0.0}
    started: list[float] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")  # type: ignore[attr-defined]
    def _before(*_: object) -> None:
        started.append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")  # type: ignore[attr-defined]
    def _after(*_: object) -> None:
        spent["s"] += time.perf_counter() - started.pop()

    return spent


def _quantiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "p50": round(statistics.median(ms), 1),
        "p95": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1),
        "max": round(ms[-1], 1),
    }


async def _measure(url: str, network_id: uuid.UUID, token: str, runs: int, feed_calls: int) -> dict[str, object]:
    engine = create_engine(url, pool_size=2)
    db = _db_clock(engine)
    maker = create_sessionmaker(engine)
    now = dt.datetime.now(UTC)
    last = program_year(now.date(), 8)
    years = [program_year(dt.date(last.start.year - k, 9, 1), 8) for k in range(4, -1, -1)]
    insight_s: list[float] = []
    insight_cpu: list[float] = []
    insight_db: list[float] = []
    feed: dict[str, list[float]] = {"cold": [], "warm": [], "not_modified": []}
    feed_cpu: dict[str, list[float]] = {"cold": [], "warm": [], "not_modified": []}
    size = 0
    try:
        for _ in range(runs):
            async with maker() as session:
                network = await session.get(Network, network_id)
                assert network is not None
                db["s"] = 0.0
                c = time.process_time()
                t = time.perf_counter()
                out = await insights.compute(session, network, years, start_month=8, now=now)
                insight_s.append(time.perf_counter() - t)
                insight_cpu.append(time.process_time() - c)
                insight_db.append(db["s"])
                assert len(out.metrics[0].rows) == 5
        async with maker() as session:
            for _ in range(feed_calls):
                # cold: nothing cached (the calendar is written); warm: the same feed again (its
                # bytes are reused, the rows are still read); not modified: the app sends the ETag.
                calendar.FEED_CACHE.clear()
                etag = ""
                for phase in ("cold", "warm", "not_modified"):
                    c = time.process_time()
                    t = time.perf_counter()
                    found = await calendar.member_feed_body(
                        session,
                        token,
                        base_url="http://bench.local",
                        now=now,
                        if_none_match=etag if phase == "not_modified" else None,
                    )
                    feed[phase].append((time.perf_counter() - t) * 1000)
                    feed_cpu[phase].append((time.process_time() - c) * 1000)
                    etag = found.etag
                    if found.body is not None:
                        size = len(found.body)
                    assert (found.body is None) == (phase == "not_modified")
    finally:
        await engine.dispose()
    # The seeded feed is ~140 KB (~300 events and 50 series); a few hundred bytes means the member saw no
    # space (a seed that no longer matches the access rules), and the timings would mean nothing.
    if size < 100_000:
        raise SystemExit(f"the feed has {size} bytes: the bench's member reads no meetings; fix the seed")
    return {
        "insights_s": {
            "best": round(min(insight_s), 3),
            "worst": round(max(insight_s), 3),
            "cpu_best": round(min(insight_cpu), 3),
            "cpu_worst": round(max(insight_cpu), 3),
            "db_wait_best": round(min(insight_db), 3),
            "db_wait_worst": round(max(insight_db), 3),
            "runs": runs,
        },
        "feed_ms": {
            phase: {**_quantiles(feed[phase]), "cpu_p50": round(statistics.median(feed_cpu[phase]), 1)}
            for phase in feed
        }
        | {"calls": feed_calls, "bytes": size},
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    admin = admin_url()
    name = f"affinity_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(libpq_url(admin))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        t = time.perf_counter()
        network_id, token = await _seed(url, args.spaces, args.series_share, args.seed, args.check_in_share)
        print(f"seeded {args.spaces} spaces in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        figures = await _measure(url, network_id, token, args.runs, args.feed_calls)
    finally:
        conn = await asyncpg.connect(libpq_url(admin))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    figures["spaces"] = args.spaces
    figures["series_share"] = args.series_share
    figures["check_in_share"] = args.check_in_share
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    feed = figures["feed_ms"]
    figures["targets_met"] = {
        "insights": figures["insights_s"]["worst"] < 2,  # type: ignore[index]
        "feed_cold": feed["cold"]["p95"] < 100,  # type: ignore[index]
        "feed_warm": feed["warm"]["p95"] < 100,  # type: ignore[index]
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spaces", type=int, default=10_000)
    parser.add_argument("--series-share", type=float, default=0.2, help="share of spaces with a recurring meeting")
    parser.add_argument(
        "--check-in-share",
        type=float,
        default=0.5,
        help="share of meetings without a recorded count whose figure comes from self check-ins",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--feed-calls", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
