"""Engine and session factory built from settings (only the composition root calls these)."""

from __future__ import annotations

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


def create_engine(url: str, *, pool_size: int = 10, application_name: str = "affinity") -> AsyncEngine:
    """Create the process's async engine; its connections show as ``application_name`` in pg_stat_activity."""
    return create_async_engine(
        async_url(url),
        connect_args={"server_settings": {"application_name": application_name}},
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
