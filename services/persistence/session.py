"""Request-scoped database sessions and after-commit side effects."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("affinity.db")

_AFTER_COMMIT = "affinity_after_commit"

REQUEST_SESSION_KEY = "affinity_db_session"
"""Where the authentication middleware leaves the request's database session for the
``db_session`` dependency (so both share one connection and one transaction)."""
REQUEST_SESSION_USED_KEY = "affinity_db_session_used"
"""Set when the handler used that session (the middleware then leaves closing it to us)."""


def on_commit(session: AsyncSession, callback: Callable[[], Awaitable[Any]]) -> None:
    """Run ``callback`` after this session's transaction commits; drop it on rollback.

    Side effects that leave the process (broker publish, e-mail) go through here so no one
    ever sees an event for a write that did not happen.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit and then run the after-commit callbacks registered with :func:`on_commit`."""
    await session.commit()
    callbacks = session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")


async def rollback(session: AsyncSession) -> None:
    """Roll back and forget the after-commit callbacks."""
    session.info.pop(_AFTER_COMMIT, None)
    await session.rollback()


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """One session and one transaction per request.

    Commits when the handler returns normally, rolls back when it raises (so a refused write
    changes nothing). Handlers and services never commit themselves. When the authentication
    middleware already opened the request's session (to check its credential), this is that
    session, so authentication and the handler share one connection and one transaction.
    """
    state = request.scope.get("state", {})
    existing: AsyncSession | None = state.get(REQUEST_SESSION_KEY)
    if existing is not None:
        state[REQUEST_SESSION_USED_KEY] = True
        async with _transaction(existing) as session:
            yield session
        return
    async with request.app.state.sessionmaker() as session, _transaction(session):
        yield session


@asynccontextmanager
async def _transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    try:
        yield session
    except BaseException:
        await rollback(session)
        raise
    else:
        await commit(session)
