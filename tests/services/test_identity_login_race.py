"""The password limit holds under real concurrency (issue 9 item 2).

A real uvicorn server on loopback; 30 sign-in form posts sent at once. Before the fix each
request read the failure count inside its own transaction, so none saw the others' failures:
27 passwords were checked and the right one signed in. Attempts are now counted before the
password is checked, in a transaction of their own, so at most the limit are checked.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator

import httpx
import msgspec
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.app import create_app
from services.identity import local
from services.persistence.models.identity import WebSession
from services.settings import Settings
from tests.factories import make_account

PASSWORD = "correct horse battery staple"


class _Server:
    def __init__(self, settings: Settings) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        app = create_app(msgspec.structs.replace(settings, port=self.port))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every password the server checks (the real argon2 check still runs)."""
    seen: list[str] = []
    lock = threading.Lock()
    real = local.verify_password

    def counting(password_hash: str, password: str) -> bool:
        with lock:
            seen.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(local, "verify_password", counting)
    yield seen


async def _form(http: httpx.AsyncClient) -> str:
    page = await http.get("/auth/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def _burst(base: str, posts: list[dict[str, str]]) -> list[int]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        csrf = await _form(http)

        async def one(data: dict[str, str]) -> int:
            r = await http.post("/auth/login", data={**data, "csrf_token": csrf, "next": "/"})
            return r.status_code

        return list(await asyncio.gather(*(one(d) for d in posts)))


async def test_thirty_concurrent_attempts_check_at_most_the_email_limit(
    settings: Settings, db_session: AsyncSession, checks: list[str]
) -> None:
    await make_account(db_session, email="pat@westwood.example", password_hash=hash_password(PASSWORD))
    await db_session.commit()
    posts = [{"email": "pat@westwood.example", "password": f"wrong guess {n:02d}"} for n in range(29)]
    posts.append({"email": "pat@westwood.example", "password": PASSWORD})
    with _Server(settings) as base:
        statuses = await _burst(base, posts)
    limit = settings.login_max_failures
    print(f"30 concurrent sign-ins: {len(checks)} password checks, statuses {sorted(statuses)}")
    assert len(checks) <= limit, f"{len(checks)} passwords checked against a limit of {limit}"
    assert statuses.count(429) >= len(posts) - limit
    assert set(statuses) <= {401, 429, 303}
    signed_in = int(await db_session.scalar(select(func.count()).select_from(WebSession)) or 0)
    assert signed_in == statuses.count(303) and (signed_in == 0 or PASSWORD in checks)


async def test_thirty_concurrent_attempts_on_many_addresses_check_at_most_the_client_limit(
    settings: Settings, checks: list[str]
) -> None:
    posts = [{"email": f"person{n}@westwood.example", "password": "wrong guess"} for n in range(30)]
    with _Server(settings) as base:
        statuses = await _burst(base, posts)
    assert len(checks) <= settings.login_max_failures * 4
    assert statuses.count(429) >= 30 - settings.login_max_failures * 4
