"""Personal API tokens: shown once, stored hashed, expire, revoke, record last use."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.auth.tokens import hash_token, issue_token, revoke_token
from services.persistence.models import ApiToken
from tests.factories import bearer, make_account


async def test_token_is_stored_only_as_hash(db_session) -> None:
    account = await make_account(db_session)
    issued = await issue_token(db_session, account)
    await db_session.commit()
    assert issued.token.startswith("aff_") and len(issued.token) > 40
    row = await db_session.get(ApiToken, issued.id)
    assert row is not None and row.token_hash == hash_token(issued.token)
    assert issued.token not in repr(row.__dict__)


async def test_expired_and_revoked_tokens_are_refused(client, db_session) -> None:
    account = await make_account(db_session)
    old = await issue_token(db_session, account, expires_in_days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    live = await issue_token(db_session, account, expires_in_days=1)
    await db_session.commit()
    assert (await client.get("/api/v1/me", headers=bearer(old.token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(live.token))).status_code == 200
    await revoke_token(db_session, live.id)
    await db_session.commit()
    r = await client.get("/api/v1/me", headers=bearer(live.token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


async def test_use_is_recorded(client, db_session) -> None:
    account = await make_account(db_session)
    issued = await issue_token(db_session, account)
    await db_session.commit()
    assert (await client.get("/api/v1/me", headers=bearer(issued.token))).status_code == 200
    used = await db_session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == issued.id))
    assert used is not None


async def test_inactive_account_token_is_refused(client, db_session) -> None:
    account = await make_account(db_session)
    issued = await issue_token(db_session, account)
    account.is_active = False
    await db_session.commit()
    assert (await client.get("/api/v1/me", headers=bearer(issued.token))).status_code == 401


async def test_write_only_token_cannot_read(client, db_session) -> None:
    account = await make_account(db_session)
    issued = await issue_token(db_session, account, scopes=["write"])
    await db_session.commit()
    r = await client.get("/api/v1/me", headers=bearer(issued.token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
