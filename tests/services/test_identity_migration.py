"""Migration 0009: e-mail domains listed before claims existed become *pending* claims (they were
never checked by an operator), and going down keeps only approved ones."""

from __future__ import annotations

import uuid

import asyncpg
from alembic import command
from sqlalchemy import Connection

from services.persistence import migrate
from services.persistence.engine import create_engine, libpq_url
from tests.pg import with_database


async def test_listed_domains_become_pending_claims_and_go_back_down_only_if_approved(database_url: str) -> None:
    admin = with_database(database_url, "postgres")
    name = f"affinity_claims_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(libpq_url(admin))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = with_database(database_url, name)
    engine = create_engine(url, pool_size=1)

    def to(revision: str, *, down: bool = False):
        def run(connection: Connection) -> None:
            config = migrate.alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)

        return run

    try:
        async with engine.begin() as c:
            await c.run_sync(to("0008_identity_cleanup"))
        db = await asyncpg.connect(libpq_url(url))
        try:
            net = uuid.uuid4()
            await db.execute("INSERT INTO networks (id, slug, name, kind) VALUES ($1, 'kent', 'Kent', 'district')", net)
            await db.execute(
                """INSERT INTO upstream_providers (id, network_id, issuer, client_id, client_secret_enc, email_domains,
                   authorization_endpoint, token_endpoint, jwks_uri)
                   VALUES ($1, $2, 'https://idp', 'c', '\\x00', ARRAY['kent.example', 'Kent.Example', 'fed.org'],
                   'https://idp/a', 'https://idp/t', 'https://idp/j')""",
                uuid.uuid4(),
                net,
            )
        finally:
            await db.close()
        async with engine.begin() as c:
            await c.run_sync(to("0009_identity_hardening"))
        db = await asyncpg.connect(libpq_url(url))
        try:
            rows = await db.fetch("SELECT domain, status FROM email_domain_claims ORDER BY domain")
            assert [(r["domain"], r["status"]) for r in rows] == [("fed.org", "pending"), ("kent.example", "pending")]
            await db.execute("UPDATE email_domain_claims SET status = 'approved' WHERE domain = 'kent.example'")
        finally:
            await db.close()
        async with engine.begin() as c:
            await c.run_sync(to("0008_identity_cleanup", down=True))
        db = await asyncpg.connect(libpq_url(url))
        try:
            assert await db.fetchval("SELECT email_domains FROM upstream_providers") == ["kent.example"]
        finally:
            await db.close()
    finally:
        await engine.dispose()
        conn = await asyncpg.connect(libpq_url(admin))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
