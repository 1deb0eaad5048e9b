"""The periodic access re-check drops only subscriptions it asked about.

Found with bench/ws_fanout.py: in a 1,000-socket room whose sockets were still joining when the
30-second re-check ran, ~1 % of them got `access_revoked` and nothing more — they subscribed
while the re-check's query was running, so their (account, space) was not in its answer. The
query's timing is what matters, so this test holds the query open through the RoomAccess seam
(the gateway's real Hub, Connection and in-process broker otherwise).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from realtime.brokers.memory import MemoryBroker
from realtime.connection import Connection, Subscription
from realtime.gateway import Gateway
from realtime.interfaces import Identity, Rights


class _SlowAccess:
    """Everyone may read; ``readable`` answers only when the test says so."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked = asyncio.Event()

    async def rights(self, account: uuid.UUID, spaces: Sequence[uuid.UUID]) -> dict[uuid.UUID, Rights]:
        return {s: Rights(read=True, post=True) for s in spaces}

    async def readable(self, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
        self.asked.set()
        await self.release.wait()
        return set(pairs)


async def _nowhere(_message: dict[str, Any]) -> None:
    return None


def _subscribed(gateway: Gateway, space: uuid.UUID) -> Connection:
    conn = Connection(_nowhere, Identity(account_id=uuid.uuid4()), limit=64, sends=gateway.hub.bucket(uuid.uuid4()))
    gateway.hub.connections.add(conn)
    sub = Subscription(last_seq=0)
    sub.replaying = False
    conn.subs[space] = sub
    gateway.hub.join(conn, space)
    return conn


async def test_a_socket_subscribing_during_a_recheck_keeps_its_subscription() -> None:
    access = _SlowAccess()
    gateway = Gateway(authenticator=None, store=None, access=access, broker=MemoryBroker())  # type: ignore[arg-type]
    space = uuid.uuid4()
    early = _subscribed(gateway, space)
    check = asyncio.get_running_loop().create_task(gateway.revalidate())
    await access.asked.wait()
    late = _subscribed(gateway, space)  # subscribes while the query runs
    access.release.set()
    await check
    assert space in early.subs
    assert space in late.subs, "a subscription made during the re-check was dropped"
    assert late in gateway.hub.rooms[space].members
    assert not late.queue  # no access_revoked frame


class _Batches:
    """Everyone but ``banned`` may read; records how many pairs each query asked about and
    whether the event loop ran between queries (a fan-out tick could)."""

    def __init__(self, banned: set[uuid.UUID]) -> None:
        self.banned = banned
        self.sizes: list[int] = []
        self.ticks = 0

    async def rights(self, account: uuid.UUID, spaces: Sequence[uuid.UUID]) -> dict[uuid.UUID, Rights]:
        return {s: Rights(read=True, post=True) for s in spaces}

    async def readable(self, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
        self.sizes.append(len(pairs))
        await asyncio.sleep(0)  # a real query awaits the database
        return {(a, s) for a, s in pairs if a not in self.banned}


async def test_a_big_recheck_asks_in_batches_and_still_revokes_every_lost_access() -> None:
    """5,000 sockets were decided in one piece: ~150 ms of event loop in which no frame went out."""
    space = uuid.uuid4()
    gateway = Gateway(authenticator=None, store=None, access=None, broker=MemoryBroker())  # type: ignore[arg-type]
    conns = [_subscribed(gateway, space) for _ in range(1_001)]
    banned = {c.identity.account_id for c in conns[::100]}
    access = _Batches(banned)
    gateway.access = access

    async def ticker() -> None:
        while True:
            access.ticks += 1
            await asyncio.sleep(0)

    tick = asyncio.get_running_loop().create_task(ticker())
    await gateway.revalidate()
    tick.cancel()
    assert max(access.sizes) <= gateway.config.revalidate_batch
    assert sum(access.sizes) == len(conns)
    assert access.ticks >= len(access.sizes) - 1, "the loop never ran between batches"
    for conn in conns:
        assert (space in conn.subs) == (conn.identity.account_id not in banned)
        if conn.identity.account_id in banned:
            assert any(b"access_revoked" in f.payload for f in conn.queue)
