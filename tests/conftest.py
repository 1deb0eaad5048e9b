"""Shared fixtures: a real PostgreSQL database per test process, built by the migrations.

Each pytest process (each xdist worker) creates its own database, applies ``alembic upgrade
head`` once, and truncates every table after each test, so tests are isolated and can run in
parallel. Nothing here uses ``create_all``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.app import create_app
from services.persistence import migrate
from services.persistence.engine import create_engine, create_sessionmaker, libpq_url
from services.settings import Settings
from tests.pg import admin_url, with_database


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database for this test process, migrated to head; dropped at the end."""
    admin = admin_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"affinity_test_{uuid.uuid4().hex[:8]}_{worker}"
    conn = await asyncpg.connect(libpq_url(admin))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(admin, name)
    engine = create_engine(url, pool_size=2)
    await migrate.upgrade(engine)
    await engine.dispose()
    yield url
    conn = await asyncpg.connect(libpq_url(admin))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """One engine for the test process."""
    eng = create_engine(database_url, pool_size=5, application_name="affinity-tests")
    yield eng
    await eng.dispose()


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every table after each test that touched the database."""
    yield
    if "database_url" not in request.fixturenames:
        return
    url: str = request.getfixturevalue("database_url")
    conn = await asyncpg.connect(libpq_url(url))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        if tables:
            await conn.execute("TRUNCATE " + ", ".join(f'"{t["tablename"]}"' for t in tables) + " CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app under test: the test database, a throwaway data folder."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-" + "x" * 40,
        environment="test",
        broker="memory",
        log_format="console",
        log_level="WARNING",
    )


@pytest.fixture
async def db_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for arranging and inspecting data; commit explicitly to make data visible to the app."""
    async with create_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """The application under test. It owns its engine: the test client runs it on its own event loop."""
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client talking to the app in-process (lifespan runs)."""
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c
