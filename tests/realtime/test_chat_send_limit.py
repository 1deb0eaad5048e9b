"""The websocket send limit is per account, not per socket (issue 9 item 11), over real servers.

Before: each socket had its own bucket, so five sockets sent five bursts at once and a client
reconnecting in a loop got a fresh burst every time.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.gateway import GatewayConfig
from services.persistence.models import Message
from services.settings import Settings
from tests.realtime.conftest import Client, Room, ServerThread, broker_settings

RATE, BURST = 1, 3


async def _stored(db_session: AsyncSession, space: uuid.UUID) -> int:
    await db_session.rollback()
    return int(await db_session.scalar(select(func.count()).select_from(Message).where(Message.space_id == space)) or 0)


async def _send_all(client: Client, space: uuid.UUID, keys: list[str]) -> list[str]:
    """Send every key at once; the answer (ack or error code) to each."""
    for key in keys:
        await client.send({"type": "send", "space": str(space), "key": key, "body": "hi"})
    answers = [await client.ack(key) for key in keys]
    return ["ack" if a["type"] == "ack" else a["code"] for a in answers]


def _allowed(elapsed: float) -> int:
    """What the limit lets one account store in ``elapsed`` seconds (burst + refill)."""
    return BURST + int(elapsed * RATE) + 1


async def test_five_sockets_of_one_account_share_one_limit(
    settings: Settings, room: Room, clients: list[Client], db_session: AsyncSession
) -> None:
    # The limit comes from the settings (AFFINITY_CHAT_SEND_RATE / _BURST), not a test override.
    limited = msgspec.structs.replace(broker_settings(settings, "memory"), chat_send_rate=RATE, chat_send_burst=BURST)
    srv = ServerThread(limited).start()
    try:
        sockets = [await Client.open(srv.ws_url, room.tokens["alice"]) for _ in range(5)]
        clients += sockets
        started = time.monotonic()
        answers = await asyncio.gather(
            *(_send_all(c, room.space, [f"s{i}-{k}" for k in range(6)]) for i, c in enumerate(sockets))
        )
        elapsed = time.monotonic() - started
        acked = sum(a.count("ack") for a in answers)
        assert acked <= _allowed(elapsed), (acked, elapsed)
        assert all(code in {"ack", "rate_limited"} for a in answers for code in a)
        assert await _stored(db_session, room.space) == acked
        # Another account is not held back by alice's spending.
        bob = await Client.open(srv.ws_url, room.tokens["bob"])
        clients.append(bob)
        assert await _send_all(bob, room.space, ["b1", "b2", "b3"]) == ["ack", "ack", "ack"]
    finally:
        srv.stop()


async def test_reconnecting_does_not_refill_the_limit(
    settings: Settings, room: Room, clients: list[Client], db_session: AsyncSession
) -> None:
    config = GatewayConfig(send_rate=RATE, send_burst=BURST)
    srv = ServerThread(broker_settings(settings, "memory"), config=config).start()
    try:
        started = time.monotonic()
        acked = 0
        for round_ in range(6):
            c = await Client.open(srv.ws_url, room.tokens["alice"])
            answers = await _send_all(c, room.space, [f"r{round_}-{k}" for k in range(5)])
            acked += answers.count("ack")
            await c.close()
        elapsed = time.monotonic() - started
        assert acked <= _allowed(elapsed), (acked, elapsed)
        assert await _stored(db_session, room.space) == acked
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["postgres", "redis"])
async def test_the_limit_holds_across_nodes(
    settings: Settings, kind: str, room: Room, clients: list[Client], db_session: AsyncSession
) -> None:
    """Two servers linked by a broker: what alice spends on one is charged on the other."""
    config = GatewayConfig(send_rate=RATE, send_burst=BURST, presence_heartbeat=0.2)
    s = broker_settings(settings, kind)
    one, two = ServerThread(s, config=config).start(), ServerThread(s, config=config).start()
    try:
        await asyncio.sleep(1.0)  # the nodes hear each other's heartbeats
        started = time.monotonic()
        a1 = await Client.open(one.ws_url, room.tokens["alice"])
        a2 = await Client.open(two.ws_url, room.tokens["alice"])
        clients += [a1, a2]
        first = await _send_all(a1, room.space, ["n1-1", "n1-2", "n1-3"])
        assert first == ["ack", "ack", "ack"]
        await asyncio.sleep(0.6)  # one reports what alice spent (every 0.2 s) and two charges it
        second = await _send_all(a2, room.space, ["n2-1", "n2-2", "n2-3"])
        elapsed = time.monotonic() - started
        acked = first.count("ack") + second.count("ack")
        assert "rate_limited" in second
        assert acked <= _allowed(elapsed), (acked, elapsed)
        assert await _stored(db_session, room.space) == acked
    finally:
        one.stop()
        two.stop()
