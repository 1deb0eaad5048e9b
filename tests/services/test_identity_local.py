"""Local accounts: the sign-in form (CSRF, argon2id, rate limiting) and its pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.persistence.models.identity import LoginThrottle, WebSession
from tests.factories import make_account

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def person(db_session: AsyncSession) -> str:
    account = await make_account(db_session, email="pat@westwood.example", password_hash=hash_password(PASSWORD))
    await db_session.commit()
    return account.email


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def _post(client, email: str, password: str, csrf: str | None = None, next_url: str = "/auth/account"):
    if csrf is None:
        csrf = _csrf((await client.get("/auth/login")).text)
    data = {"email": email, "password": password, "csrf_token": csrf, "next": next_url}
    return await client.post("/auth/login", data=data, follow_redirects=False)


async def _sessions(db_session: AsyncSession) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(WebSession)) or 0)


async def test_local_sign_in_sets_a_secure_session_cookie(client, person, db_session) -> None:
    page = await client.get("/auth/login")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    r = await _post(client, person, PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/auth/account"
    cookie = r.headers["set-cookie"].lower()
    assert "affinity_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    account = await client.get("/auth/account")
    assert account.status_code == 200 and "pat@westwood.example" in account.text
    assert (await client.get("/api/v1/me")).status_code == 200
    row = await db_session.scalar(select(WebSession))
    assert row is not None and row.method == "local"
    assert r.headers["set-cookie"].split("affinity_session=")[1].split(";")[0].encode() not in row.token_hash


async def test_open_redirects_are_not_followed(client, person) -> None:
    r = await _post(client, person, PASSWORD, next_url="https://evil.example/")
    assert r.headers["location"] == "/"  # "My spaces"
    client.cookies.clear()
    r = await _post(client, person, PASSWORD, next_url="//evil.example/")
    assert r.headers["location"] == "/"


async def test_wrong_password_unknown_email_and_missing_csrf_are_refused(client, person, db_session) -> None:
    r = await _post(client, person, "wrong password!!")
    assert (
        r.status_code == 401 and "do not match" in r.text and "affinity_session=" not in r.headers.get("set-cookie", "")
    )
    r = await _post(client, "nobody@westwood.example", PASSWORD)
    assert r.status_code == 401
    r = await _post(client, person, PASSWORD, csrf="forged")
    assert r.status_code == 403 and "expired" in r.text
    r = await _post(client, "", "")
    assert r.status_code == 400
    assert await _sessions(db_session) == 0


async def test_repeated_failures_pause_sign_in_even_with_the_right_password(
    client, person, db_session, settings
) -> None:
    for _ in range(settings.login_max_failures):
        assert (await _post(client, person, "not the password")).status_code == 401
    r = await _post(client, person, PASSWORD)
    assert r.status_code == 429 and "too many failed sign-ins" in r.text.lower()
    assert await _sessions(db_session) == 0
    failures = await db_session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == "email:" + person))
    assert failures == settings.login_max_failures


async def test_success_resets_the_failure_count(client, person, db_session) -> None:
    assert (await _post(client, person, "nope nope nope")).status_code == 401
    assert (await _post(client, person, PASSWORD)).status_code == 303
    assert await db_session.scalar(select(LoginThrottle).where(LoginThrottle.key == "email:" + person)) is None
