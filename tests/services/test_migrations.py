"""The schema the migrations build is the one the models describe, and migrations go down and up."""

from __future__ import annotations

import uuid

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from services.persistence import migrate
from services.persistence.base import Base
from services.persistence.engine import create_engine, libpq_url
from services.persistence.models import *  # noqa: F403  (register every model)
from tests.pg import with_database


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_the_migrated_schema(engine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations disagree; add a migration: {diff}"


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    # On a database of its own: the shared test database must keep its schema.
    admin = with_database(database_url, "postgres")
    name = f"affinity_migrate_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(libpq_url(admin))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    engine = create_engine(with_database(database_url, name), pool_size=1)
    try:
        await migrate.upgrade(engine)

        def down_and_up(connection: Connection) -> None:
            config = migrate.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            command.upgrade(config, "head")

        async with engine.begin() as c:
            await c.run_sync(down_and_up)
        assert await migrate.current_revisions(engine) == migrate.head_revisions()
    finally:
        await engine.dispose()
        conn = await asyncpg.connect(libpq_url(admin))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
