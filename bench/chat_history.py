"""History paging benchmark: pages of 50 messages with ``before=`` over HTTP and the websocket.

Creates a throwaway database on the local PostgreSQL (migrated with the project's migrations),
fills one large room (``--messages``, default 200,000) and ``--other-spaces`` rooms of 2,000
messages each so the table and its indexes are not a toy, starts the real app under uvicorn on
a loopback port, and pages backwards from random points of the large room:

* HTTP: ``GET /api/v1/spaces/{id}/messages?before=SEQ&limit=50`` (authentication, the member
  check, the page with author names, the head), sequential, one keep-alive connection;
* websocket: ``{"type": "history", "before": SEQ, "limit": 50}`` on one subscribed socket.

Every call is timed on the client (request sent -> whole answer parsed). Bounded in count and
time; the database is dropped at the end.

    .venv/bin/python bench/chat_history.py --calls 2000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import websockets

ADMIN = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent
PAGE = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def make_database(name: str, messages: int, others: int, token: str | None = None) -> tuple[str, uuid.UUID, str]:
    """A migrated throwaway database with one member, one large room and ``others`` small ones."""
    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    sys.path.insert(0, str(ROOT))
    from services.persistence import migrate
    from services.persistence.engine import create_engine

    engine = create_engine(url, pool_size=1)
    await migrate.upgrade(engine)
    await engine.dispose()
    db = await asyncpg.connect(url)
    network, member, writer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token = token or "aff_" + secrets.token_urlsafe(32)
    await db.execute("INSERT INTO networks (id, slug, name, kind) VALUES ($1, 'bench', 'Bench', 'district')", network)
    await db.executemany(
        "INSERT INTO accounts (id, email, display_name) VALUES ($1, $2, $3)",
        [(member, "reader@bench.example", "Reader"), (writer, "writer@bench.example", "Writer")],
    )
    await db.execute(
        "INSERT INTO api_tokens (id, account_id, token_hash, prefix, scopes, name) "
        "VALUES ($1, $2, $3, $4, $5, 'bench')",
        uuid.uuid4(),
        member,
        hashlib.sha256(token.encode()).digest(),
        token[:10],
        ["read", "write"],
    )
    # Space members are members of the network (joining a space makes one); a space member who
    # is not would be an outside facilitator or a removed person, and reads nothing.
    await db.executemany(
        "INSERT INTO network_members (network_id, account_id, role) VALUES ($1, $2, 'member')",
        [(network, member), (network, writer)],
    )
    spaces = [uuid.uuid4() for _ in range(others + 1)]
    await db.executemany(
        "INSERT INTO spaces (id, network_id, name, kind) VALUES ($1, $2, $3, 'topic')",
        [(s, network, f"Space {i}") for i, s in enumerate(spaces)],
    )
    await db.executemany(
        "INSERT INTO space_members (space_id, account_id, role, status) VALUES ($1, $2, 'member', 'active')",
        [(s, a) for s in spaces for a in (member, writer)],
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    body = "A message of ordinary length, about as long as what people write between meetings. " * 2
    for space, count in [(spaces[0], messages), *((s, 2000) for s in spaces[1:])]:
        rows = [
            (space, seq, uuid.uuid4(), writer, body, f"k{seq}", start + dt.timedelta(seconds=seq), seq)
            for seq in range(1, count + 1)
        ]
        await db.copy_records_to_table(
            "messages",
            records=rows,
            columns=["space_id", "seq", "id", "author_id", "body", "key", "sent_at", "version"],
        )
        await db.execute("INSERT INTO chat_rooms (space_id, head_seq, version) VALUES ($1, $2, $2)", space, count)
    # A few edited and deleted rows, as in a real room.
    await db.execute("UPDATE messages SET edited_at = sent_at WHERE space_id = $1 AND seq % 97 = 0", spaces[0])
    await db.execute(
        "UPDATE messages SET deleted_at = sent_at, body = '' WHERE space_id = $1 AND seq % 89 = 0", spaces[0]
    )
    await db.execute("ANALYZE")
    await db.close()
    return url, spaces[0], token


KEPT_TOKEN = "aff_bench-history-kept-database-token-0000000000"
"""The reader's token in a database kept with ``--keep`` (a throwaway database's is random)."""


async def kept_database(name: str) -> tuple[str, uuid.UUID, str] | None:
    """(url, large room, token) of a database seeded by an earlier ``--keep`` run, or None."""
    conn = await asyncpg.connect(ADMIN)
    exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    await conn.close()
    if not exists:
        return None
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    db = await asyncpg.connect(url)
    space = await db.fetchval("SELECT space_id FROM chat_rooms ORDER BY head_seq DESC LIMIT 1")
    await db.close()
    return url, space, KEPT_TOKEN


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "AFFINITY_BROKER": "memory",
        "AFFINITY_SECRET_KEY": "bench-" + "x" * 40,
        "AFFINITY_LOG_LEVEL": "WARNING",
        "AFFINITY_DATA_DIR": "/tmp/affinity-bench-history",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "services.asgi:app_factory",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
    ]
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(label: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"| {label} | {pct(ms, 0.5):.2f} ms | {pct(ms, 0.99):.2f} ms | {max(ms):.2f} ms | {len(ms)} |"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (robust to other load on a shared machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    base: str, space: uuid.UUID, token: str, head: int, calls: int, server_pid: int, profile: str | None = None
) -> tuple[list[float], list[float], float]:
    rng = random.Random(7)
    points = [rng.randint(PAGE + 1, head + 1) for _ in range(calls)]
    headers = {"Authorization": f"Bearer {token}"}
    http_times: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        for before in points[:50]:  # warm-up: connections, caches, prepared plans
            (
                await http.get(f"/api/v1/spaces/{space}/messages", params={"before": before, "limit": PAGE})
            ).raise_for_status()
        spy = None
        if profile:
            spy_cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server_pid)]
            spy = subprocess.Popen([*spy_cmd, "-r", "200", "--format", "raw", "-o", profile])  # noqa: ASYNC220
            await asyncio.sleep(1)  # py-spy attaches
        cpu0 = cpu_seconds(server_pid)
        for before in points:
            t0 = time.perf_counter()
            r = await http.get(f"/api/v1/spaces/{space}/messages", params={"before": before, "limit": PAGE})
            items = r.json()["items"]
            http_times.append(time.perf_counter() - t0)
            assert r.status_code == 200 and len(items) == PAGE and items[-1]["seq"] == before - 1, r.text
        http_cpu = (cpu_seconds(server_pid) - cpu0) / len(points)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
    ws_times: list[float] = []
    async with websockets.connect(base.replace("http", "ws") + "/ws", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.send(json.dumps({"type": "subscribe", "space": str(space)}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        ws_points = points[: max(1, calls // 4)]
        for i, before in enumerate([*points[:50], *ws_points]):
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "history", "space": str(space), "before": before, "limit": PAGE}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] in {"history", "error"}:
                    break
            assert frame["type"] == "history" and len(frame["messages"]) == PAGE, frame
            if i >= 50:
                ws_times.append(time.perf_counter() - t0)
            await asyncio.sleep(0.11)  # stay under the socket's 10 actions/s budget
    return http_times, ws_times, http_cpu


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=200_000, help="messages in the large room")
    p.add_argument("--other-spaces", type=int, default=50, help="rooms of 2,000 messages each besides it")
    p.add_argument("--calls", type=int, default=2000, help="pages per path (HTTP; the websocket does a quarter)")
    p.add_argument("--keep", help="reuse (or keep) this database name instead of a throwaway one")
    p.add_argument(
        "--profile",
        metavar="FILE",
        help="record the server with py-spy during the HTTP pages (needs py-spy; writes FILE in --format raw)",
    )
    args = p.parse_args()
    name = args.keep or f"bench_history_{uuid.uuid4().hex[:8]}"
    port = free_port()
    server = None
    try:
        t0 = time.perf_counter()
        kept = await kept_database(name) if args.keep else None
        if kept is not None:
            url, space, token = kept
            print(f"reusing database {name}")
        else:
            url, space, token = await make_database(
                name, args.messages, args.other_spaces, KEPT_TOKEN if args.keep else None
            )
            print(f"seeded {args.messages + 2000 * args.other_spaces:,} messages in {time.perf_counter() - t0:.1f} s")
        server = start_server(url, port)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    if (await probe.get(base + "/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        load = os.getloadavg()[0]
        http_times, ws_times, http_cpu = await measure(
            base, space, token, args.messages, args.calls, server.pid, args.profile
        )
        print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
        print("| path (page of 50, before=) | p50 | p99 | max | calls |")
        print("| --- | --- | --- | --- | --- |")
        print(line("HTTP `GET /messages?before=`", http_times))
        print(line("websocket `history` frame", ws_times))
        print(f"server CPU per HTTP page: {http_cpu * 1000:.2f} ms")
        db = await asyncpg.connect(url)
        plan = await db.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM (SELECT m.seq, m.body, a.display_name FROM messages m "
            "LEFT JOIN accounts a ON a.id = m.author_id WHERE m.space_id = $1 AND m.seq < $2 AND m.seq > 0 "
            "ORDER BY m.seq DESC LIMIT 50) page ORDER BY seq",
            space,
            args.messages // 2,
        )
        await db.close()
        print("page query in PostgreSQL:", next(r[0] for r in plan if "Execution Time" in r[0]))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        if not args.keep:
            await drop_database(name)


if __name__ == "__main__":
    asyncio.run(main())
