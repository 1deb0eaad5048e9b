"""The standing fuzz: every operation of the served OpenAPI document, with schemathesis-generated
valid and invalid requests, against a real server on loopback. It fails on any 5xx, and on any
refused request (4xx) that changed a row. Websocket frames are fuzzed the same way.

Bounded in time for CI (``FUZZ_SECONDS``, 60 s of requests, about 80 s in all on two cores); every operation gets its
slice. The longer run (docs/development.md, "Fuzzing the API") sets AFFINITY_FUZZ_SECONDS and
AFFINITY_FUZZ_EXAMPLES.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import requests
import schemathesis
import websockets
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.gateway import GatewayConfig
from tests.factories import (
    add_member,
    add_space_member,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)
from tests.realtime.conftest import ServerThread

pytestmark = pytest.mark.slow

FUZZ_SECONDS = float(os.environ.get("AFFINITY_FUZZ_SECONDS", "60"))
EXAMPLES = int(os.environ.get("AFFINITY_FUZZ_EXAMPLES", "15"))
# Bookkeeping a refused request may legitimately write: a token's last-used time, the sign-in
# throttle's failure count, a pending upstream sign-in, the provider's lazily made signing key.
BOOKKEEPING = {"alembic_version", "api_tokens", "login_throttle", "pending_logins", "oidc_signing_keys"}


class _OutOfTime(Exception):
    """This operation's time slice is used up (ends Hypothesis's generation; not a failure)."""


@pytest.fixture
def fuzz_server(settings) -> Iterator[ServerThread]:
    # Refused frames would otherwise close the socket after 30 a minute (4429).
    limits = GatewayConfig(abuse_limit=1_000_000, send_rate=1000.0, send_burst=1000)
    server = ServerThread(msgspec.structs.replace(settings, log_level="CRITICAL"), config=limits).start()
    yield server
    server.stop()


@pytest.fixture
async def world(db_session) -> dict[str, Any]:
    """An operator who is admin of a network with a space, a sub-space and a template, so that
    requests with real path parameters reach the handlers, not just the 404s."""
    admin = await make_account(db_session, operator=True)
    member = await make_account(db_session)
    network = await make_network(db_session)
    await add_member(db_session, network, admin, "admin")
    await add_member(db_session, network, member, "member")
    space = await make_space(db_session, network)
    await make_space(db_session, network, parent=space)
    await add_space_member(db_session, space, admin, role="facilitator")
    await add_space_member(db_session, space, member)
    template = await make_template(db_session, network, {"meetings.virtual_per_year": {"min": 1}})
    token = await make_token(db_session, admin)
    await db_session.commit()
    return {
        "token": token,
        "path": {
            "slug": network.slug,
            "host_slug": network.slug,
            "space_id": str(space.id),
            "account_id": str(member.id),
            "template_id": str(template.id),
        },
    }


async def _fingerprint_query(engine: AsyncEngine) -> str:
    """One statement that digests every table but the bookkeeping ones (one round trip a check)."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"))
        tables = [row[0] for row in rows if row[0] not in BOOKKEEPING]
    parts = [
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t)" for table in tables
    ]
    return "SELECT concat_ws(';', " + ", ".join(parts) + ")"


async def _fingerprint(engine: AsyncEngine, query: str) -> str:
    async with engine.connect() as conn:
        return str((await conn.execute(text(query))).scalar_one())


POISONS = ("\x00", "a\x00b", 2**70, -(2**70), 2**63)


def _poison(case: Any, data: Any) -> None:
    """Put one value that the lower layers cannot store (NUL text, an integer beyond int64) in
    place of one leaf of an otherwise generated request: deep in the body, a query parameter or
    a path segment. Generated data alone reaches these rarely, and these were the 500s."""
    spots: list[tuple[Any, Any]] = []

    def walk(container: Any) -> None:
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in list(items):
            if isinstance(value, dict | list):
                walk(value)
            if isinstance(value, str | int) and not isinstance(value, bool):
                spots.append((container, key))
        if isinstance(container, dict):
            spots.append((container, "x\x00"))  # a key with NUL (free-form objects keep it)

    for part in (case.body, case.query, case.path_parameters):
        if isinstance(part, dict | list):
            walk(part)
    if not spots:
        return
    container, key = data.draw(st.sampled_from(spots), label="spot")
    value = data.draw(st.sampled_from(POISONS), label="value")
    if container is case.path_parameters and isinstance(value, str):
        value = str(container.get(key, "")) + value
    container[key] = value


