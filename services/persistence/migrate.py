"""Apply and inspect Alembic migrations programmatically (used by the CLI, serve and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"

# Serialises concurrent upgrades (several workers or test processes starting at once).
_LOCK_KEY = 0x4146_4649  # "AFFI"


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revisions() -> tuple[str, ...]:
    """The revisions the code expects (normally one)."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def _upgrade(connection: Connection) -> None:
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database schema to the newest revision (idempotent, safe to run concurrently)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def current_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions the database is at (empty for a new database)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def pending_revisions(current: tuple[str, ...]) -> list[str]:
    """Revisions between the database's current state and head, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    pending = []
    for rev in script.walk_revisions("base", "heads"):
        if current and rev.revision in _ancestors_and_self(script, current):
            continue
        pending.append(f"{rev.revision}  {rev.doc}")
    return list(reversed(pending))


def _ancestors_and_self(script: ScriptDirectory, current: tuple[str, ...]) -> set[str]:
    seen: set[str] = set()
    for rev in script.iterate_revisions(current, "base"):
        if rev is not None:
            seen.add(rev.revision)
    return seen
