"""The identity clean-up job: real rows on each side of every boundary, batches, the lifespan task."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.app import create_app
from services.identity import cleanup, crypto
from services.persistence.models.identity import (
    AuthorizationCode,
    LoginThrottle,
    OidcClient,
    OidcToken,
    PendingLogin,
    WebSession,
)
from services.settings import Settings
from tests.factories import make_account, make_network

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)
CUTOFF = NOW - cleanup.RETENTION


@pytest.fixture
async def base(db_session: AsyncSession) -> dict[str, uuid.UUID]:
    network = await make_network(db_session, slug="kent")
    account = await make_account(db_session)
    client = OidcClient(
        id=uuid.uuid4(),
        network_id=network.id,
        name="LMS",
        client_id="afc_" + uuid.uuid4().hex,
        secret_hash=crypto.digest("s"),
        redirect_uris=["https://lms.example/cb"],
    )
    db_session.add(client)
    await db_session.flush()
    return {"network": network.id, "account": account.id, "client": client.id}


def _session(base: dict[str, uuid.UUID], *, expires: dt.datetime, revoked: dt.datetime | None = None) -> WebSession:
    return WebSession(
        id=uuid.uuid4(),
        token_hash=crypto.digest(uuid.uuid4().hex),
        account_id=base["account"],
        method="local",
        last_seen_at=NOW - dt.timedelta(days=60),
        authenticated_at=NOW - dt.timedelta(days=60),
        expires_at=expires,
        revoked_at=revoked,
    )


def _token(
    base: dict[str, uuid.UUID],
    *,
    expires: dt.datetime,
    revoked: dt.datetime | None = None,
    session_id: uuid.UUID | None = None,
    kind: str = "access",
) -> OidcToken:
    return OidcToken(
        id=uuid.uuid4(),
        kind=kind,
        token_hash=crypto.digest(uuid.uuid4().hex),
        family_id=uuid.uuid4(),
        client_pk=base["client"],
        account_id=base["account"],
        session_id=session_id,
        scope="openid",
        auth_time=NOW - dt.timedelta(days=90),
        expires_at=expires,
        revoked_at=revoked,
    )


async def _ids(db_session: AsyncSession, model: type) -> set[object]:
    await db_session.rollback()  # a fresh snapshot
    key = model.key if model is LoginThrottle else model.id  # type: ignore[attr-defined]
    return set((await db_session.scalars(select(key))).all())


async def test_each_rule_deletes_only_past_its_boundary(
    engine: AsyncEngine, db_session: AsyncSession, settings: Settings, base: dict[str, uuid.UUID]
) -> None:
    window = dt.timedelta(minutes=settings.login_failure_window_minutes)
    keep: dict[type, set[object]] = {}
    gone: dict[type, set[object]] = {}

    def add(model: type, row: object, *, stays: bool) -> None:
        db_session.add(row)
        key = row.key if isinstance(row, LoginThrottle) else row.id  # type: ignore[attr-defined]
        (keep if stays else gone).setdefault(model, set()).add(key)

    # Pending sign-ins: expired goes, still valid (even at the exact instant) stays.
    for expires, stays in ((NOW - S, False), (NOW, True), (NOW + dt.timedelta(minutes=5), True)):
        add(
            PendingLogin,
            PendingLogin(
                id=uuid.uuid4(),
                state_hash=crypto.digest(uuid.uuid4().hex),
                browser_hash=crypto.digest("b"),
                network_id=base["network"],
                nonce="n",
                code_verifier="v" * 43,
                expires_at=expires,
            ),
            stays=stays,
        )
    # Sessions: expired or revoked beyond the retention window go, unless a token still points at them.
    old_session = _session(base, expires=CUTOFF - S)
    add(WebSession, old_session, stays=False)
    add(WebSession, _session(base, expires=CUTOFF + S), stays=True)
    add(WebSession, _session(base, expires=NOW + dt.timedelta(days=5), revoked=CUTOFF - S), stays=False)
    add(WebSession, _session(base, expires=NOW + dt.timedelta(days=5), revoked=CUTOFF + S), stays=True)
    add(WebSession, _session(base, expires=NOW + dt.timedelta(days=5)), stays=True)
    held = _session(base, expires=CUTOFF - dt.timedelta(days=10))  # a live refresh token still refers to it
    add(WebSession, held, stays=True)
    await db_session.flush()
    # Codes: one day after expiry.
    for expires, stays in ((NOW - cleanup.CODE_GRACE - S, False), (NOW - cleanup.CODE_GRACE + S, True)):
        add(
            AuthorizationCode,
            AuthorizationCode(
                id=uuid.uuid4(),
                code_hash=crypto.digest(uuid.uuid4().hex),
                client_pk=base["client"],
                account_id=base["account"],
                session_id=held.id,
                redirect_uri="https://lms.example/cb",
                scope="openid",
                code_challenge="c" * 43,
                auth_time=NOW,
                expires_at=expires,
            ),
            stays=stays,
        )
    # Tokens: expiry or revocation older than the retention window.
    add(OidcToken, _token(base, expires=CUTOFF - S, session_id=old_session.id), stays=False)
    add(OidcToken, _token(base, expires=CUTOFF + S), stays=True)
    add(OidcToken, _token(base, expires=NOW + dt.timedelta(days=5), revoked=CUTOFF - S), stays=False)
    add(OidcToken, _token(base, expires=NOW + dt.timedelta(days=5), revoked=CUTOFF + S), stays=True)
    add(OidcToken, _token(base, expires=NOW + dt.timedelta(days=20), session_id=held.id, kind="refresh"), stays=True)
    # Login-failure counters: once their window has passed.
    add(LoginThrottle, LoginThrottle(key="email:old@x", failures=3, window_start=NOW - window - S), stays=False)
    add(LoginThrottle, LoginThrottle(key="email:new@x", failures=3, window_start=NOW - window + S), stays=True)
    await db_session.commit()

    report = await cleanup.purge(engine, settings, now=NOW)

    assert report.deleted == {
        "pending_logins": 1,
        "authorization_codes": 1,
        "expired_tokens": 1,
        "revoked_tokens": 1,
        "expired_sessions": 1,
        "revoked_sessions": 1,
        "login_throttle": 1,
    }
    for model in (PendingLogin, WebSession, AuthorizationCode, OidcToken, LoginThrottle):
        assert await _ids(db_session, model) == keep[model], model.__name__
        assert not (await _ids(db_session, model)) & gone[model]
    # A second run finds nothing more.
    assert (await cleanup.purge(engine, settings, now=NOW)).total == 0


async def test_deletes_in_batches(
    engine: AsyncEngine, db_session: AsyncSession, settings: Settings, base: dict[str, uuid.UUID]
) -> None:
    for _ in range(25):
        db_session.add(_token(base, expires=CUTOFF - dt.timedelta(days=1)))
    db_session.add(_token(base, expires=NOW))
    await db_session.commit()
    report = await cleanup.purge(engine, settings, now=NOW, batch=7)  # 7 + 7 + 7 + 4
    assert report.deleted["expired_tokens"] == 25
    await db_session.rollback()
    assert await db_session.scalar(select(func.count()).select_from(OidcToken)) == 1


async def test_the_app_runs_the_clean_up_in_its_lifespan(
    db_session: AsyncSession, settings: Settings, base: dict[str, uuid.UUID]
) -> None:
    db_session.add(LoginThrottle(key="ip:203.0.113.9", failures=1, window_start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    await db_session.commit()
    app = create_app(settings)
    app.state.identity_cleanup_every = 0.05
    async with AsyncTestClient(app=app):
        for _ in range(100):
            await db_session.rollback()
            if not await db_session.scalar(select(func.count()).select_from(LoginThrottle)):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the lifespan's clean-up task did not run")
        task = app.state.identity_cleanup.task
    assert task.done()  # stopped with the app
