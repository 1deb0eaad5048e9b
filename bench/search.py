"""Search latency: p50/p99 of GET /api/v1/search over 1,000,000 chat messages in 1,000 spaces
(plus 20,000 resources) for a member of 20 spaces, through the whole HTTP stack in-process.

    .venv/bin/python bench/search.py [--messages-per-space 1000] [--calls 100] [--keep]

Creates a throwaway database on the machine's PostgreSQL (tests/pg.py finds it), migrates it,
seeds with generate_series (the message search index is dropped during the load and rebuilt
after, as one would for a bulk import), measures, and drops the database (unless --keep).
Message bodies are 10-12 pseudo-words drawn with a skewed distribution, so ``w1`` is in about
10% of all messages, ``w300`` in well under 1%, ``w9000`` in a few dozen. Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.persistence import migrate  # noqa: E402
from services.persistence.engine import create_engine, libpq_url  # noqa: E402
from tests.pg import admin_url, with_database  # noqa: E402

QUERIES = {
    "common word (w1, ~10% of messages)": "w1",
    "medium word (w300)": "w300",
    "rare word (w9000)": "w9000",
    "two words (w5 w40)": "w5 w40",
    'phrase ("w1 w2")': '"w1 w2"',
    "or (w10 or w11)": "w10 or w11",
    "negation (w3 -w4)": "w3 -w4",
    "no match": "nothingmatches",
}
MESSAGE_INDEX = "CREATE INDEX ix_messages_search ON messages USING gin (search_vector)"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def seed(url: str, per_space: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """1,000 spaces, ``per_space`` messages each; the bench account is a member of 20 spaces."""
    conn = await asyncpg.connect(libpq_url(url))
    me, net = uuid.uuid4(), uuid.uuid4()
    try:
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute(
            "INSERT INTO accounts (id, email, display_name, email_verified) "
            "VALUES ($1, 'me@bench.example', 'Me', true)",
            me,
        )
        await conn.execute("INSERT INTO networks (id, slug, name, kind) VALUES ($1, 'bench', 'Bench', 'district')", net)
        await conn.execute(
            "INSERT INTO network_members (network_id, account_id, role) VALUES ($1, $2, 'member')", net, me
        )
        await conn.execute(
            """INSERT INTO spaces (id, network_id, name, kind, join_mode, visibility, settings, path, depth)
               SELECT gen_random_uuid(), $1, 'Space ' || n, 'topic', 'open', 'listed', '{}', '{}', 0
               FROM generate_series(1, 1000) n""",
            net,
        )
        spaces = [r["id"] for r in await conn.fetch("SELECT id FROM spaces ORDER BY name")]
        mine = spaces[::50]
        await conn.executemany(
            "INSERT INTO space_members (space_id, account_id, role, status) VALUES ($1, $2, 'member', 'active')",
            [(s, me) for s in mine],
        )
        await conn.execute("DROP INDEX ix_messages_search")
        started = time.perf_counter()
        await conn.execute(
            """INSERT INTO chat_rooms (space_id, head_seq, version) SELECT id, $1, $1 FROM spaces""", per_space
        )
        await conn.execute(
            """INSERT INTO messages (space_id, seq, id, author_id, body, key, version, sent_at)
               SELECT s.id, g.n, gen_random_uuid(), $2,
                      (SELECT string_agg('w' || floor(power(random(), 3) * 20000)::int, ' ')
                       FROM generate_series(1, 10 + (g.n % 3))),
                      'k' || g.n, g.n, now() - make_interval(mins => $1 - g.n)
               FROM spaces s CROSS JOIN generate_series(1, $1) g(n)""",
            per_space,
            me,
        )
        loaded = time.perf_counter()
        await conn.execute(MESSAGE_INDEX)
        indexed = time.perf_counter()
        await conn.execute(
            """INSERT INTO resources (id, space_id, kind, title, url, note, tags, added_by)
               SELECT gen_random_uuid(), s.id, 'link', 'Resource w' || floor(power(random(), 3) * 20000)::int,
                      'https://example.org/' || g.n, 'note w' || floor(power(random(), 3) * 20000)::int, '{}', $1
               FROM spaces s CROSS JOIN generate_series(1, 20) g(n)""",
            me,
        )
        await conn.execute("VACUUM ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM messages")
        print(
            f"seeded {count:,} messages in 1,000 spaces: load {loaded - started:.0f} s, "
            f"search index {indexed - loaded:.0f} s; 20,000 resources",
            file=sys.stderr,
        )
    finally:
        await conn.close()
    return me, mine


async def measure(url: str, me: uuid.UUID, calls: int) -> None:
    from litestar.testing import AsyncTestClient
    from sqlalchemy import text

    from services.app import create_app
    from services.auth.tokens import issue_token
    from services.persistence.engine import create_sessionmaker
    from services.persistence.models import Account
    from services.settings import Settings

    engine = create_engine(url, pool_size=2)
    async with create_sessionmaker(engine)() as session:
        account = await session.get(Account, me)
        assert account is not None
        token = (await issue_token(session, account, scopes=None, expires_in_days=1)).token
        await session.commit()
    await engine.dispose()
    settings = Settings(
        database_url=url,
        data_dir=Path("/tmp/affinity-bench-search"),
        environment="test",
        broker="memory",
        log_level="WARNING",
        secret_key="bench-" + "x" * 40,
    )
    headers = {"Authorization": f"Bearer {token}"}
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", file=sys.stderr)
    everything: list[float] = []
    rows = []
    async with AsyncTestClient(app=create_app(settings), base_url="http://bench.local") as client:
        for q in QUERIES.values():  # warm the caches once
            r = await client.get("/api/v1/search", params={"q": q}, headers=headers)
            assert r.status_code == 200, r.text
        for name, q in QUERIES.items():
            times = []
            hits = 0
            for _ in range(calls):
                t = time.perf_counter()
                r = await client.get("/api/v1/search", params={"q": q}, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                hits = len(r.json()["items"])
            everything += times
            rows.append((name, pct(times, 50), pct(times, 99), max(times), hits))
    # The same calls without HTTP and authentication: readable spaces (the domain decides) + the
    # search statement, on one session; separates database time from the web stack's.
    from federation.networks import Role
    from federation.permissions import Actor
    from services.search import service

    engine = create_engine(url, pool_size=1)
    direct: dict[str, list[float]] = {}
    async with create_sessionmaker(engine)() as session:
        net = await session.scalar(text("SELECT network_id FROM network_members WHERE account_id = :a"), {"a": me})
        actor = Actor(me, network_roles={net: Role.MEMBER})
        for name, q in QUERIES.items():
            direct[name] = []
            for _ in range(calls):
                t = time.perf_counter()
                await service.search(session, actor, q, space=None, page=1, limit=20)
                direct[name].append((time.perf_counter() - t) * 1000)
                await session.rollback()
    await engine.dispose()
    end = os.getloadavg()
    print("| query | p50 (ms) | p99 (ms) | max (ms) | hits on page 1 | without HTTP: p50 | p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, p50, p99, mx, hits in rows:
        d = direct[name]
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {mx:.1f} | {hits} | {pct(d, 50):.1f} | {pct(d, 99):.1f} |")
    every = [t for d in direct.values() for t in d]
    print(
        f"| **all {len(everything)} calls** | **{pct(everything, 50):.1f}** | **{pct(everything, 99):.1f}** "
        f"| {max(everything):.1f} | | {pct(every, 50):.1f} | {pct(every, 99):.1f} |"
    )
    print(f"load average at end: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}", file=sys.stderr)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages-per-space", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=100, help="calls per query kind")
    parser.add_argument("--keep", help="reuse (or keep) this database name instead of a throwaway one")
    args = parser.parse_args()
    admin = admin_url()
    name = args.keep or f"affinity_bench_search_{uuid.uuid4().hex[:8]}"
    url = with_database(admin, name)
    conn = await asyncpg.connect(libpq_url(admin))
    exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    if not exists:
        await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        if not exists:
            engine = create_engine(url, pool_size=1)
            await migrate.upgrade(engine)
            await engine.dispose()
            me, _ = await seed(url, args.messages_per_space)
        else:
            c = await asyncpg.connect(libpq_url(url))
            me = await c.fetchval("SELECT id FROM accounts WHERE email = 'me@bench.example'")
            await c.close()
        await measure(url, me, args.calls)
    finally:
        if not args.keep:
            conn = await asyncpg.connect(libpq_url(admin))
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
