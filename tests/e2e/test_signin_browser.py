"""A real browser (Debian chromium via Playwright) signs in with a password and signs out,
against the app served by a real uvicorn server on a free loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import msgspec
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.app import create_app
from services.settings import Settings
from tests.factories import make_account

pytestmark = pytest.mark.slow
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(msgspec.structs.replace(settings, public_url=base, port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield base
    server.should_exit = True
    thread.join(10)


async def test_password_sign_in_and_sign_out_in_a_browser(served: str, db_session: AsyncSession) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    await make_account(db_session, email="rae@westwood.example", password_hash=hash_password("a long enough password"))
    await db_session.commit()
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(served + "/auth/login")
            await page.get_by_label("E-mail address").fill("rae@westwood.example")
            await page.get_by_label("Password").fill("wrong password entirely")
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_load_state()
            assert "do not match" in await page.content()
            await page.get_by_label("Password").fill("a long enough password")
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(served + "/auth/account")
            assert "rae@westwood.example" in await page.content()
            await page.get_by_role("button", name="Sign out").click()
            await page.wait_for_url(served + "/auth/signed-out")
            assert "You are signed out" in await page.content()
            await page.goto(served + "/auth/account")
            assert page.url.startswith(served + "/auth/login")
        finally:
            await browser.close()
