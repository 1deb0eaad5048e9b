"""Resume after a disconnect replays deletions too (room versions); presence of a dead node expires."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from realtime.gateway import Gateway, GatewayConfig
from services.settings import Settings
from tests.factories import bearer
from tests.realtime.conftest import FAST, Client, Room, ServerThread, broker_settings


class Replica:
    """A client's copy of one room, built only from the frames it received (Zulip's rule)."""

    def __init__(self) -> None:
        self.state: dict[int, dict[str, Any]] = {}
        self.last_seq = 0
        self.version = 0

    def apply(self, frames: list[dict[str, Any]]) -> None:
        for f in frames:
            if f["type"] == "subscribed":
                self.version = max(self.version, f["version"])
            elif f["type"] == "message":
                self.state[f["seq"]] = {"body": f["body"], "deleted": f.get("deleted", False)}
                self.last_seq = max(self.last_seq, f["seq"])
                self.version = max(self.version, f.get("version", 0))
            elif f["type"] == "deleted":
                if f["seq"] in self.state:
                    self.state[f["seq"]] = {"body": "", "deleted": True}
                self.version = max(self.version, f.get("version", 0))


async def _fetch(http: httpx.AsyncClient, space: uuid.UUID, token: str) -> dict[int, dict[str, Any]]:
    r = await http.get(f"/api/v1/spaces/{space}/messages", headers=bearer(token))
    assert r.status_code == 200, r.text
    return {m["seq"]: {"body": m["body"], "deleted": m["deleted"]} for m in r.json()["items"]}


async def _send(c: Client, space: uuid.UUID, key: str) -> int:
    await c.send({"type": "send", "space": str(space), "key": key, "body": f"body {key}"})
    ack = await c.ack(key)
    assert ack["type"] == "ack", ack
    return int(ack["seq"])


async def _delete(http: httpx.AsyncClient, space: uuid.UUID, seq: int, token: str) -> None:
    r = await http.delete(f"/api/v1/spaces/{space}/messages/{seq}", headers=bearer(token))
    assert r.status_code == 204, r.text


async def _quiet(c: Client, seconds: float = 0.3) -> None:
    """Read whatever arrives within ``seconds`` (frames land in ``c.frames``)."""
    try:
        while True:
            await c.recv(seconds)
    except TimeoutError:
        return


async def test_deletions_while_away_are_replayed_on_resume(server, room: Room, clients) -> None:
    alice = await Client.open(server.ws_url, room.tokens["alice"])
    bob = await Client.open(server.ws_url, room.tokens["bob"])
    clients += [alice, bob]
    await bob.subscribe(room.space, after=0)
    for i in range(1, 5):
        await _send(alice, room.space, f"k{i}")
    await bob.until(lambda f: f["type"] == "message" and f["seq"] == 4)
    replica = Replica()
    replica.apply(bob.frames)
    assert replica.version == 4
    await bob.close()
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        # While bob is away: seq 2 deleted by its author, seq 3 by a facilitator, a new message 5,
        # then 5 deleted too (bob never saw it: it comes back as a tombstone).
        await _delete(http, room.space, 2, room.tokens["alice"])
        await _delete(http, room.space, 3, room.tokens["carol"])
        await _send(alice, room.space, "k5")
        await _send(alice, room.space, "k6")
        await _delete(http, room.space, 5, room.tokens["alice"])
        back = await Client.open(server.ws_url, room.tokens["bob"])
        clients.append(back)
        await back.send(
            {"type": "subscribe", "space": str(room.space), "after": replica.last_seq, "since_version": replica.version}
        )
        sub = await back.until(lambda f: f["type"] == "subscribed")
        assert sub["head"] == 6 and sub["version"] == 9  # 6 inserts + 3 deletions
        await back.until(lambda f: f["type"] == "message" and f["seq"] == 6)
        kinds = [(f["type"], f["seq"]) for f in back.frames if f["type"] in {"deleted", "message"}]
        assert kinds == [("deleted", 2), ("deleted", 3), ("message", 5), ("message", 6)]
        replica.apply(back.frames)
        assert replica.state == await _fetch(http, room.space, room.tokens["bob"])
        assert replica.version == 9
        # A live deletion carries the next version; resuming from there replays nothing old.
        await _delete(http, room.space, 1, room.tokens["alice"])
        live = await back.until(lambda f: f["type"] == "deleted" and f["seq"] == 1)
        assert live["version"] == 10
        await back.close()
        again = await Client.open(server.ws_url, room.tokens["bob"])
        clients.append(again)
        await again.send({"type": "subscribe", "space": str(room.space), "after": 6, "since_version": 10})
        await again.until(lambda f: f["type"] == "subscribed")
        await _quiet(again)
        assert [f for f in again.frames if f["type"] in {"deleted", "message"}] == []
        # Without since_version (an older client) the resume is as before: no deleted frames.
        old = await Client.open(server.ws_url, room.tokens["bob"])
        clients.append(old)
        await old.subscribe(room.space, after=4)
        await old.until(lambda f: f["type"] == "message" and f["seq"] == 6)
        assert [(f["type"], f["seq"]) for f in old.frames if f["type"] in {"deleted", "message"}] == [
            ("message", 5),
            ("message", 6),
        ]


async def test_resume_across_two_servers_replays_deletions(settings: Settings, room: Room, clients) -> None:
    """Bob reads on server two, drops, messages are deleted through server one, bob resumes on
    server one: the state he builds from frames equals a fresh fetch."""
    s = broker_settings(settings, "postgres")
    one, two = ServerThread(s, config=FAST).start(), ServerThread(s, config=FAST).start()
    try:
        alice = await Client.open(one.ws_url, room.tokens["alice"])
        bob = await Client.open(two.ws_url, room.tokens["bob"])
        clients += [alice, bob]
        await alice.subscribe(room.space, after=0)
        await bob.subscribe(room.space, after=0)
        for i in range(1, 6):
            await _send(alice, room.space, f"x{i}")
        async with httpx.AsyncClient(base_url=one.http_url) as http:
            await _delete(http, room.space, 1, room.tokens["alice"])
            live = await bob.until(lambda f: f["type"] == "deleted" and f["seq"] == 1)
            assert live["version"] == 6
            assert [m["seq"] for m in bob.messages()] == [1, 2, 3, 4, 5]  # in version order
            replica = Replica()
            replica.apply(bob.frames)
            await bob.close()
            await _delete(http, room.space, 4, room.tokens["carol"])
            await _send(alice, room.space, "x6")
            await _delete(http, room.space, 2, room.tokens["alice"])
            back = await Client.open(one.ws_url, room.tokens["bob"])
            clients.append(back)
            await back.send(
                {
                    "type": "subscribe",
                    "space": str(room.space),
                    "after": replica.last_seq,
                    "since_version": replica.version,
                }
            )
            await back.until(lambda f: f["type"] == "message" and f["seq"] == 6)
            replica.apply(back.frames)
            assert replica.state == await _fetch(http, room.space, room.tokens["bob"])
            assert replica.state[4]["deleted"] and replica.state[2]["deleted"] and replica.state[1]["deleted"]
            # Alice on server one saw every change live, in an order that applies cleanly too.
            await alice.until(lambda f: f["type"] == "deleted" and f["seq"] == 2)
            mirror = Replica()
            mirror.apply(alice.frames)
            assert mirror.state == replica.state and mirror.version == replica.version == 9
    finally:
        one.stop()
        two.stop()


def _gateway(srv: ServerThread) -> Gateway:
    gateway: Gateway = srv.app.state.chat.gateway
    return gateway


@pytest.mark.parametrize("kind", ["postgres", "redis"])
async def test_presence_of_a_node_that_stops_heartbeating_expires(
    settings: Settings, kind: str, room: Room, clients
) -> None:
    """Server one "crashes": its heartbeat task dies and it publishes nothing more (not even the
    offline signals of its sockets). Server two drops its presence after the TTL; when it is heard
    again it is asked to re-announce."""
    config = GatewayConfig(send_rate=1000.0, send_burst=1000, presence_heartbeat=0.1, presence_ttl=0.6)
    s = broker_settings(settings, kind)
    one, two = ServerThread(s, config=config).start(), ServerThread(s, config=config).start()
    try:
        alice = await Client.open(one.ws_url, room.tokens["alice"])
        bob = await Client.open(two.ws_url, room.tokens["bob"])
        clients += [alice, bob]
        await alice.subscribe(room.space)
        await bob.subscribe(room.space)
        both = sorted([str(room.ids["alice"]), str(room.ids["bob"])])
        await bob.until(lambda f: f["type"] == "presence" and sorted(f["online"]) == both)

        gateway = _gateway(one)
        assert gateway._heartbeat is not None
        loop = gateway._heartbeat.get_loop()
        real_publish = gateway.broker.publish

        def crash() -> None:
            assert gateway._heartbeat is not None
            gateway._heartbeat.cancel()
            gateway.broker.publish = lambda event: None  # type: ignore[method-assign]

        loop.call_soon_threadsafe(crash)
        started = asyncio.get_running_loop().time()
        await bob.until(lambda f: f["type"] == "presence" and f["online"] == [str(room.ids["bob"])], timeout=5)
        assert asyncio.get_running_loop().time() - started < 3

        def revive() -> None:
            gateway.broker.publish = real_publish  # type: ignore[method-assign]
            gateway._heartbeat = loop.create_task(gateway.hub.keep_presence(0.1, 0.6))

        loop.call_soon_threadsafe(revive)
        await bob.until(lambda f: f["type"] == "presence" and sorted(f["online"]) == both, timeout=5)
    finally:
        one.stop()
        two.stop()


async def test_a_clean_shutdown_clears_presence_at_once(settings: Settings, room: Room, clients) -> None:
    config = GatewayConfig(send_rate=1000.0, send_burst=1000, presence_ttl=60.0)
    s = broker_settings(settings, "postgres")
    one, two = ServerThread(s, config=config).start(), ServerThread(s, config=config).start()
    try:
        alice = await Client.open(one.ws_url, room.tokens["alice"])
        bob = await Client.open(two.ws_url, room.tokens["bob"])
        clients += [alice, bob]
        await alice.subscribe(room.space)
        await bob.subscribe(room.space)
        both = sorted([str(room.ids["alice"]), str(room.ids["bob"])])
        await bob.until(lambda f: f["type"] == "presence" and sorted(f["online"]) == both)
        await asyncio.to_thread(one.stop)
        await bob.until(lambda f: f["type"] == "presence" and f["online"] == [str(room.ids["bob"])], timeout=5)
    finally:
        one.stop()
        two.stop()
