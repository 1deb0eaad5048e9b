"""The websocket send pool opens its connections at start-up (services.chat.runtime.warm).

Opened on demand, the first sends after a start-up queued behind connections being opened (up
to ~0.8 s under load in bench/ws_fanout.py). With the database away, start-up must not fail or
hang: the pool is left to connect on demand.
"""

from __future__ import annotations

import socket
import time

import asyncpg

from services.chat.runtime import warm
from services.persistence.engine import libpq_url


async def test_the_pool_is_open_after_warming(database_url: str) -> None:
    pool = await asyncpg.create_pool(libpq_url(database_url), min_size=0, max_size=3)
    try:
        assert pool.get_size() == 0  # min_size=0: nothing open yet
        assert await warm(pool, 3, within=10) == 3
        assert pool.get_size() == 3 and pool.get_idle_size() == 3  # open, and all handed back
        async with pool.acquire() as conn:  # usable at once
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_a_database_that_is_away_leaves_the_pool_to_connect_on_demand(caplog) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{port}/x", min_size=0, max_size=3)
    try:
        started = time.monotonic()
        assert await warm(pool, 3, within=2) == 0
        assert time.monotonic() - started < 2.5
        assert pool.get_size() == 0
        assert "opened 0 of 3 connections" in caplog.text
    finally:
        await pool.close()


async def test_a_database_that_never_answers_does_not_hold_up_start_up(caplog) -> None:
    with socket.socket() as silent:  # accepts TCP connections (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{port}/x", min_size=0, max_size=3)
        try:
            started = time.monotonic()
            assert await warm(pool, 3, within=1) == 0
            assert time.monotonic() - started < 1.5
            assert "opened 0 of 3 connections within 1 s" in caplog.text
        finally:
            pool.terminate()
