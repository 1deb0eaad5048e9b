"""Websocket fan-out benchmark: C sockets across S spaces, senders at a fixed rate.

Starts its own server (a subprocess running the real app under uvicorn, loopback only; with
--workers N, uvicorn's N worker processes share the listening socket and the postgres broker
links them) against a throwaway database on the local PostgreSQL, connects C websocket clients
spread over --procs client processes (each with its own event loop, connecting in concurrent
batches), each socket subscribed to one of S spaces; one sender socket per space, all in a
sender process of their own, sends at a fixed total rate with time.time_ns() in the body.

Receivers are a minimal websocket client (an asyncio Protocol: handshake, masked auth/subscribe,
frame parsing, pong), not the `websockets` library: measuring the server needs clients that
cost it much less CPU than they load it with, and all processes share the same cores.

Reports deliveries/s, send->receive latency p50/p99, loss, server RSS per idle socket (RSS delta
between 0 and C idle authenticated, subscribed sockets), server, receiver and sender CPU.
Everything is bounded in time and count and stops itself; the database is dropped at the end.

    .venv/bin/python bench/ws_fanout.py --sockets 5000 --spaces 100 --rate 400 --duration 20
    .venv/bin/python bench/ws_fanout.py --sockets 5000 --spaces 100 --rate 400 --workers 2 --broker postgres
    .venv/bin/python bench/ws_fanout.py --max --sockets 2000 --spaces 40 --duration 15
    .venv/bin/python bench/ws_fanout.py --sockets 1000 --spaces 1 --reference --rates 10,20,30,40 --duration 10

--reference runs bench/ws_reference.py (a bare `websockets` broadcast server: no auth, no storage,
frames relayed verbatim) with the same clients first, then the service, and prints both with the
ratios the targets are stated in: deliveries/s at p99 <= 50 ms, and server CPU per delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

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
    await db.copy_records_to_table(  # chat is for members of the space's network (like every route)
        "network_members",
        records=[(network, a, "member") for a in accounts],
        columns=["network_id", "account_id", "role"],
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
        # Per worker; the machine's PostgreSQL allows 100 connections for everyone.
        "AFFINITY_DB_POOL_SIZE": str(max(5, 20 // args.workers)),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if args.broker == "redis":
        env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
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
    if args.workers > 1:
        cmd += ["--workers", str(args.workers)]
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


def server_pids(server: subprocess.Popen[bytes], workers: int) -> list[int]:
    """The processes that serve sockets: uvicorn's workers (its children), or the server itself."""
    if workers <= 1:
        return [server.pid]
    for _ in range(300):
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        # Not multiprocessing's resource tracker, also a child of uvicorn's supervisor.
        found = [int(p) for p in children if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]
        if len(found) >= workers:
            return found
        time.sleep(0.1)
    raise RuntimeError("uvicorn's workers did not start")


def cpu_ticks(pids: list[int]) -> int:
    return sum(sum(int(x) for x in cpu_stat(pid).split()[13:15]) for pid in pids)


def _client_frame(text: bytes) -> bytes:
    """A masked client text frame (mask key 0: the payload goes out as is, which RFC 6455 allows)."""
    n = len(text)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + text


MESSAGE = b'{"type":"message"'
SUBSCRIBED = b'{"type":"subscribed"'
ERROR = b'{"type":"error"'
RELAYED = b'{"type":"send"'  # the reference server relays the sender's frame verbatim
BODY = b'"body":"'


