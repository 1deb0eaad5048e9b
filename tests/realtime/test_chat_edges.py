# ruff: noqa: UP031, ASYNC109
"""Cross-process fan-out, authentication, bad input, slow clients, HTTP endpoints, retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid

import httpx
import pytest
import websockets
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.gateway import GatewayConfig
from services.chat.runtime import purge_expired
from services.cli import WS_PROTOCOL
from services.persistence.models import Message
from services.settings import Settings
from tests.factories import bearer
from tests.realtime.conftest import FAST, Client, Room, ServerThread, broker_settings


async def _count(db_session: AsyncSession, space: uuid.UUID) -> int:
    await db_session.rollback()
    return int(await db_session.scalar(select(func.count()).select_from(Message).where(Message.space_id == space)) or 0)


@pytest.mark.parametrize("kind", ["postgres", "redis"])
async def test_two_servers_share_rooms_through_the_broker(settings: Settings, kind: str, room: Room, clients) -> None:
    """Two server instances, each with its own app and broker connection: a message sent to one
    reaches a client of the other, in order, and HTTP sends on either side reach both."""
    s = broker_settings(settings, kind)
    one, two = ServerThread(s, config=FAST).start(), ServerThread(s, config=FAST).start()
    try:
        alice = await Client.open(one.ws_url, room.tokens["alice"])
        bob = await Client.open(two.ws_url, room.tokens["bob"])
        clients += [alice, bob]
        await alice.subscribe(room.space, after=0)
        await bob.subscribe(room.space, after=0)
        for i in range(1, 11):
            await alice.send({"type": "send", "space": str(room.space), "key": f"x{i}", "body": f"from one {i}"})
        assert (await alice.ack("x10"))["seq"] == 10  # all ten committed before the HTTP send
        async with httpx.AsyncClient(base_url=two.http_url) as http:
            r = await http.post(
                f"/api/v1/spaces/{room.space}/messages",
                json={"body": "from two", "key": "y"},
                headers=bearer(room.tokens["bob"]),
            )
            assert r.status_code == 201 and r.json()["seq"] == 11
        await bob.until(lambda f: f["type"] == "message" and f["seq"] == 11)
        await alice.until(lambda f: f["type"] == "message" and f["seq"] == 11)
        assert [m["seq"] for m in bob.messages()] == list(range(1, 12))
        assert [m["seq"] for m in alice.messages()] == list(range(1, 12))
        both = sorted([str(room.ids["alice"]), str(room.ids["bob"])])
        # Presence may already have arrived while bob waited for the messages (it is not ordered
        # with them): look at what he has before waiting for more.
        both_online = lambda f: f["type"] == "presence" and sorted(f["online"]) == both  # noqa: E731
        if not any(both_online(f) for f in bob.frames):
            await bob.until(both_online)
        await alice.send({"type": "typing", "space": str(room.space)})
        await bob.until(lambda f: f["type"] == "typing")
    finally:
        one.stop()
        two.stop()


@pytest.fixture
def memory_server(settings: Settings):
    srv = ServerThread(broker_settings(settings, "memory"), config=FAST).start()
    yield srv
    srv.stop()


async def _closed_with(ws: websockets.ClientConnection, timeout: float = 8) -> int | None:
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    return None


async def test_authentication_is_required_within_five_seconds(memory_server, room: Room) -> None:
    ws = await websockets.connect(memory_server.ws_url)
    started = asyncio.get_running_loop().time()
    assert await _closed_with(ws) == 4401
    assert 4.5 < asyncio.get_running_loop().time() - started < 7


@pytest.mark.parametrize(
    "first",
    ['{"type": "auth", "token": "aff_not-a-token"}', '{"type": "ping"}', "garbage", '{"type": "auth"}'],
)
async def test_bad_first_frames_close_4401(memory_server, room: Room, first: str) -> None:
    ws = await websockets.connect(memory_server.ws_url)
    await ws.send(first)
    assert await _closed_with(ws) == 4401


async def test_handshake_credentials_and_origin(memory_server, room: Room, clients) -> None:
    token = room.tokens["alice"]
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(memory_server.ws_url, origin="https://evil.example", additional_headers=bearer(token))
    assert refused.value.response.status_code == 403
    # The service's own origin is allowed; credentials in the handshake need no auth frame.
    own = f"http://localhost:{memory_server.port}"
    ws = await websockets.connect(memory_server.ws_url, origin=own, additional_headers=bearer(token))
    c = Client(ws)
    clients.append(c)
    assert (await c.subscribe(room.space))["type"] == "subscribed"


async def test_bad_input_gets_error_frames_and_the_socket_stays_usable(
    memory_server, room: Room, clients, db_session
) -> None:
    c = await Client.open(memory_server.ws_url, room.tokens["alice"])
    clients.append(c)
    space = str(room.space)
    cases = [
        ("{not json", "malformed_frame", None),
        ('{"type": "dance"}', "unknown_type", None),
        ('{"type": "send", "space": "nope", "key": "k", "body": "b"}', "invalid_frame", None),
        ('{"type": "subscribe", "space": "%s", "extra": 1}' % space, "invalid_frame", None),
        ('{"type": "send", "space": "%s", "key": "big", "body": "%s"}' % (space, "x" * 4001), "body_too_long", "big"),
        ('{"type": "send", "space": "%s", "key": "e", "body": "   "}' % space, "empty_body", "e"),
        ("x" * 20_000, "frame_too_large", None),
        ('{"type": "subscribe", "space": "%s"}' % uuid.uuid4(), "not_a_member", None),
        ('{"type": "typing", "space": "%s"}' % space, "not_subscribed", space),
        ('{"type": "auth", "token": "again"}', "already_authenticated", None),
    ]
    for raw, code, ref in cases:
        await c.ws.send(raw)
        err = await c.until(lambda f: f["type"] == "error")
        assert err["code"] == code, (raw[:60], err)
        if ref is not None:
            assert err["ref"] == ref
        assert err["message"]
    await c.send({"type": "ping"})
    assert (await c.until(lambda f: f["type"] in {"pong", "error"}))["type"] == "pong"
    assert await _count(db_session, room.space) == 0


async def test_outsiders_and_banned_members_cannot_read_or_post(memory_server, room: Room, clients, db_session) -> None:
    for who in ("outsider", "banned"):
        c = await Client.open(memory_server.ws_url, room.tokens[who])
        clients.append(c)
        err = await c.subscribe(room.space)
        assert err["type"] == "error" and err["code"] == "not_a_member"
        await c.send({"type": "send", "space": str(room.space), "key": "k", "body": "hi"})
        err = await c.ack("k")
        assert err["type"] == "error" and err["code"] == "not_a_member"
    assert await _count(db_session, room.space) == 0


async def test_repeated_abuse_closes_the_socket(memory_server, room: Room) -> None:
    ws = await websockets.connect(memory_server.ws_url)
    await ws.send('{"type": "auth", "token": "%s"}' % room.tokens["alice"])
    for _ in range(40):
        try:
            await ws.send("{bad")
        except websockets.ConnectionClosed:
            break
    assert await _closed_with(ws) == 4429


async def test_send_rate_limit(settings: Settings, room: Room, clients, db_session) -> None:
    srv = ServerThread(broker_settings(settings, "memory"), config=GatewayConfig(send_rate=1.0, send_burst=3)).start()
    try:
        c = await Client.open(srv.ws_url, room.tokens["alice"])
        clients.append(c)
        for i in range(5):
            await c.send({"type": "send", "space": str(room.space), "key": f"r{i}", "body": "hi"})
        answers = [await c.ack(f"r{i}") for i in range(5)]
        assert [a["type"] for a in answers] == ["ack", "ack", "ack", "error", "error"]
        assert answers[3]["code"] == "rate_limited"
        assert await _count(db_session, room.space) == 3
    finally:
        srv.stop()


@pytest.mark.parametrize("ws", ["websockets", "websockets-sansio", WS_PROTOCOL])
async def test_a_slow_socket_is_closed_4408_and_never_delays_others(
    settings: Settings, room: Room, clients, ws: str
) -> None:
    # Three uvicorn websocket implementations: the legacy one suspends in send while draining;
    # the sans-I/O one waits for the transport; the frame sink (what `affinity serve` runs)
    # writes fan-out frames directly and queues them while the transport is paused.
    config = GatewayConfig(send_rate=10_000, send_burst=10_000, send_queue_limit=32)
    srv = ServerThread(broker_settings(settings, "memory"), config=config, ws=ws).start()
    try:
        # The slow client: a raw socket with a tiny fixed receive buffer that never reads after
        # the handshake, so the server's writes to it back up.
        slow = _raw_ws(srv.port)
        slow.sendall(_masked('{"type": "auth", "token": "%s"}' % room.tokens["bob"]))
        slow.sendall(_masked('{"type": "subscribe", "space": "%s"}' % room.space))
        fast = await Client.open(srv.ws_url, room.tokens["carol"])
        sender = await Client.open(srv.ws_url, room.tokens["alice"])
        clients += [fast, sender]
        await fast.subscribe(room.space)
        total = 1200
        body = "y" * 3900
        for i in range(1, total + 1):
            await sender.send({"type": "send", "space": str(room.space), "key": f"b{i}", "body": body})
            if i % 50 == 0:
                await sender.ack(f"b{i}")
        await fast.until(lambda f: f["type"] == "message" and f["seq"] == total, timeout=60)
        assert [m["seq"] for m in fast.messages()] == list(range(1, total + 1))
        slow.setblocking(True)
        slow.settimeout(20)
        assert _read_close_code(slow) == 4408
        slow.close()
        # It resumes from history with nothing missing.
        again = await Client.open(srv.ws_url, room.tokens["bob"])
        clients.append(again)
        await again.subscribe(room.space, after=0)
        await again.until(lambda f: f["type"] == "message" and f["seq"] == total, timeout=30)
        assert [m["seq"] for m in again.messages()] == list(range(1, total + 1))
    finally:
        srv.stop()


async def test_http_messages_endpoints(memory_server, room: Room, db_session) -> None:
    url = f"/api/v1/spaces/{room.space}/messages"
    async with httpx.AsyncClient(base_url=memory_server.http_url) as http:
        alice, bob, carol = (bearer(room.tokens[p]) for p in ("alice", "bob", "carol"))
        r = await http.post(url, json={"body": "hello", "key": "k1"}, headers=alice)
        assert r.status_code == 201 and r.json()["seq"] == 1
        r = await http.post(url, json={"body": "hello", "key": "k1"}, headers=alice)
        assert r.status_code == 200 and r.json()["seq"] == 1  # idempotent retry
        r = await http.post(url, json={"body": "second", "key": "k2"}, headers=bob)
        assert r.status_code == 201 and r.json()["seq"] == 2
        page = (await http.get(url, params={"after": 1}, headers=bob)).json()
        assert [m["seq"] for m in page["items"]] == [2] and page["head"] == 2
        # Refused roles.
        outsider = bearer(room.tokens["outsider"])
        for r in (
            await http.get(url, headers=outsider),
            await http.post(url, json={"body": "x", "key": "o"}, headers=outsider),
            await http.get(f"/api/v1/spaces/{uuid.uuid4()}/messages", headers=alice),
        ):
            assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_member"
        r = await http.post(
            f"/api/v1/spaces/{room.announcements}/messages", json={"body": "x", "key": "a"}, headers=alice
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "posting_restricted"
        r = await http.delete(f"{url}/1", headers=bob)  # not the author, not a facilitator
        assert r.status_code == 403
        assert (await http.get(url)).status_code == 401
        # Bad input: nothing written, never 500.
        for body in (
            {"body": "", "key": "k"},
            {"body": "x" * 4001, "key": "k"},
            {"body": "x"},
            {"body": "   ", "key": "s"},
        ):
            r = await http.post(url, json=body, headers=alice)
            assert r.status_code in {400, 422}, (body, r.text)
            assert r.json()["error"]["code"]
        for params in ({"limit": 0}, {"limit": 501}, {"after": -1}, {"after": "x"}):
            r = await http.get(url, params=params, headers=alice)
            assert r.status_code in {400, 422}, (params, r.text)
        r = await http.delete(f"{url}/99", headers=carol)
        assert r.status_code == 404 and r.json()["error"]["code"] == "message_not_found"
        r = await http.delete(f"{url}/1", headers=carol)  # facilitator moderates
        assert r.status_code == 204
        first = (await http.get(url, headers=bob)).json()["items"][0]
        assert first["deleted"] and first["body"] == "" and first["seq"] == 1
    assert await _count(db_session, room.space) == 2


async def test_retention_purge(settings: Settings, room: Room, db_session, engine) -> None:
    from tests.factories import make_network, make_space

    network = await make_network(db_session)
    keep_forever = await make_space(db_session, network)
    short = await make_space(db_session, network, settings={"chat.retention_days": 30})
    await db_session.commit()
    from services.chat import repository
    from tests.factories import add_member, add_space_member, make_account

    author = await make_account(db_session)
    await add_member(db_session, network, author)
    await add_space_member(db_session, keep_forever, author)
    await add_space_member(db_session, short, author)
    await db_session.commit()
    keep_id, short_id, author_id = keep_forever.id, short.id, author.id
    async with engine.begin() as conn:
        for space in (keep_id, short_id):
            for i in range(3):
                stored = await repository.append(conn, space, author_id, f"k{i}", "old", members_may_post=True)
                assert stored is not None
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(update(Message).where(Message.seq <= 2).values(sent_at=now - dt.timedelta(days=40)))
    assert await purge_expired(engine, now) == 2
    assert await _count(db_session, keep_id) == 3
    assert await _count(db_session, short_id) == 1
    # The seq keeps counting: purging never reuses numbers.
    async with engine.begin() as conn:
        result = await repository.append(conn, short_id, author_id, "new", "new", members_may_post=True)
    assert result is not None and result[0].seq == 4


def _raw_ws(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]
    return sock


def _masked(text: str) -> bytes:
    payload = text.encode()
    mask = b"\x01\x02\x03\x04"
    header = (
        bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
        if len(payload) > 125
        else bytes([0x81, 0x80 | len(payload)])
    )
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _read_close_code(sock: socket.socket) -> int | None:
    """Read frames until a close frame; return its code."""
    buf = b""

    def need(n: int) -> bytes:
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            buf += chunk
        out, buf = buf[:n], buf[n:]
        return out

    while True:
        b0, b1 = need(2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(need(2), "big")
        elif length == 127:
            length = int.from_bytes(need(8), "big")
        payload = need(length)
        if b0 & 0x0F == 0x8:
            return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
