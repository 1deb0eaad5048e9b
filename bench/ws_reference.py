"""The yardstick for bench/ws_fanout.py: the smallest websocket broadcast server we can write.

It authenticates nothing, stores nothing and relays each ``send`` frame verbatim to every other
socket subscribed to the same space (``websockets.broadcast``), answering the sender with a tiny
ack and a subscribe with a tiny ``subscribed`` so the load generator's bookkeeping is the same as
against the real service. Run by
ws_fanout.py ``--reference`` as ``python bench/ws_reference.py PORT``; never used by the service.
"""

from __future__ import annotations

import asyncio
import sys

import msgspec
import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve

ROOMS: dict[str, set[ServerConnection]] = {}
ACK = '{"type":"ack"}'
SUBSCRIBED = '{"type":"subscribed"}'


class _Frame(msgspec.Struct):
    type: str
    space: str = ""


_decode = msgspec.json.Decoder(_Frame).decode


async def handler(ws: ServerConnection) -> None:
    """Subscribe frames put the socket in a room; send frames go verbatim to the room."""
    joined: list[str] = []
    try:
        async for raw in ws:
            frame = _decode(raw)
            if frame.type == "send":
                room = ROOMS.get(frame.space)
                if room:
                    broadcast(room, raw)
                await ws.send(ACK)
            elif frame.type == "subscribe":
                ROOMS.setdefault(frame.space, set()).add(ws)
                joined.append(frame.space)
                await ws.send(SUBSCRIBED)  # the clients start sending once every socket has one
    except websockets.ConnectionClosed:
        pass
    finally:
        for space in joined:
            ROOMS.get(space, set()).discard(ws)


async def main(port: int) -> None:
    """Serve on 127.0.0.1:``port`` until killed (no compression, no pings: like the service's bench)."""
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=32, backlog=8192):
        await asyncio.Future()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(int(sys.argv[1])))