class _Receiver(asyncio.Protocol):
    """A receiving websocket: handshake, auth + subscribe, then count message frames."""

    def __init__(self, host: str, token: str, space: str, stats: _Stats) -> None:
        self.stats = stats
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buf = bytearray()
        self.count = 0
        self.open = False
        self.transport: Any = None
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.subscribe = _client_frame(b'{"type":"subscribe","space":"%s"}' % space.encode())
        self.first = _client_frame(b'{"type":"auth","token":"%s"}' % token.encode()) + self.subscribe

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's TCPTransport is not an asyncio.Transport subclass
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        elif not self.subscribed.done():
            self.subscribed.set_exception(exc or ConnectionError("closed before subscribed"))
        elif self.open:
            self.stats.closed += 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buf[: buf.find(b"\r\n")]:
                self.opened.set_exception(ConnectionError(bytes(buf[:end]).decode(errors="replace")))
                return
            del buf[: end + 4]
            self.open = True
            self.transport.write(self.first)
            self.opened.set_result(None)
        stats = self.stats
        pos, n = 0, len(buf)
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if n - pos < head + length:
                break
            opcode = buf[pos] & 0x0F
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            if opcode == 1:
                # Every message frame counts: nothing is sent before the measurement starts (a
                # flag set when the parent says "go" would race with the first frames).
                if stats.measuring and (payload.startswith(MESSAGE) or payload.startswith(RELAYED)):
                    at = payload.index(BODY) + 8
                    stats.latencies.append(time.time_ns() - int(payload[at : payload.index(b'"', at)]))
                    self.count += 1
                    stats.seen.value += 1
                elif payload.startswith(SUBSCRIBED) and not self.subscribed.done():
                    self.subscribed.set_result(None)
                elif payload.startswith(ERROR):
                    code = json.loads(payload).get("code", "?")
                    stats.errors[code] = stats.errors.get(code, 0) + 1
                    if code == "unavailable" and not self.subscribed.done():
                        # The database was busy (a shared machine): subscribe again, as a client would.
                        self.transport.write(self.subscribe)
            elif opcode == 9 and self.transport is not None:  # ping -> pong with the same payload
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                stats.closed += 1
        del buf[:pos]


class _Stats:
    def __init__(self, seen: Any) -> None:
        self.measuring = True
        self.latencies: list[int] = []
        self.closed = 0
        self.errors: dict[str, int] = {}
        """Error frames the receivers got, by code (e.g. access_revoked: a dropped subscription)."""
        self.seen = seen
        """Shared with the parent: message frames so far (it stops waiting when all have come)."""


def receiver_process(
    port: int, jobs: list[tuple[str, str]], ready: Any, measure: Any, stop: Any, out: Any, batch: int, seen: Any
) -> None:
    """One client process: connect its sockets in concurrent batches, then record the latency of
    every message frame received while ``measure`` is set, until ``stop``."""
    import uvloop

    stats = _Stats(seen)

    async def one(token: str, space: str) -> _Receiver:
        loop = asyncio.get_running_loop()
        proto = _Receiver(f"127.0.0.1:{port}", token, space, stats)
        await loop.create_connection(lambda: proto, "127.0.0.1", port)
        await asyncio.wait_for(proto.opened, 60)
        # Only a subscribed socket is ready: under load the server may take seconds to get through
        # 1,000 auth + subscribe frames, and a message sent before a socket's subscription never
        # reaches it (live-only subscribe). Counting those as loss was an artefact of the bench.
        await asyncio.wait_for(proto.subscribed, 120)
        return proto

    async def run() -> None:
        t0 = time.perf_counter()
        socks: list[_Receiver] = []
        for start in range(0, len(jobs), batch):
            socks += await asyncio.gather(*(one(t, s) for t, s in jobs[start : start + batch]))
        ready.put(time.perf_counter() - t0)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, measure.wait)
        cpu0 = time.process_time()
        await loop.run_in_executor(None, stop.wait)
        stats.measuring = False
        cpu = time.process_time() - cpu0
        out.put(
            {
                "received": len(stats.latencies),
                "latencies_ns": stats.latencies,
                "cpu_s": cpu,
                "closed": stats.closed,
                "errors": stats.errors,
                "per_socket": [sock.count for sock in socks],
            }
        )
        for sock in socks:
            if sock.transport is not None:
                sock.transport.abort()

    uvloop.run(run())


