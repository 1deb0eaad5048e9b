"""The websocket's cache of posting rules (services.chat.adapters.PostingRules) batches its work.

Rooms asked for in one turn of the event loop are computed together (a constant number of
statements, not a few per room), rooms that go stale together are renewed together, a policy
change reaches the cache after ``ttl``, and a database outage keeps known rules without a
retry per send.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.chat import adapters
from services.chat.adapters import PostingRules
from services.persistence.models import Space
from services.spaces.governing import Posting, posting_rules
from tests.factories import make_network, make_space

ROOMS = 30


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def rooms(db_session: AsyncSession) -> list[uuid.UUID]:
    """ROOMS spaces in one network, some nested, two of them announcement-only."""
    network = await make_network(db_session)
    parent = await make_space(db_session, network, kind="topic")
    out = [parent.id]
    for i in range(ROOMS - 1):
        settings = {"chat.posting": "facilitators"} if i in (3, 7) else None
        space = await make_space(db_session, network, kind="topic", parent=parent if i % 2 else None, settings=settings)
        out.append(space.id)
    await db_session.commit()
    return out


async def settled(rules: PostingRules, space: uuid.UUID, want: Posting, within: float = 5.0) -> Posting:
    """Ask until the cache answers ``want`` (a background refresh lands), at most ``within`` s."""
    deadline = time.monotonic() + within
    got = await rules.rule(space)
    while got != want and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        got = await rules.rule(space)
    return got


async def test_rooms_asked_together_are_computed_in_one_batch(engine: AsyncEngine, db_session: AsyncSession) -> None:
    spaces = await rooms(db_session)
    async with AsyncSession(engine) as session:
        expected = await posting_rules(session, spaces)
    assert [expected[s].members for s in spaces].count(False) == 2  # the two announcement rooms
    cache = PostingRules(engine)
    with statements(engine) as seen:
        got = await asyncio.gather(*(cache.rule(s) for s in spaces))
    assert dict(zip(spaces, got, strict=True)) == expected
    # posting_rules' four queries for all 30 rooms (one-by-one it was four per room: 120).
    assert len(seen) <= 4, seen
    with statements(engine) as seen:
        assert await cache.rules(spaces) == expected
    assert seen == []  # known now: no query at all


async def test_rooms_that_go_stale_together_are_renewed_together(engine: AsyncEngine, db_session: AsyncSession) -> None:
    spaces = await rooms(db_session)
    cache = PostingRules(engine, ttl=0.3)
    before = await cache.rules(spaces)
    assert before[spaces[0]] == Posting(members=True)
    # A policy change: the first room becomes announcement-only.
    await db_session.execute(
        update(Space).where(Space.id == spaces[0]).values(settings={"chat.posting": "facilitators"})
    )
    await db_session.commit()
    assert await cache.rule(spaces[0]) == Posting(members=True)  # still the known rule
    await asyncio.sleep(0.35)
    with statements(engine) as seen:
        for s in spaces:  # every room stale: each ask returns at once and wants a refresh
            assert await cache.rule(s) == before[s]
        got = await settled(cache, spaces[0], Posting(members=False))
    assert got == Posting(members=False)
    assert len(seen) <= 4, seen  # one renewal for all 30 stale rooms


async def test_an_outage_keeps_known_rules_and_does_not_retry_per_send(
    engine: AsyncEngine, db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    spaces = await rooms(db_session)
    cache = PostingRules(engine, ttl=2.0)
    known = await cache.rules(spaces[:5])
    attempts = 0

    async def database_away(*_args: Any) -> dict[uuid.UUID, Posting]:
        nonlocal attempts
        attempts += 1
        raise ConnectionRefusedError("database away")

    monkeypatch.setattr(adapters, "posting_rules", database_away)
    await asyncio.sleep(2.05)
    started = time.monotonic()
    for _ in range(20):  # 20 sends during the outage, all past the ttl
        assert await cache.rule(spaces[0]) == known[spaces[0]]
        for _ in range(3):
            await asyncio.sleep(0)  # the renewal runs (and fails) in between
    assert time.monotonic() - started < 0.2  # all within the quiet period after the failure
    assert attempts == 1  # one failed renewal, then quiet for ttl / 10 (0.2 s)
    # A room never computed cannot be answered: the caller (the send) sees the error.
    with pytest.raises(ConnectionRefusedError):
        await cache.rule(spaces[10])
    # Back: the next ask after the quiet period renews.
    monkeypatch.setattr(adapters, "posting_rules", posting_rules)
    assert await settled(cache, spaces[10], known.get(spaces[10], Posting(members=True))) == Posting(members=True)


async def test_a_caller_that_goes_away_does_not_cancel_the_others(
    engine: AsyncEngine, db_session: AsyncSession
) -> None:
    spaces = await rooms(db_session)
    cache = PostingRules(engine)
    first = asyncio.ensure_future(cache.rule(spaces[1]))
    second = asyncio.ensure_future(cache.rule(spaces[1]))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == Posting(members=True)
    with pytest.raises(asyncio.CancelledError):
        await first
