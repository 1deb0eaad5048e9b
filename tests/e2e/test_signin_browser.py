"""A real browser (Debian chromium via Playwright) signs in with a password and signs out,
against the app served by a real uvicorn server on a free loopback port."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from tests.factories import make_account

pytestmark = pytest.mark.slow


async def test_password_sign_in_and_sign_out_in_a_browser(served: str, db_session: AsyncSession, browser) -> None:
    await make_account(db_session, email="rae@westwood.example", password_hash=hash_password("a long enough password"))
    await db_session.commit()
    page = await browser.new_page()
    await page.goto(served + "/auth/login")
    await page.get_by_label("E-mail address").fill("rae@westwood.example")
    await page.get_by_label("Password").fill("wrong password entirely")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    assert "do not match" in await page.content()
    await page.get_by_label("Password").fill("a long enough password")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(served + "/")  # after sign-in: "My spaces"
    await page.goto(served + "/auth/account")
    assert "rae@westwood.example" in await page.content()
    await page.get_by_role("button", name="Sign out").first.click()
    await page.wait_for_url(served + "/auth/signed-out")
    assert "You are signed out" in await page.content()
    await page.goto(served + "/auth/account")
    assert page.url.startswith(served + "/auth/login")
