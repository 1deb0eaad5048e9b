"""Policy engine over HTTP: p50/p99 of GET /spaces/{id}/policy and PATCH /spaces/{id} (settings
validation), and the compliance report of a 10,000-space network, through a real uvicorn server.

    .venv/bin/python bench/policy_http.py [--spaces 10000] [--calls 2000]

Creates a throwaway database on the machine's PostgreSQL (tests/pg.py finds it), migrates it,
seeds one network (depth up to 10, a network-wide template plus templates attached to some
spaces and sub-space constraints), starts uvicorn on a free loopback port, measures, and drops
the database. Targets: p99 < 10 ms per call, compliance < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from federation.compliance import program_year  # noqa: E402
from services.auth.tokens import issue_token  # noqa: E402
from services.persistence import migrate  # noqa: E402
from services.persistence.engine import create_engine, create_sessionmaker, libpq_url  # noqa: E402
from services.persistence.models import Account, NetworkMember  # noqa: E402
from tests.pg import admin_url  # noqa: E402

BASIC = {
    "meetings.virtual_per_year": {"min": 3},
    "meetings.in_person_per_year": {"min": 1},
    "facilitators.min_count": {"min": 2},
    "sessions.required_components": {"required": ["quote", "story", "reflection"]},
}
GOOD = {
    "meetings.virtual_per_year": 4,
    "meetings.in_person_per_year": 1,
    "facilitators.min_count": 2,
    "sessions.required_components": ["quote", "reflection", "story"],
    "membership.join_mode": "request",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _seed(url: str, n_spaces: int, seed: int) -> tuple[str, list[str], str]:
    """One network with ``n_spaces`` spaces; returns (slug, sample space ids, admin token)."""
    rng = random.Random(seed)
    engine = create_engine(url, pool_size=2)
    await migrate.upgrade(engine)
    network_id, admin_id = uuid.uuid4(), uuid.uuid4()
    async with create_sessionmaker(engine)() as session:
        admin = Account(id=admin_id, email="bench-admin@example.org", display_name="Bench Admin", email_verified=True)
        session.add(admin)
        await session.flush()
        conn = await asyncpg.connect(libpq_url(url))
        try:
            await conn.execute(
                "INSERT INTO networks (id, slug, name, kind) VALUES ($1, 'bench', 'Bench network', 'association')",
                network_id,
            )
        finally:
            await conn.close()
        session.add(NetworkMember(network_id=network_id, account_id=admin_id, role="admin"))
        token = (await issue_token(session, admin, scopes=None, expires_in_days=1)).token
        await session.commit()
    await engine.dispose()

    conn = await asyncpg.connect(libpq_url(url))
    try:
        rows = []
        nodes: list[tuple[uuid.UUID, list[uuid.UUID]]] = []
        for i in range(n_spaces):
            sid = uuid.uuid4()
            if nodes and rng.random() < 0.9:
                parent, ppath = rng.choice(nodes[-500:])
                path = [*ppath, parent]
                if len(path) > 9:
                    path, parent = [], None  # type: ignore[assignment]
            else:
                parent, path = None, []  # type: ignore[assignment]
            nodes.append((sid, path))
            sub = json.dumps({"meetings.virtual_per_year": {"min": 4}}) if i % 7 == 0 else "{}"
            rows.append(
                (
                    sid,
                    network_id,
                    path[-1] if path else None,
                    path,
                    len(path),
                    f"Space {i}",
                    "identity",
                    "request",
                    "listed",
                    json.dumps(GOOD),
                    sub,
                )
            )
        await conn.executemany(
            "INSERT INTO spaces (id, network_id, parent_id, path, depth, name, kind, join_mode, visibility, settings,"
            " subspace_constraints) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb)",
            rows,
        )
        members = [(r[0], admin_id, "facilitator", "active", True) for r in rows]
        await conn.executemany(
            "INSERT INTO space_members (space_id, account_id, role, status, trained) VALUES ($1, $2, $3, $4, $5)",
            members,
        )
        tid = uuid.uuid4()
        await conn.execute(
            "INSERT INTO policy_templates (id, network_id, name, mode) "
            "VALUES ($1, $2, 'ALAS basic structure', 'enforce')",
            tid,
            network_id,
        )
        await conn.execute(
            "INSERT INTO policy_template_versions (template_id, version, constraints) VALUES ($1, 1, $2::jsonb)",
            tid,
            json.dumps(BASIC),
        )
        await conn.execute(
            "INSERT INTO policy_attachments (id, template_id, network_id) VALUES ($1, $2, $3)",
            uuid.uuid4(),
            tid,
            network_id,
        )
        tid2 = uuid.uuid4()
        await conn.execute(
            "INSERT INTO policy_templates (id, network_id, name, mode) VALUES ($1, $2, 'Retention', 'enforce')",
            tid2,
            network_id,
        )
        await conn.execute(
            "INSERT INTO policy_template_versions (template_id, version, constraints) VALUES ($1, 1, $2::jsonb)",
            tid2,
            json.dumps({"chat.retention_days": {"max": 365}}),
        )
        await conn.executemany(
            "INSERT INTO policy_attachments (id, template_id, network_id, space_id) VALUES ($1, $2, $3, $4)",
            [(uuid.uuid4(), tid2, network_id, r[0]) for r in rows[:: max(1, n_spaces // 200)]],
        )
        # Each space's schedule: four virtual meetings and one in person in the current program
        # year (agenda with the required components), plus one from the year before, which the
        # report must leave out. 60,000 meetings for 10,000 spaces.
        year = program_year(dt.datetime.now(dt.UTC).date())
        start = dt.datetime(year.start.year, year.start.month, 1, 17, tzinfo=dt.UTC)
        plan = [("virtual", 30), ("virtual", 120), ("virtual", 240), ("virtual", 300), ("in_person", 90)]
        plan.append(("virtual", -30))
        await conn.executemany(
            "INSERT INTO meetings (id, space_id, kind, title, starts_at, duration_minutes, components)"
            " VALUES ($1, $2, $3, 'Circle', $4, 90, $5)",
            [
                (uuid.uuid4(), r[0], kind, start + dt.timedelta(days=days), ["quote", "story", "reflection"])
                for r in rows
                for kind, days in plan
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    deep = [str(sid) for sid, path in nodes if len(path) >= 5] or [str(nodes[0][0])]
    return "bench", rng.sample(deep, min(200, len(deep))), token


async def _measure(base: str, token: str, sample: list[str], calls: int, runs: int) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for sid in sample[:50]:  # warm up: connections, caches, JIT of query plans
            (await client.get(f"/api/v1/spaces/{sid}/policy")).raise_for_status()
        read: list[float] = []
        for i in range(calls):
            sid = sample[i % len(sample)]
            t = time.perf_counter()
            r = await client.get(f"/api/v1/spaces/{sid}/policy")
            read.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        write: list[float] = []
        refused = 0
        for i in range(calls):
            sid = sample[i % len(sample)]
            value = 5 + i % 3 if i % 4 else 1  # every 4th write breaks the template's minimum
            t = time.perf_counter()
            r = await client.patch(f"/api/v1/spaces/{sid}", json={"settings": {"meetings.virtual_per_year": value}})
            write.append(time.perf_counter() - t)
            assert r.status_code in {200, 422}, r.text
            refused += r.status_code == 422
        report_s: list[float] = []
        n = 0
        for _ in range(runs):
            t = time.perf_counter()
            r = await client.get("/api/v1/networks/bench/compliance")
            report_s.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
            n = len(r.json()["spaces"])
    ms = 1000
    return {
        "policy_read_ms": {"p50": statistics.median(read) * ms, "p99": _pct(read, 99) * ms, "calls": calls},
        "settings_patch_ms": {
            "p50": statistics.median(write) * ms,
            "p99": _pct(write, 99) * ms,
            "calls": calls,
            "refused_422": refused,
        },
        "compliance_s": {"best": min(report_s), "worst": max(report_s), "spaces": n},
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    admin = admin_url()
    name = f"affinity_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(libpq_url(admin))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = admin.rsplit("/", 1)[0] + "/" + name
    server = None
    try:
        t = time.perf_counter()
        _, sample, token = await _seed(url, args.spaces, args.seed)
        print(f"seeded {args.spaces} spaces in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "AFFINITY_LOG_LEVEL": "WARNING",
            "AFFINITY_BROKER": "memory",
            "AFFINITY_SECRET_KEY": "bench-" + "x" * 40,
            "AFFINITY_DATA_DIR": f"/tmp/{name}",
        }
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "services.asgi:app_factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:  # noqa: ASYNC210
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        figures = await _measure(base, token, sample, args.calls, args.compliance_runs)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        conn = await asyncpg.connect(libpq_url(admin))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    read, write, report = figures["policy_read_ms"], figures["settings_patch_ms"], figures["compliance_s"]
    figures["targets_met"] = (
        read["p99"] < 10 and write["p99"] < 10 and report["worst"] < 2  # type: ignore[index]
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--spaces", type=int, default=10_000, help="spaces in the network (default 10000)")
    parser.add_argument("--calls", type=int, default=2_000, help="calls per endpoint (default 2000)")
    parser.add_argument("--compliance-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    print(json.dumps(figures, indent=2))
    return 0 if figures["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
