"""Read-only routes (``opt={READ_ONLY: True}``): reads run without BEGIN/COMMIT, nothing else does."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from services.auth.resolve import READ_ONLY, Authenticator
from services.persistence.engine import create_engine, create_sessionmaker
from services.persistence.models import ApiToken
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every transaction an HTTP request's asyncpg connection starts (what SQLAlchemy's BEGIN
    becomes); the app's background jobs and the test's own session are not counted."""
    started: list[str] = []
    original = asyncpg.connection.Connection.transaction

    def spy(self: Any, **kwargs: Any) -> Any:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_qualname != "AuthenticationMiddleware.__call__":
            frame = frame.f_back  # type: ignore[assignment]
        if frame is not None:
            started.append(str(kwargs.get("isolation")))
        return original(self, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, "transaction", spy)
    return started


async def test_chat_history_and_search_run_without_a_transaction(client, db_session, transactions) -> None:
    network = await make_network(db_session)
    reader = await make_account(db_session)
    await add_member(db_session, network, reader)
    space = await make_space(db_session, network, kind="topic")
    await add_space_member(db_session, space, reader)
    token = await make_token(db_session, reader)
    await db_session.commit()
    headers = bearer(token)

    transactions.clear()
    r = await client.get(f"/api/v1/spaces/{space.id}/messages", params={"before": 10}, headers=headers)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get("/api/v1/search", params={"q": "hello"}, headers=headers)
    assert r.status_code == 200 and r.json()["items"] == []
    assert transactions == []
    # The credential's bookkeeping (one statement) still lands without a transaction around it.
    used = await db_session.scalar(select(ApiToken.last_used_at).where(ApiToken.account_id == reader.id))
    assert used is not None
    await db_session.commit()

    transactions.clear()
    # A route that is not marked keeps its transaction, and so does a write to a marked path.
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert len(transactions) == 1
    r = await client.post(f"/api/v1/spaces/{space.id}/messages", json={"body": "hi", "key": "k1"}, headers=headers)
    assert r.status_code == 201
    assert len(transactions) == 2


async def test_refusals_are_unchanged_on_read_only_routes(client, db_session, transactions) -> None:
    network = await make_network(db_session)
    outsider = await make_account(db_session)
    await add_member(db_session, network, outsider)
    space = await make_space(db_session, network, kind="identity", visibility="unlisted")
    token = await make_token(db_session, outsider)
    await db_session.commit()
    r = await client.get(f"/api/v1/spaces/{space.id}/messages", params={"before": 10}, headers=bearer(token))
    assert r.status_code in {403, 404}
    r = await client.get("/api/v1/search", params={"q": "x", "space": str(space.id)}, headers=bearer(token))
    assert r.status_code == 404
    assert (await client.get("/api/v1/search", params={"q": "x"})).status_code == 401
    assert transactions == []


def test_only_reads_of_marked_routes_get_the_autocommit_bind() -> None:
    ordinary = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    autocommit = ordinary.execution_options(isolation_level="AUTOCOMMIT")
    auth = Authenticator(sessionmaker=create_sessionmaker(ordinary), read_bind=autocommit)
    marked = SimpleNamespace(opt={READ_ONLY: True})
    plain = SimpleNamespace(opt={})
    cases = [
        ("GET", marked, autocommit),
        ("HEAD", marked, autocommit),
        ("POST", marked, ordinary),
        ("DELETE", marked, ordinary),
        ("GET", plain, ordinary),
        ("GET", None, ordinary),
    ]
    for method, handler, bind in cases:
        scope: Any = {"type": "http", "method": method, "route_handler": handler}
        assert auth.session_for(scope).bind is bind, (method, handler)
    without: Any = {"type": "http", "method": "GET", "route_handler": marked}
    assert Authenticator(sessionmaker=create_sessionmaker(ordinary)).session_for(without).bind is ordinary


async def test_a_pooled_connection_goes_back_to_transactions_after_a_read_only_request(database_url) -> None:
    engine = create_engine(database_url, pool_size=1)
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # one connection, reused every time
    sessions = create_sessionmaker(engine)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    xid = text("SELECT txid_current()")
    try:
        for bind, one_transaction in ((None, True), (autocommit, False), (None, True)):
            async with sessions() if bind is None else sessions(bind=bind) as session:
                first, second = await session.scalar(xid), await session.scalar(xid)
                await session.commit()
            assert (first == second) is one_transaction
    finally:
        await engine.dispose()
