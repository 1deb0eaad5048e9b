"""What one authenticated API read costs the server: the app called in-process over ASGI (no
sockets, no HTTP client in the measured process), ``GET /api/v1/spaces/{id}/messages?before=``
on a database kept by ``bench/chat_history.py --keep NAME``.

Prints CPU time per request (this process only; PostgreSQL is another process). For a count
that other load on the machine cannot distort, run it under callgrind; ``--callgrind`` switches
instrumentation on for the measured requests only (after the warm-up):

    .venv/bin/python bench/chat_history.py --calls 10 --keep bench_history  # seeds once
    .venv/bin/python bench/api_request_cost.py --keep bench_history --calls 1000
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python bench/api_request_cost.py --keep bench_history --calls 100 --callgrind
    callgrind_annotate /tmp/cg.out | head   # PROGRAM TOTALS / calls = instructions per request
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import chat_history  # noqa: E402


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keep", required=True, help="a database seeded by bench/chat_history.py --keep NAME")
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--encoding", default="gzip", help="Accept-Encoding to send ('none': no header)")
    p.add_argument("--callgrind", action="store_true", help="toggle callgrind instrumentation around the calls")
    args = p.parse_args()
    kept = await chat_history.kept_database(args.keep)
    if kept is None:
        raise SystemExit(f"no database {args.keep}: run bench/chat_history.py --keep {args.keep} first")
    url, space, token = kept
    os.environ.update(
        {
            "DATABASE_URL": url,
            "AFFINITY_BROKER": "memory",
            "AFFINITY_SECRET_KEY": "bench-" + "x" * 40,
            "AFFINITY_LOG_LEVEL": "WARNING",
            "AFFINITY_DATA_DIR": "/tmp/affinity-bench-history",
        }
    )
    from services.asgi import app_factory

    app = app_factory()
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await to_app.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, to_app.get, from_app.put)  # type: ignore[arg-type]
    )
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    if args.encoding != "none":
        headers.append((b"accept-encoding", args.encoding.encode()))
    path = f"/api/v1/spaces/{space}/messages"

    async def page(before: int) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": f"before={before}&limit=50".encode(),
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)  # type: ignore[arg-type]
        assert sent[0]["status"] == 200, sent

    rng = random.Random(7)
    head = 200_000
    for _ in range(50):  # warm-up: connections, prepared statements
        await page(rng.randint(51, head))
    if args.callgrind:
        subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)  # noqa: ASYNC221
    cpu0, times = time.process_time(), []
    for _ in range(args.calls):
        t0 = time.perf_counter()
        await page(rng.randint(51, head))
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / args.calls
    if args.callgrind:
        subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)  # noqa: ASYNC221
    times.sort()
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.calls} pages; CPU per request {cpu * 1000:.2f} ms; "
        f"wall p50 {times[len(times) // 2] * 1000:.2f} ms, p99 {times[int(len(times) * 0.99)] * 1000:.2f} ms"
    )
    await to_app.put({"type": "lifespan.shutdown"})
    await lifespan


if __name__ == "__main__":
    asyncio.run(main())
