"""Websocket frames follow the same wire rules as HTTP (federation/wire.py): a NUL character, an
integer beyond int64 or a frame nested thousands deep gets an ``error`` frame naming the field —
never ``unavailable``, which tells a client to retry the same frame forever."""

from __future__ import annotations

import json

import pytest

from tests.realtime.conftest import Client, Room


@pytest.fixture
def broker() -> str:
    return "memory"


async def test_bad_frames_get_an_error_naming_the_field_not_unavailable(server, room: Room, clients) -> None:
    c = await Client.open(server.ws_url, room.tokens["alice"])
    clients.append(c)
    assert (await c.subscribe(room.space))["type"] == "subscribed"

    await c.send({"type": "send", "space": str(room.space), "key": "nul-1", "body": "hello\x00world"})
    frame = await c.until(lambda f: f["type"] == "error")
    assert frame["code"] == "invalid_frame" and "body" in frame["message"] and "NUL" in frame["message"], frame

    await c.send({"type": "send", "space": str(room.space), "key": "k\x00", "body": "hello"})
    frame = await c.until(lambda f: f["type"] == "error")
    assert frame["code"] == "invalid_frame" and "key" in frame["message"], frame

    await c.send({"type": "subscribe", "space": str(room.space), "after": 2**70})
    frame = await c.until(lambda f: f["type"] == "error")
    assert frame["code"] == "invalid_frame" and "after" in frame["message"], frame

    await c.ws.send('{"type": "ping", "x": ' + "[" * 5000 + "]" * 5000 + "}")
    frame = await c.until(lambda f: f["type"] == "error")
    assert frame["code"] == "invalid_frame" and "deep" in frame["message"], frame

    # The socket still works, and nothing was stored.
    await c.send({"type": "send", "space": str(room.space), "key": "ok-1", "body": "fine"})
    ack = await c.ack("ok-1")
    assert ack["type"] == "ack" and ack["seq"] == 1, ack
    assert all(f.get("code") != "unavailable" for f in c.frames), json.dumps(c.frames)


async def test_auth_frame_with_nul_is_refused_without_touching_the_database(server, clients) -> None:
    c = await Client.open(server.ws_url)
    clients.append(c)
    await c.send({"type": "auth", "token": "aff_\x00"})
    with pytest.raises(Exception):  # noqa: B017 - closed with 4401
        await c.recv()
    assert c.ws.close_code == 4401
