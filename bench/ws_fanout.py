"""Websocket fan-out benchmark: C sockets across S spaces, senders at a fixed rate.

Starts its own server (a subprocess running the real app under uvicorn) against a throwaway
database on the local PostgreSQL, connects C websocket clients (each subscribed to one of S
spaces), has one sender per space send at a fixed total rate, and reports deliveries/s,
send->receive latency p50/p99, loss, and server RSS per idle socket. Everything is bounded in
time and stops itself; the database is dropped at the end.

    .venv/bin/python bench/ws_fanout.py --sockets 5000 --spaces 100 --rate 400 --duration 20
    .venv/bin/python bench/ws_fanout.py --max --sockets 2000 --spaces 40 --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import websockets

ADMIN = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_stat(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def make_database(name: str, sockets: int, spaces: int) -> tuple[str, list[uuid.UUID], list[str], list[int]]:
    """Create and migrate a throwaway database; one account+token per socket; memberships."""
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
    network = uuid.uuid4()
    await db.execute("INSERT INTO networks (id, slug, name, kind) VALUES ($1, 'bench', 'Bench', 'district')", network)
    space_ids = [uuid.uuid4() for _ in range(spaces)]
    await db.executemany(
        "INSERT INTO spaces (id, network_id, name, kind) VALUES ($1, $2, $3, 'topic')",
        [(s, network, f"Space {i}") for i, s in enumerate(space_ids)],
    )
    accounts = [uuid.uuid4() for _ in range(sockets)]
    tokens = ["aff_" + secrets.token_urlsafe(32) for _ in range(sockets)]
    await db.copy_records_to_table(
        "accounts",
        records=[(a, f"b{i}@bench.example", f"B {i}") for i, a in enumerate(accounts)],
        columns=["id", "email", "display_name"],
    )
    await db.copy_records_to_table(
        "api_tokens",
        records=[
            (uuid.uuid4(), a, hashlib.sha256(t.encode()).digest(), t[:10], ["read", "write"], "bench")
            for a, t in zip(accounts, tokens, strict=True)
        ],
        columns=["id", "account_id", "token_hash", "prefix", "scopes", "name"],
    )
    assignment = [i % spaces for i in range(sockets)]
    await db.copy_records_to_table(
        "space_members",
        records=[(space_ids[assignment[i]], a, "member", "active") for i, a in enumerate(accounts)],
        columns=["space_id", "account_id", "role", "status"],
    )
    await db.close()
    return url, space_ids, tokens, assignment


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def start_server(url: str, port: int, ws_impl: str, broker: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "AFFINITY_BROKER": broker,
        "AFFINITY_SECRET_KEY": "bench-" + "x" * 40,
        "AFFINITY_LOG_LEVEL": "WARNING",
        "AFFINITY_DATA_DIR": "/tmp/affinity-bench",
        "AFFINITY_DB_POOL_SIZE": "20",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
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
        "--ws",
        ws_impl,
        "--log-level",
        "warning",
        "--ws-max-size",
        "65536",
        "--backlog",
        "8192",
    ]
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


class Stats:
    def __init__(self) -> None:
        self.received = 0
        self.latencies: list[float] = []
        self.measuring = False
        self.acked: dict[int, int] = {}  # space index -> messages acked while measuring


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sockets", type=int, default=5000)
    p.add_argument("--spaces", type=int, default=100)
    p.add_argument("--rate", type=float, default=400.0, help="messages per second in total (one sender per space)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of measured sending")
    p.add_argument("--max", action="store_true", help="max-throughput mode: each sender keeps a window in flight")
    p.add_argument("--window", type=int, default=4, help="unacked sends per sender in --max mode")
    p.add_argument("--ws", default="websockets", help="uvicorn websocket implementation")
    p.add_argument("--broker", default="memory", choices=["memory", "postgres", "redis"])
    args = p.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    name = f"affinity_bench_{uuid.uuid4().hex[:8]}"
    url, spaces, tokens, assignment = await make_database(name, args.sockets + args.spaces, args.spaces)
    port = free_port()
    server = start_server(url, port, args.ws, args.broker)
    stats = Stats()
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        rss_before = rss_kib(server.pid)
        ws_url = f"ws://127.0.0.1:{port}/ws"

        async def receiver(i: int, ready: asyncio.Event) -> None:
            ws = await websockets.connect(ws_url, open_timeout=60, ping_interval=None, max_queue=None)
            await ws.send(json.dumps({"type": "auth", "token": tokens[i]}))
            await ws.send(json.dumps({"type": "subscribe", "space": str(spaces[assignment[i]])}))
            ready.set()
            async for raw in ws:
                if not raw.startswith('{"type":"message"'):
                    continue
                if stats.measuring:
                    frame = json.loads(raw)
                    stats.received += 1
                    stats.latencies.append(time.time() - float(frame["body"]))

        print(f"connecting {args.sockets} sockets across {args.spaces} spaces ...", flush=True)
        t0 = time.perf_counter()
        tasks = []
        for start in range(0, args.sockets, 200):
            batch = []
            for i in range(start, min(start + 200, args.sockets)):
                ev = asyncio.Event()
                tasks.append(asyncio.create_task(receiver(i, ev)))
                batch.append(ev.wait())
            await asyncio.wait_for(asyncio.gather(*batch), 120)
        await asyncio.sleep(3.0)  # subscriptions settle, presence frames drain
        connect_s = time.perf_counter() - t0
        rss_idle = rss_kib(server.pid)
        per_socket = (rss_idle - rss_before) / args.sockets
        print(
            f"connected in {connect_s:.1f}s; server RSS {rss_before} -> {rss_idle} KiB "
            f"({per_socket:.1f} KiB per idle socket)",
            flush=True,
        )

        # Senders: one extra socket per space (members too), not counted as receivers.
        senders = []
        for s in range(args.spaces):
            ws = await websockets.connect(ws_url, ping_interval=None, max_queue=None)
            await ws.send(json.dumps({"type": "auth", "token": tokens[args.sockets + s]}))
            senders.append(ws)
        # The sender accounts are members of the space with the same index.
        db = await asyncpg.connect(url)
        acc = await db.fetch("SELECT account_id, space_id FROM space_members")
        await db.close()
        space_of = {r["account_id"]: r["space_id"] for r in acc}
        sender_space: list[uuid.UUID] = []
        db = await asyncpg.connect(url)
        for s in range(args.spaces):
            h = hashlib.sha256(tokens[args.sockets + s].encode()).digest()
            account = await db.fetchval("SELECT account_id FROM api_tokens WHERE token_hash = $1", h)
            sender_space.append(space_of[account])
        await db.close()
        receivers_in = dict.fromkeys(spaces, 0)
        for i in range(args.sockets):
            receivers_in[spaces[assignment[i]]] += 1

        acked = dict.fromkeys(range(args.spaces), 0)

        async def read_acks(s: int) -> None:
            async for raw in senders[s]:
                if raw.startswith('{"type":"ack"') and stats.measuring:
                    acked[s] += 1
                    window[s].release()

        window = [asyncio.Semaphore(args.window) for _ in range(args.spaces)]
        ack_tasks = [asyncio.create_task(read_acks(s)) for s in range(args.spaces)]

        async def send_loop(s: int, stop_at: float) -> None:
            interval = args.spaces / args.rate if not args.max else 0.0
            next_at = time.perf_counter() + (s / args.spaces) * interval
            n = 0
            while time.perf_counter() < stop_at:
                if args.max:
                    await window[s].acquire()
                else:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                n += 1
                await senders[s].send(
                    json.dumps(
                        {"type": "send", "space": str(sender_space[s]), "key": f"k{n}", "body": repr(time.time())}
                    )
                )

        stats.measuring = True
        cpu0 = sum(int(x) for x in cpu_stat(server.pid).split()[13:15])
        t_start = time.perf_counter()
        await asyncio.gather(*(send_loop(s, t_start + args.duration) for s in range(args.spaces)))
        send_elapsed = time.perf_counter() - t_start
        await asyncio.sleep(3.0)  # let the tail arrive
        stats.measuring = False
        cpu1 = sum(int(x) for x in cpu_stat(server.pid).split()[13:15])
        expected = sum(acked[s] * receivers_in[sender_space[s]] for s in range(args.spaces))
        sent = sum(acked.values())
        lat = sorted(stats.latencies)
        p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
        p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else float("nan")
        ticks = os.sysconf("SC_CLK_TCK")
        print(
            json.dumps(
                {
                    "mode": "max" if args.max else "fixed-rate",
                    "ws": args.ws,
                    "broker": args.broker,
                    "sockets": args.sockets,
                    "spaces": args.spaces,
                    "messages_acked": sent,
                    "messages_per_s": round(sent / send_elapsed, 1),
                    "deliveries": stats.received,
                    "deliveries_per_s": round(stats.received / send_elapsed, 1),
                    "expected_deliveries": expected,
                    "loss": expected - stats.received,
                    "latency_p50_ms": round(p50, 1),
                    "latency_p99_ms": round(p99, 1),
                    "latency_mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
                    "server_cpu_s": round((cpu1 - cpu0) / ticks, 1),
                    "rss_per_idle_socket_kib": round(per_socket, 1),
                },
                indent=2,
            ),
            flush=True,
        )
        for t in ack_tasks + tasks:
            t.cancel()
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        await drop_database(name)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
