"""Browser sessions and the requests around them (issue 9 item 3, issue 10 item 3).

- Signing in as someone else over a live session ends that session and its tokens.
- Forwarded client addresses are believed only from configured proxies (a real uvicorn server
  with the options ``affinity serve`` uses).
- Every form post of the identity area passes the one CSRF/Origin guard.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import httpx
import msgspec
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.app import create_app
from services.cli import _server_options
from services.identity import sessions
from services.persistence.models.identity import LoginThrottle, WebSession
from services.settings import Settings
from tests.factories import make_account

PASSWORD = "correct horse battery staple"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _sign_in(client, email: str, password: str = PASSWORD):
    csrf = _csrf((await client.get("/auth/login")).text)
    data = {"email": email, "password": password, "csrf_token": csrf, "next": "/auth/account"}
    return await client.post("/auth/login", data=data, follow_redirects=False)


@pytest.fixture
async def two_people(db_session: AsyncSession) -> tuple[str, str]:
    for email in ("ana@westwood.example", "ben@westwood.example"):
        await make_account(db_session, email=email, password_hash=hash_password(PASSWORD))
    await db_session.commit()
    return "ana@westwood.example", "ben@westwood.example"


async def test_signing_in_as_someone_else_ends_the_previous_session(client, two_people, db_session) -> None:
    ana, ben = two_people
    assert (await _sign_in(client, ana)).status_code == 303
    ana_cookie = client.cookies.get(sessions.SESSION_COOKIE)
    r = await _sign_in(client, ben)
    assert r.status_code == 303
    assert client.cookies.get(sessions.SESSION_COOKIE) != ana_cookie
    live = [w for w in await db_session.scalars(select(WebSession)) if w.revoked_at is None]
    assert len(live) == 1
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == ben
    # Ana's old cookie no longer opens anything.
    client.cookies.clear()
    client.cookies.set(sessions.SESSION_COOKIE, ana_cookie or "")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_signing_in_again_as_the_same_person_keeps_one_session(client, two_people, db_session) -> None:
    ana, _ = two_people
    await _sign_in(client, ana)
    await _sign_in(client, ana)
    sessions_ = list(await db_session.scalars(select(WebSession)))
    assert len(sessions_) == 1 and sessions_[0].revoked_at is None


# --- forwarded addresses -------------------------------------------------------------------------


class _Served:
    """``create_app`` under uvicorn with exactly the options ``affinity serve`` passes."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        settings = msgspec.structs.replace(settings, host="127.0.0.1", port=port)
        options = {**_server_options(settings), "log_level": "warning"}
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


