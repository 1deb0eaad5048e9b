"""Engine and session factory built from settings (only the composition root calls these)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """Turn any postgres URL into the SQLAlchemy asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://...")


def libpq_url(url: str) -> str:
    """Turn any postgres URL into the plain libpq form (for asyncpg.connect and psql)."""
    return "postgresql://" + async_url(url)[len("postgresql+asyncpg://") :]


CLIENT_GRACE_SECONDS = 2.0
"""How much longer than the server's statement_timeout the client waits for an answer. The
server normally cancels first (a clean error); the client-side limit covers a database that
does not answer at all (frozen, partitioned), where a server-side timeout never fires."""


def connect_args(
    *, connect_timeout: float = 5, statement_timeout: float = 15, application_name: str = "affinity"
) -> dict[str, Any]:
    """asyncpg connection arguments that bound every wait on the database.

    ``timeout`` covers opening a connection (socket and authentication); ``statement_timeout``
    is enforced by the server, ``command_timeout`` by the client a little later.
    """
    return {
        "timeout": connect_timeout,
        "command_timeout": statement_timeout + CLIENT_GRACE_SECONDS,
        "server_settings": {
            "application_name": application_name,
            "statement_timeout": str(int(statement_timeout * 1000)),
        },
    }


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    application_name: str = "affinity",
    connect_timeout: float = 5,
    pool_timeout: float = 5,
    statement_timeout: float = 15,
) -> AsyncEngine:
    """Create the process's async engine; its connections show as ``application_name`` in pg_stat_activity.

    Every wait is bounded (docs/operations.md, "Timeouts"): connecting, waiting for a pooled
    connection, and each statement; a request that hits one gets a 503 with Retry-After.
    """
    return create_async_engine(
        async_url(url),
        connect_args=connect_args(
            connect_timeout=connect_timeout, statement_timeout=statement_timeout, application_name=application_name
        ),
        pool_timeout=pool_timeout,
        # Error messages would otherwise carry statement parameters into logs (e.g. which
        # account joined which identity space when an insert fails).
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it is a round trip on every checkout (~15% of a typical API request,
        # bench/policy.py --http). After a database restart the first use of each stale
        # connection fails, SQLAlchemy then invalidates the pool, and the request gets a 503
        # with Retry-After (services/errors.py) instead of a 500.
        pool_pre_ping=False,
        pool_recycle=1800,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no implicit refresh I/O)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
