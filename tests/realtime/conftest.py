"""Real servers for realtime tests: uvicorn on a free loopback port, each with its own app and broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
import uvicorn
import websockets
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.gateway import GatewayConfig
from services.app import create_app
from services.cli import WS_PROTOCOL
from services.settings import Settings
from tests.factories import add_member, add_space_member, make_account, make_network, make_space, make_token

REDIS_URL = "redis://127.0.0.1:6379/0"
BROKERS = ["memory", "postgres", "redis"]
FAST = GatewayConfig(send_rate=1000.0, send_burst=1000)
"""Limits for behavioural tests that send quickly (the rate-limit test uses the defaults)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A real uvicorn server running ``create_app(settings)`` on its own loop in a thread."""

    def __init__(self, settings: Settings, *, config: GatewayConfig | None = None, ws: str = WS_PROTOCOL) -> None:
        self.port = free_port()
        self.app = create_app(msgspec.structs.replace(settings, port=self.port))
        if config is not None:
            self.app.state.gateway_config = config
        uv = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, ws=ws, lifespan="on", log_level="warning", ws_max_size=65536
        )
        self.server = uvicorn.Server(uv)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def broker_settings(settings: Settings, broker: str) -> Settings:
    return msgspec.structs.replace(
        settings,
        broker=broker,
        redis_url=REDIS_URL if broker == "redis" else None,  # type: ignore[arg-type]
    )


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def chat_settings(settings: Settings, broker: str) -> Settings:
    return broker_settings(settings, broker)


@pytest.fixture
def server(chat_settings: Settings) -> Iterator[ServerThread]:
    srv = ServerThread(chat_settings, config=FAST).start()
    yield srv
    srv.stop()


@dataclass
class Room:
    """A space with an author, a second member, a facilitator and an outsider (tokens and ids)."""

    space: uuid.UUID
    announcements: uuid.UUID
    tokens: dict[str, str]
    ids: dict[str, uuid.UUID]


@pytest.fixture
async def room(db_session: AsyncSession) -> Room:
    network = await make_network(db_session)
    space = await make_space(db_session, network)
    announcements = await make_space(db_session, network, settings={"chat.posting": "facilitators"})
    tokens: dict[str, str] = {}
    ids: dict[str, uuid.UUID] = {}
    for name in ("alice", "bob", "carol", "outsider", "banned"):
        account = await make_account(db_session, name=name.title())
        tokens[name] = await make_token(db_session, account)
        ids[name] = account.id
        await add_member(db_session, network, account)  # chat needs the home network too, like every route
        if name in {"alice", "bob"}:
            await add_space_member(db_session, space, account)
            await add_space_member(db_session, announcements, account)
        elif name == "carol":
            await add_space_member(db_session, space, account, role="facilitator")
            await add_space_member(db_session, announcements, account, role="facilitator")
        elif name == "banned":
            await add_space_member(db_session, space, account, status="banned")
    await db_session.commit()
    return Room(space=space.id, announcements=announcements.id, tokens=tokens, ids=ids)


class Client:
    """A real websocket client with helpers to read frames."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, token: str | None = None, **kwargs: Any) -> Client:
        ws = await websockets.connect(url, open_timeout=10, **kwargs)
        client = cls(ws)
        if token is not None:
            await client.send({"type": "auth", "token": token})
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def until(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Read frames until one matches ``predicate``; return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame; got {self.frames[-5:]}")
            frame = await self.recv(remaining)
            if predicate(frame):
                return frame

    async def ack(self, key: str) -> dict[str, Any]:
        """The ack or error frame answering the send with ``key``."""
        return await self.until(
            lambda f: f["type"] in {"ack", "error"} and (f.get("key") == key or f.get("ref") == key)
        )

    async def subscribe(self, space: uuid.UUID, after: int | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "space": str(space)}
        if after is not None:
            frame["after"] = after
        await self.send(frame)
        return await self.until(lambda f: f["type"] in {"subscribed", "error"})

    def messages(self, space: uuid.UUID | None = None) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "message" and (space is None or f["space"] == str(space))]

    async def close(self) -> None:
        await self.ws.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    """Clients opened by a test are closed after it."""
    opened: list[Client] = []
    yield opened
    for c in opened:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(c.close(), 2)
