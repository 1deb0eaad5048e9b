# ruff: noqa: ASYNC210, ASYNC220, ASYNC240  (a measuring harness: blocking set-up calls are fine here)
"""Server memory during a 20 MiB upload and download: the peak resident memory of a real uvicorn
server process above its resting level, with local-disk storage and with S3 (moto's server on
loopback).

    .venv/bin/python bench/upload_memory.py [--mib 20] [--storage local|s3|both]

Creates a throwaway database, starts the server in its own process, uploads a warm-up file
(so imports, pools and caches are in place), resets the process's peak-RSS counter
(``/proc/PID/clear_refs``), then uploads one file of the given size in 64 KiB chunks and
downloads it, reading ``VmHWM`` (peak RSS) after each. Target: the upload adds < 10 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.persistence import migrate  # noqa: E402
from services.persistence.engine import create_engine, libpq_url  # noqa: E402
from tests.pg import admin_url, with_database  # noqa: E402

MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.1)


async def seed(url: str) -> tuple[str, str]:
    """An account that is a member of one space; returns (space id, token)."""
    from services.auth.tokens import issue_token
    from services.persistence.engine import create_sessionmaker
    from services.persistence.models import Account

    conn = await asyncpg.connect(libpq_url(url))
    me, net, space = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO accounts (id, email, display_name, email_verified) VALUES ($1, 'up@bench.example', 'Up', true)", me
    )
    await conn.execute("INSERT INTO networks (id, slug, name, kind) VALUES ($1, 'up', 'Up', 'district')", net)
    await conn.execute("INSERT INTO network_members (network_id, account_id, role) VALUES ($1, $2, 'member')", net, me)
    await conn.execute(
        "INSERT INTO spaces (id, network_id, name, kind, join_mode, visibility, settings, path, depth) "
        "VALUES ($1, $2, 'S', 'topic', 'open', 'listed', '{}', '{}', 0)",
        space,
        net,
    )
    await conn.execute(
        "INSERT INTO space_members (space_id, account_id, role, status) VALUES ($1, $2, 'member', 'active')", space, me
    )
    await conn.close()
    engine = create_engine(url, pool_size=1)
    async with create_sessionmaker(engine)() as session:
        account = await session.get(Account, me)
        assert account is not None
        token = (await issue_token(session, account, scopes=None, expires_in_days=1)).token
        await session.commit()
    await engine.dispose()
    return str(space), token


async def run(url: str, storage: str, mib: int) -> None:
    space, token = await seed(url)
    with TemporaryDirectory() as data:
        env = {**os.environ, "DATABASE_URL": url, "AFFINITY_DATA_DIR": data, "AFFINITY_LOG_LEVEL": "WARNING"}
        moto = None
        if storage == "s3":
            port = free_port()
            moto = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            endpoint = f"http://127.0.0.1:{port}"
            wait_http(endpoint + "/", moto)
            urllib.request.urlopen(urllib.request.Request(endpoint + "/bench", method="PUT"))
            env.update(
                AFFINITY_STORAGE="s3",
                AFFINITY_S3_BUCKET="bench",
                AFFINITY_S3_ENDPOINT=endpoint,
                AFFINITY_S3_ACCESS_KEY_ID="x",
                AFFINITY_S3_SECRET_ACCESS_KEY="y",
            )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "services.asgi:app_factory",
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/health", server)
            headers = {"Authorization": f"Bearer {token}"}
            path = f"/api/v1/spaces/{space}/resources/files"
            payload = b"%PDF-1.4\n" + os.urandom(mib * MIB - 20) + b"\n%%EOF\n"

            async def body(data: bytes):
                for i in range(0, len(data), 65536):
                    yield data[i : i + 65536]

            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                warm = b"%PDF-1.4\n" + os.urandom(6 * MIB) + b"\n%%EOF\n"  # > one S3 part: multipart path warm too
                r = await client.post(path, content=body(warm), headers={**headers, "X-File-Name": "warm.pdf"})
                assert r.status_code == 201, r.text
                d = await client.get(r.json()["file"]["download_url"], headers=headers)
                assert d.status_code == 200
                await asyncio.sleep(0.5)
                resting = rss_kib(server.pid, "VmRSS")
                Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
                started = time.perf_counter()
                r = await client.post(path, content=body(payload), headers={**headers, "X-File-Name": "big.pdf"})
                took = time.perf_counter() - started
                assert r.status_code == 201, r.text
                peak_upload = rss_kib(server.pid, "VmHWM")
                Path(f"/proc/{server.pid}/clear_refs").write_text("5")
                got = 0
                async with client.stream("GET", r.json()["file"]["download_url"], headers=headers) as resp:
                    async for chunk in resp.aiter_bytes():
                        got += len(chunk)
                assert got == len(payload)
                peak_download = rss_kib(server.pid, "VmHWM")
            load = os.getloadavg()[0]
            print(
                f"| {storage} | {mib} MiB | {resting / 1024:.1f} MiB | +{(peak_upload - resting) / 1024:.1f} MiB "
                f"| +{(peak_download - resting) / 1024:.1f} MiB | {took:.2f} s | {load:.2f} |"
            )
        finally:
            server.terminate()
            server.wait(15)
            if moto is not None:
                moto.terminate()
                moto.wait(15)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=20)
    parser.add_argument("--storage", choices=["local", "s3", "both"], default="both")
    args = parser.parse_args()
    admin = admin_url()
    name = f"affinity_bench_upload_{uuid.uuid4().hex[:8]}"
    url = with_database(admin, name)
    conn = await asyncpg.connect(libpq_url(admin))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        engine = create_engine(url, pool_size=1)
        await migrate.upgrade(engine)
        await engine.dispose()
        print(
            "| storage | file | server RSS at rest | peak during upload | peak during download | upload time | load |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for storage in ["local", "s3"] if args.storage == "both" else [args.storage]:
            await run(url, storage, args.mib)
            async with asyncpg.create_pool(libpq_url(url), min_size=1, max_size=1) as pool:
                await pool.execute(
                    "TRUNCATE resources, resource_blobs, space_members, spaces, network_members, "
                    "networks, api_tokens, accounts CASCADE"
                )
    finally:
        conn = await asyncpg.connect(libpq_url(admin))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