def sender_process(
    ws_url: str, jobs: list[tuple[str, str]], args: argparse.Namespace, ready: Any, go: Any, out: Any
) -> None:
    """The senders, in a process of their own: one socket per space, at a fixed total rate (or,
    with --max, keeping a window of unacked sends each)."""
    import uvloop

    async def run() -> None:
        senders = []
        for token, _space in jobs:
            ws = await websockets.connect(ws_url, ping_interval=None, max_queue=None, compression=None)
            await ws.send(json.dumps({"type": "auth", "token": token}))
            senders.append(ws)
        count = len(jobs)
        # Keys unique per run: the sender accounts are the same at every rate of a sweep, and the
        # service answers a repeated (account, key) with the stored seq without storing or
        # delivering anything (idempotent sends) — later steps delivered only their new keys.
        run = uuid.uuid4().hex[:8]
        acked = [0] * count
        refused = [0] * count
        sent = [0] * count
        window = [asyncio.Semaphore(args.window) for _ in range(count)]
        # Send -> answer time per send: both servers answer a socket's sends in order, so each
        # answer closes the oldest open send of its socket. Tells a slow store/ack path apart
        # from slow delivery (clients, kernel).
        opened: list[collections.deque[int]] = [collections.deque() for _ in range(count)]
        answered_ns: list[int] = []

        async def read_acks(s: int) -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in senders[s]:
                    if isinstance(raw, str) and raw.startswith('{"type":"ack"'):
                        acked[s] += 1
                        window[s].release()
                    elif isinstance(raw, str) and raw.startswith('{"type":"error"'):
                        refused[s] += 1
                        window[s].release()
                    else:
                        continue
                    if opened[s]:
                        answered_ns.append(time.perf_counter_ns() - opened[s].popleft())

        ack_tasks = [asyncio.create_task(read_acks(s)) for s in range(count)]

        async def send_loop(s: int, stop_at: float) -> None:
            interval = count / args.rate if not args.max else 0.0
            next_at = time.perf_counter() + (s / count) * interval
            n = 0
            space = jobs[s][1]
            while time.perf_counter() < stop_at:
                if args.max:
                    await window[s].acquire()
                else:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                n += 1
                sent[s] = n
                opened[s].append(time.perf_counter_ns())
                await senders[s].send(
                    '{"type":"send","space":"%s","key":"%s%d","body":"%d"}' % (space, run, n, time.time_ns())  # noqa: UP031
                )

        ready.put(True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, go.wait)
        cpu0 = time.process_time()
        t_start = time.perf_counter()
        await asyncio.gather(*(send_loop(s, t_start + args.duration) for s in range(count)))
        elapsed = time.perf_counter() - t_start
        # Every send answered (a starved client may read its acks late: counting only the acks
        # of the first 3 s made "expected" too low), at most 30 s; then 1 s for the last frames.
        deadline = time.perf_counter() + 30
        while sum(acked) + sum(refused) < sum(sent) and time.perf_counter() < deadline:  # noqa: ASYNC110 (a poll, bounded)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        out.put(
            {
                "acked": acked,
                "refused": sum(refused),
                "unanswered": sum(sent) - sum(acked) - sum(refused),
                "elapsed": elapsed,
                "window": time.perf_counter() - t_start,
                "cpu_s": time.process_time() - cpu0,
                "answered_ns": sorted(answered_ns),
            }
        )
        for t in ack_tasks:
            t.cancel()
        for ws in senders:
            ws.transport.abort()

    uvloop.run(run())