def _run_operation(
    operation: Any,
    *,
    base_url: str,
    headers: dict[str, str],
    path_values: dict[str, str],
    deadline: float,
    fingerprint: Any,
    failures: list[str],
    counter: list[int],
    statuses: dict[int, int],
    skipped: list[int],
) -> None:
    """Fuzz one operation until its examples or its time slice run out."""
    session = requests.Session()
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in path_values.items() if k in names}
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if fixed and len(fixed) == len(names):
            # Real slugs and ids, so bodies reach the handlers instead of stopping at a 404.
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))

    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        phases=[Phase.generate],
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*strategies), data=st.data())
    def run(case: Any, data: Any) -> None:
        # Draw everything first: Hypothesis requires the same draws for the same choices, and
        # the time check below must not change them.
        if data.draw(st.booleans(), label="poison"):
            _poison(case, data)
        if time.monotonic() > deadline:
            raise _OutOfTime  # same draws on Hypothesis's replay, so it ends generation cleanly
        before = fingerprint() if case.method.upper() != "GET" else None
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=20)
        except (requests.ConnectionError, requests.Timeout) as exc:
            failures.append(f"{case.method} {case.formatted_path}: no answer ({type(exc).__name__})")
            return
        except Exception:
            skipped[0] += 1
            return
        counter[0] += 1
        statuses[response.status_code // 100] = statuses.get(response.status_code // 100, 0) + 1
        if response.status_code >= 500:
            failures.append(f"{response.status_code} on {case.as_curl_command()}\n  -> {response.text[:300]}")
        elif response.status_code >= 400 and before is not None and fingerprint() != before:
            failures.append(f"refused ({response.status_code}) but wrote: {case.as_curl_command()}")

    with contextlib.suppress(_OutOfTime):
        run()


async def test_fuzz_every_operation_no_5xx_and_refusals_write_nothing(fuzz_server, world, engine) -> None:
    base = fuzz_server.http_url
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60, "the served OpenAPI document lost its operations"
    headers = {"Authorization": f"Bearer {world['token']}"}
    loop = asyncio.get_running_loop()

    query = await _fingerprint_query(engine)

    def fingerprint() -> str:
        return asyncio.run_coroutine_threadsafe(_fingerprint(engine, query), loop).result(30)

    failures: list[str] = []
    counter = [0]
    skipped = [0]
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for index, operation in enumerate(operations):
        remaining = FUZZ_SECONDS - (time.monotonic() - started)
        deadline = time.monotonic() + max(remaining / (len(operations) - index), 0.2)
        await asyncio.to_thread(
            _run_operation,
            operation,
            base_url=base,
            headers=headers,
            path_values=world["path"],
            deadline=deadline,
            fingerprint=fingerprint,
            failures=failures,
            counter=counter,
            statuses=statuses,
            skipped=skipped,
        )
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{k}xx: {v}" for k, v in sorted(statuses.items()))
    print(  # the figures docs/development.md quotes (shown with -s)
        f"fuzz: {counter[0]} requests ({summary}; {skipped[0]} not sendable) over {len(operations)} operations"
        f" in {elapsed:.0f}s"
    )
    assert counter[0] >= len(operations), "too few requests were made"
    assert not failures, "\n".join(failures[:20])


_FRAME = st.fixed_dictionaries(
    {"type": st.sampled_from(["auth", "subscribe", "unsubscribe", "send", "typing", "ping", "other"])},
    optional={
        "space": st.one_of(st.uuids().map(str), st.text(max_size=40), st.integers(), st.none()),
        "key": st.one_of(st.text(max_size=80), st.integers(min_value=-(2**80), max_value=2**80)),
        "body": st.one_of(st.text(max_size=200), st.lists(st.integers(), max_size=3)),
        "after": st.one_of(st.integers(min_value=-(2**80), max_value=2**80), st.text(max_size=5)),
        "since_version": st.integers(min_value=-(2**80), max_value=2**80),
        "token": st.text(max_size=50),
    },
)


async def test_fuzz_websocket_frames_get_answers_never_unavailable(fuzz_server, world, engine) -> None:
    """Random frames (valid and not) on a live socket: each gets a reply or is ignored; none
    gets ``unavailable`` (an outage reply, which would make a client retry forever) and the
    socket is never dropped with a server error."""
    space = world["path"]["space_id"]
    url = fuzz_server.ws_url
    frames: list[str] = []

    @settings(max_examples=300, deadline=None, phases=[Phase.generate], database=None)
    @given(frame=_FRAME, real_space=st.booleans(), nul=st.booleans())
    def collect(frame: dict[str, Any], real_space: bool, nul: bool) -> None:
        if real_space and "space" in frame:
            frame["space"] = space
        if nul and isinstance(frame.get("body"), str):
            frame["body"] += "\x00"
        frames.append(json.dumps(frame))

    collect()
    frames += ['{"type": "ping", "x": ' + "[" * 3000 + "]" * 3000 + "}", "{not json", "[]", '"x"', "null"]
    problems: list[str] = []
    stored: set[tuple[str, int]] = set()
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {world['token']}"}, open_timeout=10
    ) as ws:
        for raw in frames:
            await ws.send(raw)
            await ws.send('{"type": "ping"}')  # a marker: everything before it has been handled
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if reply.get("type") == "error" and reply.get("code") in {"unavailable", "not_stored", "not_readable"}:
                    problems.append(f"{raw[:200]} -> {reply}")
                if reply.get("type") == "ack":
                    stored.add((reply["space"], reply["seq"]))
                if reply.get("type") == "pong":
                    break
            if len(problems) > 5:
                break
            if ws.close_code is not None:
                break
        assert ws.close_code is None, ws.close_code
    assert not problems, "\n".join(problems)
    # Refused frames wrote nothing: the only rows are the messages that were acknowledged.
    async with engine.connect() as conn:
        rows = {(str(r[0]), r[1]) for r in await conn.execute(text("SELECT space_id, seq FROM messages"))}
    assert rows == stored
