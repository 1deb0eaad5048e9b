"""Start and stop the chat machinery inside the app's lifespan: broker, gateway, retention job."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from realtime.brokers import Broker
from realtime.gateway import Gateway, GatewayConfig
from realtime.hub import Observer
from services.chat import recheck, repository
from services.chat.adapters import ChatAuthenticator, PostingRules, SqlMessageStore, SqlRoomAccess
from services.errors import database_unavailable
from services.persistence.engine import connect_args, libpq_url
from services.readiness import ReadinessCheck
from services.settings import Settings
from services.spaces import governing

log = logging.getLogger("affinity.chat")

RETENTION_EVERY = 3600.0
"""Seconds between retention purges."""


async def warm(pool: asyncpg.Pool, size: int, *, within: float) -> int:
    """Open ``size`` of the send pool's connections now, so the first sends after start-up do not
    queue behind connections being opened (bench/ws_fanout.py: with 16 opened on demand under
    load, the first seconds' sends waited up to ~0.8 s). Best effort for ``within`` seconds: a
    database that is away at start-up leaves the pool to connect on demand. Returns how many
    were opened."""
    opened: list[Any] = []

    async def one() -> None:
        opened.append(await pool.acquire())  # kept as soon as it is open: released below whatever happens

    try:
        async with asyncio.timeout(within):
            await asyncio.gather(*(one() for _ in range(size)), return_exceptions=True)
    except TimeoutError:
        pass  # reported below with the count
    finally:
        for conn in opened:
            await pool.release(conn)
    if len(opened) < size:
        log.warning(
            "the chat send pool opened %d of %d connections within %s s; the rest open on demand",
            len(opened),
            size,
            within,
        )
    return len(opened)


async def _keep(_conn: asyncpg.Connection) -> None:
    """Connections return to the send pool as they are: the send path runs single autocommitted
    statements and changes no session state, so asyncpg's reset round trip is not needed."""


def make_broker(settings: Settings) -> Broker:
    """The broker ``settings`` ask for (``effective_broker``: PostgreSQL unless told otherwise)."""
    kind = settings.effective_broker
    if kind == "memory":
        from realtime.brokers.memory import MemoryBroker

        return MemoryBroker()
    if kind == "redis":
        from realtime.brokers.redis import RedisBroker

        assert settings.redis_url
        return RedisBroker(settings.redis_url)
    from realtime.brokers.postgres import PostgresBroker

    return PostgresBroker(libpq_url(settings.database_url or ""))


def allowed_origins(settings: Settings) -> frozenset[str]:
    """The service's own origin plus ``AFFINITY_ALLOWED_ORIGINS``."""
    parts = urlsplit(settings.base_url)
    own = f"{parts.scheme}://{parts.netloc}"
    return frozenset({own, *settings.allowed_origins})


async def purge_expired(
    engine: AsyncEngine,
    now: dt.datetime | None = None,
    notify: Callable[[uuid.UUID, dt.datetime], None] | None = None,
) -> int:
    """Delete messages past their space's *governing* ``chat.retention_days``; return how many.

    The value is the one that governs the space (``services.spaces.governing``): a template's
    bound pulls a longer setting (or "keep forever") down to it, like every other area reads a
    policy value. Two queries per network that has chat rooms decide every space's value.

    One space at a time, each in its own transaction: a space whose stored value is unusable
    (from before values were bounded, or written around the API) is logged and governed as if
    it had no setting, and a failure in one space never stops the purge of the others.
    ``notify(space, before)`` runs after each space's commit when it lost messages, so connected
    clients get a ``purged`` frame instead of silence.
    """
    now = now or dt.datetime.now(dt.UTC)
    cutoffs: dict[uuid.UUID, dt.datetime] = {}
    async with AsyncSession(engine) as session:
        for network, rooms in (await repository.rooms_by_network(session)).items():
            try:
                governed = await governing.in_network(session, network, "chat.retention_days", set(rooms))
            except Exception:
                log.exception("chat retention: the policy of network %s could not be read; its spaces wait", network)
                await session.rollback()
                continue
            for space, found in governed.items():
                if found.unusable is not None:
                    log.warning(
                        "chat retention: space %s has an unusable chat.retention_days (%s); its governing value "
                        "without it applies",
                        space,
                        found.unusable,
                    )
                if isinstance(found.value, int) and not isinstance(found.value, bool):
                    cutoffs[space] = now - dt.timedelta(days=found.value)
    total = 0
    for space, cutoff in cutoffs.items():
        try:
            async with engine.begin() as conn:
                purged = await repository.purge_space(conn, space, cutoff)
        except Exception:
            log.exception("chat retention purge failed for space %s; the other spaces continue", space)
            continue
        total += purged
        if purged and notify is not None:
            notify(space, cutoff)
    if total:
        log.info("chat retention purged %d message(s)", total)
    return total


@dataclass
class ChatRuntime:
    """What the lifespan keeps: the gateway (ASGI app for /ws) and the retention task."""

    gateway: Gateway
    retention: asyncio.Task[None]
    send_pool: asyncpg.Pool | None = None

    async def stop(self) -> None:
        self.retention.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.retention
        await self.gateway.stop()
        if self.send_pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send_pool.close(), timeout=5)