def _short(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = [c for r in results for c in r["per_socket"]]
    most = max(counts, default=0)
    return {"sockets": sum(1 for c in counts if c < most), "frames": sum(most - c for c in counts), "most": most}


def _errors(results: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for r in results:
        for code, n in r["errors"].items():
            total[code] = total.get(code, 0) + n
    return total


def _pct(values: list[int], q: float) -> float:
    """The ``q`` quantile of sorted nanosecond ``values``, in ms."""
    return values[min(len(values) - 1, int(len(values) * q))] / 1e6 if values else float("nan")


def start_reference(port: int) -> subprocess.Popen[bytes]:
    """The yardstick: bench/ws_reference.py, a bare `websockets` broadcast server."""
    return subprocess.Popen([sys.executable, str(ROOT / "bench" / "ws_reference.py"), str(port)], cwd=ROOT)


async def wait_for_port(port: int) -> None:
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


SENDER_RATE = 8.0
"""Messages/s one sender socket sends at most: under the service's per-member limit (10/s)."""

MAX_SENDERS = 2000


def senders_per_space(args: argparse.Namespace, rate: float) -> int:
    """How many sender accounts each space needs so none exceeds SENDER_RATE (--senders overrides)."""
    if args.senders:
        return int(args.senders)
    return max(1, -(-int(rate) // int(args.spaces * SENDER_RATE)))


async def measure(
    args: argparse.Namespace,
    port: int,
    pids: list[int],
    tokens: list[str],
    spaces: list[uuid.UUID],
    assignment: list[int],
    rate: float,
) -> dict[str, Any]:
    """Connect the receivers, send at ``rate`` messages/s for ``args.duration`` seconds, collect."""
    ctx = mp.get_context("fork")
    procs: list[Any] = []
    ws_url = f"ws://127.0.0.1:{port}/ws"
    ready, out = ctx.Queue(), ctx.Queue()
    measure_ev, stop, go = ctx.Event(), ctx.Event(), ctx.Event()
    loop = asyncio.get_running_loop()
    run_args = argparse.Namespace(**{**vars(args), "rate": rate})
    seen = [ctx.RawValue("q", 0) for _ in range(args.procs)]
    try:
        rss_before = sum(rss_kib(pid) for pid in pids)
        t0 = time.perf_counter()
        for k in range(args.procs):
            jobs = [(tokens[i], str(spaces[assignment[i]])) for i in range(k, args.sockets, args.procs)]
            proc = ctx.Process(
                target=receiver_process,
                args=(port, jobs, ready, measure_ev, stop, out, args.batch, seen[k]),
                daemon=True,
            )
            proc.start()
            procs.append(proc)
        for _ in range(args.procs):
            await asyncio.wait_for(loop.run_in_executor(None, ready.get), 300)
        connect_s = time.perf_counter() - t0
        await asyncio.sleep(3.0)  # presence frames drain
        rss_idle = sum(rss_kib(pid) for pid in pids)
        per_socket = (rss_idle - rss_before) / args.sockets

        # Senders: extra accounts; account sockets+j is a member of space (sockets+j) % S, so the
        # first S*k extra accounts are k senders in every space.
        count = args.spaces * senders_per_space(args, rate)
        sender_jobs = [(tokens[args.sockets + j], str(spaces[(args.sockets + j) % args.spaces])) for j in range(count)]
        sender_ready, sender_out = ctx.Queue(), ctx.Queue()
        sender = ctx.Process(
            target=sender_process, args=(ws_url, sender_jobs, run_args, sender_ready, go, sender_out), daemon=True
        )
        sender.start()
        procs.append(sender)
        await asyncio.wait_for(loop.run_in_executor(None, sender_ready.get), 120)
        receivers_in = dict.fromkeys(spaces, 0)
        for i in range(args.sockets):
            receivers_in[spaces[assignment[i]]] += 1

        await asyncio.sleep(1.0)
        load_before = os.getloadavg()
        print(f"sending {rate:g} messages/s for {args.duration:g} s", flush=True)  # a profiler can start now
        measure_ev.set()
        cpu0 = cpu_ticks(pids)
        go.set()
        sent_result = await asyncio.wait_for(loop.run_in_executor(None, sender_out.get), args.duration + 90)
        cpu1 = cpu_ticks(pids)
        # Frames still on their way (a loaded machine) are late, not lost: wait while they keep
        # arriving (at most 15 s more); their latencies count.
        expected = sum(
            n * receivers_in[spaces[(args.sockets + j) % args.spaces]] for j, n in enumerate(sent_result["acked"])
        )
        last, still = -1, time.perf_counter()
        for _ in range(60):
            got = sum(v.value for v in seen)
            if got >= expected:
                break
            if got != last:
                last, still = got, time.perf_counter()
            elif time.perf_counter() - still > 2.0:
                break
            await asyncio.sleep(0.25)
        stop.set()
        results = [await asyncio.wait_for(loop.run_in_executor(None, out.get), 60) for _ in range(args.procs)]
    finally:
        stop.set()
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
    received = sum(r["received"] for r in results)
    lat = sorted(x for r in results for x in r["latencies_ns"])
    acked = sent_result["acked"]
    send_elapsed = sent_result["elapsed"]
    expected = sum(acked[j] * receivers_in[spaces[(args.sockets + j) % args.spaces]] for j in range(len(acked)))
    server_cpu_s = (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK")
    return {
        "rate": rate,
        "connect_s": round(connect_s, 1),
        "messages_acked": sum(acked),
        "messages_per_s": round(sum(acked) / send_elapsed, 1),
        "deliveries": received,
        "deliveries_per_s": round(received / send_elapsed, 1),
        "expected_deliveries": expected,
        "loss": expected - received,
        "sockets_closed": sum(r["closed"] for r in results),
        # Where a loss is: how many sockets got fewer message frames than the most any socket got.
        "sockets_short": _short(results),
        "receiver_errors": _errors(results),
        "latency_p50_ms": round(_pct(lat, 0.5), 1),
        "latency_p99_ms": round(_pct(lat, 0.99), 1),
        "latency_max_ms": round(lat[-1] / 1e6, 1) if lat else None,
        "ack_p50_ms": round(_pct(sent_result["answered_ns"], 0.5), 1),
        "ack_p99_ms": round(_pct(sent_result["answered_ns"], 0.99), 1),
        "ack_max_ms": round(sent_result["answered_ns"][-1] / 1e6, 1) if sent_result["answered_ns"] else None,
        "server_cpu_s": round(server_cpu_s, 2),
        "server_cpu_us_per_delivery": round(server_cpu_s * 1e6 / received, 2) if received else None,
        "server_cpu_us_per_message": round(server_cpu_s * 1e6 / sum(acked), 1) if sum(acked) else None,
        "window_s": round(sent_result["window"], 1),
        "sends_refused": sent_result["refused"],
        "sends_unanswered": sent_result["unanswered"],
        "receiver_cpu_s": [round(r["cpu_s"], 1) for r in results],
        "sender_cpu_s": round(sent_result["cpu_s"], 1),
        "rss_per_idle_socket_kib": round(per_socket, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


async def run_target(
    target: str, args: argparse.Namespace, url: str, tokens: list[str], spaces: list[uuid.UUID], assignment: list[int]
) -> list[dict[str, Any]]:
    """Start ``target`` ("service" or "reference"), measure every rate against it, stop it."""
    port = free_port()
    server = start_reference(port) if target == "reference" else start_server(url, port, args)
    if args.server_cpus:
        # uvicorn's workers are forked later and inherit the mask.
        os.sched_setaffinity(server.pid, args.server_cpus)
    runs: list[dict[str, Any]] = []
    try:
        await wait_for_port(port)
        pids = [server.pid] if target == "reference" else server_pids(server, args.workers)
        await asyncio.sleep(1.0 + (args.workers if target == "service" else 0))  # every worker has started
        print(f"{target}: pid(s) {','.join(map(str, pids))} (profile: py-spy record -d 15 --pid <pid>)", flush=True)
        for rate in args.rates:
            print(f"{target}: {args.sockets} sockets over {args.spaces} space(s), {rate:g} messages/s", flush=True)
            result = {"server": target, **await measure(args, port, pids, tokens, spaces, assignment, rate)}
            print(json.dumps(result), flush=True)
            runs.append(result)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    return runs


def _cpus(spec: str) -> set[int]:
    """A taskset-style CPU list ("0", "0,1", "0-3") as a set."""
    cpus: set[int] = set()
    for part in filter(None, spec.split(",")):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def best_within(runs: list[dict[str, Any]], p99_ms: float) -> dict[str, Any] | None:
    """The run with the most deliveries/s whose p99 is within ``p99_ms`` and that lost nothing."""
    ok = [r for r in runs if r["latency_p99_ms"] <= p99_ms and r["loss"] == 0]
    return max(ok, key=lambda r: r["deliveries_per_s"]) if ok else None


def summary(service: list[dict[str, Any]], reference: list[dict[str, Any]]) -> dict[str, Any]:
    """Side-by-side figures and the ratios the targets are stated in (service / reference)."""
    rows = []
    for s, r in zip(service, reference, strict=True):
        rows.append(
            {
                "rate": s["rate"],
                "service_deliveries_per_s": s["deliveries_per_s"],
                "reference_deliveries_per_s": r["deliveries_per_s"],
                "service_p99_ms": s["latency_p99_ms"],
                "reference_p99_ms": r["latency_p99_ms"],
                "service_loss": s["loss"],
                "cpu_per_delivery_ratio": (
                    round(s["server_cpu_us_per_delivery"] / r["server_cpu_us_per_delivery"], 2)
                    if s["server_cpu_us_per_delivery"] and r["server_cpu_us_per_delivery"]
                    else None
                ),
            }
        )
    best_s, best_r = best_within(service, 50.0), best_within(reference, 50.0)
    return {
        "per_rate": rows,
        "best_at_p99_50ms": {
            "service": best_s and best_s["deliveries_per_s"],
            "reference": best_r and best_r["deliveries_per_s"],
            "ratio": round(best_s["deliveries_per_s"] / best_r["deliveries_per_s"], 2) if best_s and best_r else None,
        },
    }


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sockets", type=int, default=5000)
    p.add_argument("--spaces", type=int, default=100)
    p.add_argument("--rate", type=float, default=400.0, help="messages per second in total (one sender per space)")
    p.add_argument("--rates", default="", help="comma-separated rates to sweep (overrides --rate), e.g. 10,20,30")
    p.add_argument("--senders", type=int, default=0, help="sender sockets per space (default: enough for <= 8/s each)")
    p.add_argument("--reference", action="store_true", help="also measure the bare broadcast server, same clients")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of measured sending (at most 120)")
    p.add_argument("--max", action="store_true", help="max-throughput mode: each sender keeps a window in flight")
    p.add_argument("--window", type=int, default=4, help="unacked sends per sender in --max mode")
    p.add_argument(
        "--ws",
        default="realtime.transport:FrameSinkProtocol",
        help="uvicorn websocket implementation (what `affinity serve` runs; or websockets-sansio, websockets, wsproto)",
    )
    p.add_argument("--ws-max-queue", type=int, default=32, help="uvicorn --ws-max-queue")
    p.add_argument("--deflate", action="store_true", help="let uvicorn negotiate per-message deflate")
    p.add_argument("--broker", default="memory", choices=["memory", "postgres", "redis"])
    p.add_argument("--procs", type=int, default=2, help="client processes for the receiving sockets")
    p.add_argument("--batch", type=int, default=100, help="sockets each client process connects at once")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (needs --broker postgres|redis)")
    p.add_argument("--server-cpus", default="", help="pin the server(s) to these CPUs (taskset list, e.g. 0)")
    p.add_argument("--client-cpus", default="", help="pin this process and every client process to these CPUs, e.g. 1")
    args = p.parse_args()
    args.server_cpus = _cpus(args.server_cpus)
    if args.client_cpus:
        os.sched_setaffinity(0, _cpus(args.client_cpus))  # inherited by the client processes
    if args.workers > 1 and args.broker == "memory":
        p.error("--workers > 1 needs a broker that links processes: --broker postgres (or redis)")
    args.duration = min(args.duration, 120.0)
    args.sockets = min(args.sockets, 20_000)
    args.rates = [float(x) for x in args.rates.split(",") if x.strip()] or [args.rate]
    if len(args.rates) > 12:
        p.error("at most 12 rates in one sweep")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    extra = args.spaces * max(senders_per_space(args, rate) for rate in args.rates)
    if extra > MAX_SENDERS:
        p.error(f"that needs {extra} sender sockets (more than {MAX_SENDERS}); lower the rate or raise --senders")
    name = f"affinity_bench_{uuid.uuid4().hex[:8]}"
    url, spaces, tokens, assignment = await make_database(name, args.sockets + extra, args.spaces)
    try:
        reference = await run_target("reference", args, url, tokens, spaces, assignment) if args.reference else []
        service = await run_target("service", args, url, tokens, spaces, assignment)
    finally:
        await drop_database(name)
    report: dict[str, Any] = {
        "ws": args.ws,
        "broker": args.broker,
        "workers": args.workers,
        "sockets": args.sockets,
        "spaces": args.spaces,
        "client_procs": args.procs,
        "server_cpus": sorted(args.server_cpus),
        "client_cpus": sorted(os.sched_getaffinity(0)),
        "mode": "max" if args.max else "fixed-rate",
        "service": service,
    }
    if reference:
        report["reference"] = reference
        report["summary"] = summary(service, reference)
    print(json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
