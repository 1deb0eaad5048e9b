"""Websocket fan-out benchmark: C sockets across S spaces, senders at a fixed rate.

Starts its own server (a subprocess running the real app under uvicorn, loopback only) against a
throwaway database on the local PostgreSQL, connects C websocket clients spread over --procs
client processes (each with its own event loop, connecting in concurrent batches), each socket
subscribed to one of S spaces; one sender per space (in the parent) sends at a fixed total rate
with time.time_ns() in the body. Reports deliveries/s, send->receive latency p50/p99, loss,
server RSS per idle socket (RSS delta between 0 and C idle authenticated, subscribed sockets),
server and client CPU. Everything is bounded in time and count and stops itself; the database
is dropped at the end.

    .venv/bin/python bench/ws_fanout.py --sockets 5000 --spaces 100 --rate 400 --duration 20
    .venv/bin/python bench/ws_fanout.py --max --sockets 2000 --spaces 40 --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing as mp
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
from typing import Any

import asyncpg
import msgspec
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


def start_server(url: str, port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "AFFINITY_BROKER": args.broker,
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
        args.ws,
        "--log-level",
        "warning",
        "--ws-max-size",
        "65536",
        "--ws-max-queue",
        str(args.ws_max_queue),
        "--ws-per-message-deflate",
        "true" if args.deflate else "false",
        "--backlog",
        "8192",
        "--loop",
        "uvloop",
    ]
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


class _Frame(msgspec.Struct):
    type: str
    body: str = ""


def receiver_process(
    ws_url: str, jobs: list[tuple[str, str]], ready: Any, measure: Any, stop: Any, out: Any, batch: int
) -> None:
    """One client process: connect its sockets in concurrent batches, then count message frames
    (and their latency) received while ``measure`` is set, until ``stop``."""
    import uvloop

    decode = msgspec.json.Decoder(_Frame).decode
    latencies: list[int] = []
    received = 0
    measuring = False  # a local copy of ``measure`` (checking a multiprocessing Event per frame is slow)

    async def one(token: str, space: str) -> websockets.ClientConnection:
        ws = await websockets.connect(ws_url, open_timeout=60, ping_interval=None, max_queue=None, compression=None)
        await ws.send('{"type":"auth","token":"%s"}' % token)  # noqa: UP031
        await ws.send('{"type":"subscribe","space":"%s"}' % space)  # noqa: UP031
        return ws

    async def read(ws: websockets.ClientConnection) -> None:
        nonlocal received
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                if measuring and raw.startswith('{"type":"message"'):
                    received += 1
                    latencies.append(time.time_ns() - int(decode(raw).body))

    async def run() -> None:
        t0 = time.perf_counter()
        socks: list[websockets.ClientConnection] = []
        for start in range(0, len(jobs), batch):
            socks += await asyncio.gather(*(one(t, s) for t, s in jobs[start : start + batch]))
        nonlocal measuring
        readers = [asyncio.create_task(read(ws)) for ws in socks]
        ready.put(time.perf_counter() - t0)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, measure.wait)
        measuring = True
        await loop.run_in_executor(None, stop.wait)
        measuring = False
        cpu = time.process_time()
        for r in readers:
            r.cancel()
        out.put({"received": received, "latencies_ns": latencies, "cpu_s": cpu})
        for ws in socks:
            ws.transport.abort()

    uvloop.run(run())


def _pct(values: list[int], q: float) -> float:
    """The ``q`` quantile of sorted nanosecond ``values``, in ms."""
    return values[min(len(values) - 1, int(len(values) * q))] / 1e6 if values else float("nan")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sockets", type=int, default=5000)
    p.add_argument("--spaces", type=int, default=100)
    p.add_argument("--rate", type=float, default=400.0, help="messages per second in total (one sender per space)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of measured sending (at most 120)")
    p.add_argument("--max", action="store_true", help="max-throughput mode: each sender keeps a window in flight")
    p.add_argument("--window", type=int, default=4, help="unacked sends per sender in --max mode")
    p.add_argument("--ws", default="websockets-sansio", help="uvicorn websocket implementation")
    p.add_argument("--ws-max-queue", type=int, default=32, help="uvicorn --ws-max-queue")
    p.add_argument("--deflate", action="store_true", help="let uvicorn negotiate per-message deflate")
    p.add_argument("--broker", default="memory", choices=["memory", "postgres", "redis"])
    p.add_argument("--procs", type=int, default=2, help="client processes for the receiving sockets")
    p.add_argument("--batch", type=int, default=100, help="sockets each client process connects at once")
    args = p.parse_args()
    args.duration = min(args.duration, 120.0)
    args.sockets = min(args.sockets, 20_000)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    name = f"affinity_bench_{uuid.uuid4().hex[:8]}"
    url, spaces, tokens, assignment = await make_database(name, args.sockets + args.spaces, args.spaces)
    port = free_port()
    server = start_server(url, port, args)
    ctx = mp.get_context("fork")
    procs: list[Any] = []
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        rss_before = rss_kib(server.pid)
        print(f"server pid {server.pid} (profile it: py-spy top --pid {server.pid})", flush=True)
        ws_url = f"ws://127.0.0.1:{port}/ws"
        ready, out = ctx.Queue(), ctx.Queue()
        measure, stop = ctx.Event(), ctx.Event()
        print(f"connecting {args.sockets} sockets over {args.spaces} spaces from {args.procs} processes", flush=True)
        t0 = time.perf_counter()
        for k in range(args.procs):
            jobs = [(tokens[i], str(spaces[assignment[i]])) for i in range(k, args.sockets, args.procs)]
            proc = ctx.Process(
                target=receiver_process, args=(ws_url, jobs, ready, measure, stop, out, args.batch), daemon=True
            )
            proc.start()
            procs.append(proc)
        loop = asyncio.get_running_loop()
        for _ in procs:
            await asyncio.wait_for(loop.run_in_executor(None, ready.get), 300)
        connect_s = time.perf_counter() - t0
        await asyncio.sleep(3.0)  # subscriptions settle, presence frames drain
        rss_idle = rss_kib(server.pid)
        per_socket = (rss_idle - rss_before) / args.sockets
        print(
            f"connected in {connect_s:.1f}s; server RSS {rss_before} -> {rss_idle} KiB "
            f"({per_socket:.1f} KiB per idle socket)",
            flush=True,
        )

        # Senders: one extra socket per space; account sockets+s is a member of space (sockets+s) % S.
        senders = []
        for s in range(args.spaces):
            ws = await websockets.connect(ws_url, ping_interval=None, max_queue=None, compression=None)
            await ws.send(json.dumps({"type": "auth", "token": tokens[args.sockets + s]}))
            senders.append(ws)
        sender_space = [spaces[(args.sockets + s) % args.spaces] for s in range(args.spaces)]
        receivers_in = dict.fromkeys(spaces, 0)
        for i in range(args.sockets):
            receivers_in[spaces[assignment[i]]] += 1
        acked = dict.fromkeys(range(args.spaces), 0)
        window = [asyncio.Semaphore(args.window) for _ in range(args.spaces)]

        async def read_acks(s: int) -> None:
            async for raw in senders[s]:
                if raw.startswith('{"type":"ack"'):
                    acked[s] += 1
                    window[s].release()

        ack_tasks = [asyncio.create_task(read_acks(s)) for s in range(args.spaces)]

        async def send_loop(s: int, stop_at: float) -> None:
            interval = args.spaces / args.rate if not args.max else 0.0
            next_at = time.perf_counter() + (s / args.spaces) * interval
            n = 0
            space = str(sender_space[s])
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
                    '{"type":"send","space":"%s","key":"k%d","body":"%d"}' % (space, n, time.time_ns())  # noqa: UP031
                )

        measure.set()
        cpu0 = sum(int(x) for x in cpu_stat(server.pid).split()[13:15])
        t_start = time.perf_counter()
        await asyncio.gather(*(send_loop(s, t_start + args.duration) for s in range(args.spaces)))
        send_elapsed = time.perf_counter() - t_start
        await asyncio.sleep(3.0)  # let the tail arrive
        cpu1 = sum(int(x) for x in cpu_stat(server.pid).split()[13:15])
        stop.set()
        results = [await asyncio.wait_for(loop.run_in_executor(None, out.get), 60) for _ in procs]
        received = sum(r["received"] for r in results)
        lat = sorted(x for r in results for x in r["latencies_ns"])
        expected = sum(acked[s] * receivers_in[sender_space[s]] for s in range(args.spaces))
        sent = sum(acked.values())
        ticks = os.sysconf("SC_CLK_TCK")
        print(
            json.dumps(
                {
                    "mode": "max" if args.max else "fixed-rate",
                    "ws": args.ws,
                    "deflate": args.deflate,
                    "broker": args.broker,
                    "sockets": args.sockets,
                    "spaces": args.spaces,
                    "client_procs": args.procs,
                    "connect_s": round(connect_s, 1),
                    "messages_acked": sent,
                    "messages_per_s": round(sent / send_elapsed, 1),
                    "deliveries": received,
                    "deliveries_per_s": round(received / send_elapsed, 1),
                    "expected_deliveries": expected,
                    "loss": expected - received,
                    "latency_p50_ms": round(_pct(lat, 0.5), 1),
                    "latency_p99_ms": round(_pct(lat, 0.99), 1),
                    "latency_mean_ms": round(statistics.fmean(lat) / 1e6, 1) if lat else None,
                    "server_cpu_s": round((cpu1 - cpu0) / ticks, 1),
                    "window_s": round(send_elapsed + 3.0, 1),
                    "client_cpu_s": [round(r["cpu_s"], 1) for r in results],
                    "rss_per_idle_socket_kib": round(per_socket, 1),
                    "loadavg": os.getloadavg(),
                },
                indent=2,
            ),
            flush=True,
        )
        for t in ack_tasks:
            t.cancel()
        for ws in senders:
            ws.transport.abort()
    finally:
        stop.set() if procs else None
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        await drop_database(name)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
