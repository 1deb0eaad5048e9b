"""Web sessions (the ``affinity_session`` cookie) and CSRF tokens for form posts.

The cookie holds 256 random bits; the table stores only its SHA-256. Cookies are HttpOnly,
SameSite=Lax, Secure when the public URL is https. CSRF tokens are an HMAC of the session
cookie (or, before sign-in, of the ``affinity_csrf`` cookie) under the service secret; the one
guard that checks them (and the Origin) is :mod:`services.auth.csrf`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

from litestar.datastructures import Cookie
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.cookies import CSRF_COOKIE, SESSION_COOKIE
from services.auth.csrf import csrf_token, new_csrf_binding
from services.auth.principal import FULL_ACCESS, Principal
from services.identity import repository
from services.identity.crypto import digest, new_secret
from services.persistence.models import Account
from services.persistence.models.identity import WebSession
from services.settings import Settings

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "csrf_token", "new_csrf_binding"]
_SEEN_GRANULARITY = dt.timedelta(minutes=1)


class NewSession:
    """A session just created: the row and the cookie value (the only time it exists in clear)."""

    def __init__(self, row: WebSession, token: str) -> None:
        self.row = row
        self.token = token


async def create_session(
    session: AsyncSession, settings: Settings, account_id: uuid.UUID, method: str, *, now: dt.datetime | None = None
) -> NewSession:
    """Start a web session for ``account_id``."""
    now = now or dt.datetime.now(dt.UTC)
    token = new_secret(nbytes=32)
    row = WebSession(
        id=uuid.uuid4(),
        token_hash=digest(token),
        account_id=account_id,
        method=method[:40],
        last_seen_at=now,
        authenticated_at=now,
        expires_at=now + dt.timedelta(hours=settings.session_lifetime_hours),
    )
    await repository.add_and_flush(session, row)
    return NewSession(row, token)


async def reauthenticate(session: AsyncSession, web: WebSession, *, now: dt.datetime | None = None) -> str:
    """The member proved who they are again in this session: move ``authenticated_at`` forward and
    give the session a new cookie value (the old one stops working). Tokens issued under it stay."""
    now = now or dt.datetime.now(dt.UTC)
    token = new_secret(nbytes=32)
    await repository.renew_session(session, web.id, digest(token), now)
    return token


def session_cookie(settings: Settings, token: str) -> Cookie:
    """The Set-Cookie for a new session."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=settings.session_lifetime_hours * 3600,
    )


def clear_cookie(settings: Settings, name: str, path: str = "/") -> Cookie:
    """A Set-Cookie that removes ``name``."""
    return Cookie(
        key=name, value="", path=path, httponly=True, secure=settings.secure_cookies, samesite="lax", max_age=0
    )


async def find_session(
    session: AsyncSession, token: str | None, *, now: dt.datetime | None = None
) -> tuple[WebSession, Account] | None:
    """The live session for a cookie value and its (active) account, or None."""
    if not token or len(token) > 200:
        return None
    now = now or dt.datetime.now(dt.UTC)
    row = await repository.session_with_account(session, digest(token))
    if row is None:
        return None
    web, account = row
    if web.revoked_at is not None or web.expires_at <= now or not account.is_active:
        return None
    if now - web.last_seen_at > _SEEN_GRANULARITY:
        await repository.touch_session(session, web.id, now)
    return web, account


async def resolve_session_cookie(session: AsyncSession, cookies: Mapping[str, str]) -> Principal | None:
    """Cookie resolver for the Authenticator: the web session cookie becomes a principal."""
    found = await find_session(session, cookies.get(SESSION_COOKIE))
    if found is None:
        return None
    web, account = found
    return Principal(
        account_id=account.id, is_operator=account.is_operator, scopes=FULL_ACCESS, via="session", session_id=web.id
    )


async def end_session(session: AsyncSession, web_session_id: uuid.UUID, *, now: dt.datetime | None = None) -> None:
    """Revoke a web session and every token our provider issued under it."""
    now = now or dt.datetime.now(dt.UTC)
    await repository.revoke_session(session, web_session_id, now)


async def begin_after_sign_in(
    session: AsyncSession,
    settings: Settings,
    current: tuple[WebSession, Account] | None,
    account_id: uuid.UUID,
    method: str,
) -> str:
    """The session cookie value after a successful sign-in as ``account_id``.

    Signing in again as the same person (``prompt=login``, ``max_age``) renews the session;
    signing in as someone else over a live session ends that session first (with the tokens
    issued under it), so two people never share a browser's sign-in.
    """
    if current is not None and current[1].id == account_id:
        return await reauthenticate(session, current[0])
    if current is not None:
        await end_session(session, current[0].id)
    new = await create_session(session, settings, account_id, method)
    return new.token