async def start_chat(state: Any, settings: Settings) -> ChatRuntime:
    """Build and start the chat machinery; register the broker's readiness check.

    The send limit and queue bound come from ``settings`` (``AFFINITY_CHAT_SEND_*``); tests may
    set ``state.gateway_config`` (a :class:`GatewayConfig`) before start-up to use other limits.
    """
    engine: AsyncEngine = state.engine
    metrics = state.metrics
    config: GatewayConfig = getattr(state, "gateway_config", None) or GatewayConfig(
        send_rate=float(settings.chat_send_rate),
        send_burst=settings.chat_send_burst,
        send_queue_limit=settings.chat_send_queue,
    )
    if not config.allowed_origins:
        config = GatewayConfig(**{**config.__dict__, "allowed_origins": allowed_origins(settings)})
    broker = make_broker(settings)
    send_pool = await asyncpg.create_pool(
        libpq_url(engine.url.render_as_string(hide_password=False)),
        min_size=0,
        max_size=settings.chat_send_pool,
        reset=_keep,
        max_inactive_connection_lifetime=300.0,
        # Same bounded waits as the engine, so a frozen database cannot hang a websocket send.
        **connect_args(connect_timeout=settings.db_connect_timeout, statement_timeout=settings.db_statement_timeout),
    )
    await warm(send_pool, settings.chat_send_pool, within=settings.db_connect_timeout)
    posting = PostingRules(engine)  # one cache for subscribe and send
    gateway = Gateway(
        authenticator=ChatAuthenticator(state.authenticator),
        store=SqlMessageStore(engine, posting, send_pool),
        access=SqlRoomAccess(engine, posting),
        broker=broker,
        config=config,
        observer=Observer(
            delivered=metrics.deliveries.inc, connections=metrics.websockets.inc, stored=metrics.messages.inc
        ),
        transient=database_unavailable,
    )
    await gateway.start()

    async def access_changed() -> None:
        gateway.access_changed()

    recheck.install(state.sessionmaker, access_changed)
    state.readiness_checks.append(ReadinessCheck(f"broker ({broker.name})", broker.ping))

    async def retention_loop() -> None:
        while True:
            try:
                await purge_expired(engine, notify=gateway.announce_purged)
            except Exception:
                log.exception("chat retention purge failed; retrying in an hour")
            await asyncio.sleep(RETENTION_EVERY)

    return ChatRuntime(
        gateway=gateway, retention=asyncio.get_running_loop().create_task(retention_loop()), send_pool=send_pool
    )
