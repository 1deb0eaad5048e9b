"""Cookie-authenticated writes must come from our own origin (CSRF defence in the API guard)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

import services.app
from services.app import create_app
from services.auth.principal import Principal
from tests.factories import make_account


async def _session_cookie_resolver(_: AsyncSession, cookies: Mapping[str, str]) -> Principal | None:
    # Stands in for the identity area's real session store: this test is about the guard.
    raw = cookies.get("affinity_session")
    return Principal(account_id=uuid.UUID(raw), is_operator=True, via="session") if raw else None


@pytest.fixture
async def session_client(settings, monkeypatch, db_session):
    account = await make_account(db_session, operator=True)
    await db_session.commit()
    monkeypatch.setattr(services.app, "_cookie_resolvers", lambda: [_session_cookie_resolver])
    settings = msgspec.structs.replace(settings, public_url="http://affinity.local")
    async with AsyncTestClient(app=create_app(settings), base_url="http://affinity.local") as c:
        c.cookies.set("affinity_session", str(account.id))
        yield c


BODY = {"slug": "csrf-net", "name": "CSRF", "kind": "other"}


async def test_same_origin_write_is_accepted(session_client) -> None:
    r = await session_client.post("/api/v1/networks", json=BODY, headers={"Origin": "http://affinity.local"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {"Origin": "null"}],
    ids=["no-origin", "foreign-origin", "foreign-referer", "null-origin"],
)
async def test_cross_site_write_with_cookie_is_refused(session_client, headers) -> None:
    r = await session_client.post("/api/v1/networks", json=BODY, headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = await session_client.get("/api/v1/networks/csrf-net", headers={"Origin": "http://affinity.local"})
    assert r.status_code == 404


async def test_reads_with_cookie_need_no_origin(session_client) -> None:
    assert (await session_client.get("/api/v1/me")).status_code == 200