async def _failed_sign_in_from(base: str, forwarded_for: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        csrf = _csrf((await http.get("/auth/login")).text)
        r = await http.post(
            "/auth/login",
            data={"email": "nobody@westwood.example", "password": "wrong", "csrf_token": csrf},
            headers={"X-Forwarded-For": forwarded_for},
        )
        assert r.status_code == 401


async def _counted_addresses(db_session: AsyncSession) -> set[str]:
    await db_session.rollback()
    keys = await db_session.scalars(select(LoginThrottle.key).where(LoginThrottle.key.startswith("ip:")))
    return {k.removeprefix("ip:") for k in keys}


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_configured_proxy(settings, db_session) -> None:
    assert settings.trusted_proxies == ()  # the default: no proxy, not even loopback
    with _Served(settings) as base:
        await _failed_sign_in_from(base, "203.0.113.9")
    assert await _counted_addresses(db_session) == {"127.0.0.1"}


async def test_forwarded_for_is_believed_from_a_configured_proxy(settings, db_session) -> None:
    with _Served(msgspec.structs.replace(settings, trusted_proxies=("127.0.0.0/8",))) as base:
        await _failed_sign_in_from(base, "203.0.113.9")
    assert await _counted_addresses(db_session) == {"203.0.113.9"}


def test_trusted_proxies_setting_is_parsed_and_checked() -> None:
    from services.settings import SettingsError

    parsed = Settings.from_env({"AFFINITY_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"})
    assert parsed.trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    assert _server_options(parsed)["proxy_headers"] is True
    assert _server_options(Settings())["proxy_headers"] is False
    with pytest.raises(SettingsError, match="AFFINITY_TRUSTED_PROXIES"):
        Settings.from_env({"AFFINITY_TRUSTED_PROXIES": "proxy.internal"})


# --- the one form guard --------------------------------------------------------------------------

FORM_POSTS = ["/auth/login", "/auth/logout", "/oidc/authorize", "/oidc/logout"]


@pytest.mark.parametrize("path", FORM_POSTS)
async def test_every_form_post_passes_the_csrf_and_origin_guard(client, two_people, db_session, path) -> None:
    ana, _ = two_people
    assert (await _sign_in(client, ana)).status_code == 303
    good = _csrf((await client.get("/auth/account")).text)
    form = {"email": ana, "password": PASSWORD, "decision": "allow"}
    for data, headers in (
        ({**form}, {}),  # no token
        ({**form, "csrf_token": "forged"}, {}),
        ({**form, "csrf_token": good}, {"Origin": "https://evil.example"}),
        ({**form, "csrf_token": good}, {"Origin": "null"}),
    ):
        r = await client.post(path, data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), (path, r.text)
        assert "Traceback" not in r.text
    live = [w for w in await db_session.scalars(select(WebSession)) if w.revoked_at is None]
    assert len(live) == 1  # nothing was signed in or out
    assert (await client.get("/api/v1/me")).status_code == 200


# --- input PostgreSQL cannot store: a 400, never a 500 -----------------------------------------------

NUL_REQUESTS = [
    ("GET", "/auth/login/ke%00nt", None, None),
    ("GET", "/auth/callback/ke%00nt", {"state": "s", "code": "c"}, None),
    ("GET", "/auth/login/kent", {"next": "/a\x00b"}, None),
    ("GET", "/oidc/authorize", {"client_id": "afc\x00x", "redirect_uri": "https://x.example/cb"}, None),
    ("GET", "/oidc/logout", {"client_id": "afc\x00x"}, None),
    ("POST", "/oidc/token", None, {"client_id": "a\x00", "client_secret": "s", "grant_type": "refresh_token"}),
    ("POST", "/oidc/revoke", None, {"client_id": "a\x00", "client_secret": "s", "token": "t"}),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "form"), NUL_REQUESTS, ids=[f"{m} {p}" for m, p, *_ in NUL_REQUESTS]
)
async def test_a_nul_character_is_refused_not_a_500(client, db_session, method, path, query, form) -> None:
    r = await client.request(method, path, params=query, data=form, follow_redirects=False)
    assert 400 <= r.status_code < 500 or r.status_code in (302, 303), (r.status_code, r.text[:300])
    if path in ("/oidc/token", "/oidc/revoke"):
        assert r.json()["error"] == "invalid_request"


async def test_a_nul_character_in_the_sign_in_form_is_refused(client, two_people, db_session) -> None:
    for email, password in (("ana\x00@westwood.example", PASSWORD), ("ana@westwood.example", "pass\x00word")):
        csrf = _csrf((await client.get("/auth/login")).text)
        r = await client.post(
            "/auth/login", data={"email": email, "password": password, "csrf_token": csrf}, follow_redirects=False
        )
        assert r.status_code == 400 and "NUL" in r.text
    assert (await db_session.scalar(select(LoginThrottle.key))) is None  # nothing was counted


def test_next_with_control_characters_falls_back_to_my_spaces() -> None:
    from services.identity.broker import safe_next

    assert safe_next("/a\x00b") == safe_next("/a\nb") == safe_next("/a\x7fb") == "/"  # unsafe: "My spaces"
    assert safe_next("/spaces/1?x=y") == "/spaces/1?x=y"
