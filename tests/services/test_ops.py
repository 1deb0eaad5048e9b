"""Operational endpoints, request ids, metrics hygiene, and the error envelope for failures."""

from __future__ import annotations

import asyncio

import msgspec
from litestar.testing import AsyncTestClient

from services.app import create_app
from tests.factories import bearer, make_account, make_network, make_token


async def test_health_and_ready(client) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200 and r.json()["checks"]["database"] == "ok"


async def test_ready_is_503_naming_what_is_down(settings) -> None:
    broken = msgspec.structs.replace(settings, database_url="postgresql://nobody@127.0.0.1:1/none")
    async with AsyncTestClient(app=create_app(broken)) as c:
        r = await c.get("/ready")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "unavailable" and body["checks"]["database"] != "ok"
        assert (await c.get("/health")).status_code == 200


async def test_request_id_is_echoed_or_made(client) -> None:
    r = await client.get("/health", headers={"X-Request-ID": "abcdef123456"})
    assert r.headers["x-request-id"] == "abcdef123456"
    r = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 32


async def test_metrics_use_route_templates_not_raw_paths(client, db_session) -> None:
    account = await make_account(db_session)
    network = await make_network(db_session, slug="secret-slug-net")
    token = await make_token(db_session, account)
    await db_session.commit()
    await client.get(f"/api/v1/networks/{network.slug}", headers=bearer(token))
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/networks/{slug}"' in text
    assert "secret-slug-net" not in text
    assert str(account.id) not in text


async def test_openapi_document_is_served(client) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/health", "/ready", "/metrics", "/api/v1/me", "/api/v1/networks", "/api/v1/networks/{slug}"):
        assert path in paths, path


async def test_an_authenticated_request_uses_one_connection(app, client, db_session) -> None:
    from sqlalchemy import event

    account = await make_account(db_session)
    token = await make_token(db_session, account)
    network = await make_network(db_session)
    await db_session.commit()
    await client.get("/ready")  # let start-up jobs (e.g. the chat retention sweep) finish first
    await asyncio.sleep(0.3)
    checkouts: list[object] = []
    event.listen(app.state.engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    r = await client.get(f"/api/v1/networks/{network.slug}", headers=bearer(token))
    assert r.status_code == 200
    assert len(checkouts) == 1, "authentication and the handler must share the request's connection"


async def test_database_outage_is_a_503_with_a_retry_hint(settings) -> None:
    broken = msgspec.structs.replace(settings, database_url="postgresql://nobody@127.0.0.1:1/none")
    async with AsyncTestClient(app=create_app(broken)) as c:
        r = await c.get("/api/v1/me", headers=bearer("aff_some-token"))
        assert r.status_code == 503, r.text
        body = r.json()["error"]
        assert body["code"] == "database_unavailable" and "try again" in body["message"].lower()
        assert r.headers.get("retry-after")


async def test_after_a_database_restart_one_request_gets_503_then_service_resumes(app, client, db_session) -> None:
    import asyncpg

    from services.persistence.engine import libpq_url

    account = await make_account(db_session)
    token = await make_token(db_session, account)
    await db_session.commit()
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
    # What a restart or failover does to the app's pooled connections: the server ends them.
    url = app.state.settings.database_url
    admin = await asyncpg.connect(libpq_url(url))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'affinity'"
        )
    finally:
        await admin.close()
    assert killed >= 1
    first = await client.get("/api/v1/me", headers=bearer(token))
    assert first.status_code == 503 and first.json()["error"]["code"] == "database_unavailable"
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200


async def test_database_errors_do_not_carry_parameters_into_logs(engine) -> None:
    import uuid as _uuid

    from sqlalchemy import text as sql
    from sqlalchemy.exc import DBAPIError

    from services.persistence.engine import create_engine

    app_engine = create_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    secret = str(_uuid.uuid4())
    try:
        async with app_engine.connect() as conn:
            await conn.execute(
                sql("INSERT INTO space_members (space_id, account_id) VALUES (:s, :a)"), {"s": secret, "a": secret}
            )
    except DBAPIError as exc:
        assert secret not in str(exc)
    else:
        raise AssertionError("the insert should have failed (no such space)")
    finally:
        await app_engine.dispose()
