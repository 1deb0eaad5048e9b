"""Web sessions (the ``affinity_session`` cookie) and CSRF tokens for form posts.

The cookie holds 256 random bits; the table stores only its SHA-256. Cookies are HttpOnly,
SameSite=Lax, Secure when the public URL is https. CSRF tokens are an HMAC of the session
cookie (or, before sign-in, of the ``affinity_csrf`` cookie) under the service secret, and
every form post also has its Origin checked when the browser sends one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

from litestar.datastructures import Cookie
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.principal import FULL_ACCESS, Principal
from services.identity.crypto import digest, mac, new_secret, same
from services.persistence.models import Account
from services.persistence.models.identity import OidcToken, WebSession
from services.settings import Settings

SESSION_COOKIE = "affinity_session"
CSRF_COOKIE = "affinity_csrf"
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
    session.add(row)
    await session.flush()
    return NewSession(row, token)


async def reauthenticate(session: AsyncSession, web: WebSession, *, now: dt.datetime | None = None) -> str:
    """The member proved who they are again in this session: move ``authenticated_at`` forward and
    give the session a new cookie value (the old one stops working). Tokens issued under it stay."""
    now = now or dt.datetime.now(dt.UTC)
    token = new_secret(nbytes=32)
    await session.execute(
        update(WebSession)
        .where(WebSession.id == web.id)
        .values(token_hash=digest(token), authenticated_at=now, last_seen_at=now)
    )
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
    row = (
        await session.execute(
            select(WebSession, Account)
            .join(Account, Account.id == WebSession.account_id)
            .where(WebSession.token_hash == digest(token))
        )
    ).one_or_none()
    if row is None:
        return None
    web, account = row
    if web.revoked_at is not None or web.expires_at <= now or not account.is_active:
        return None
    if now - web.last_seen_at > _SEEN_GRANULARITY:
        await session.execute(update(WebSession).where(WebSession.id == web.id).values(last_seen_at=now))
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
    await session.execute(
        update(WebSession)
        .where(WebSession.id == web_session_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(OidcToken)
        .where(OidcToken.session_id == web_session_id, OidcToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def csrf_token(settings: Settings, binding: str) -> str:
    """The CSRF token for forms shown to the holder of ``binding`` (a session or pre-session cookie)."""
    return mac(settings.secret_key, "csrf", binding)


def csrf_ok(settings: Settings, binding: str | None, presented: str | None) -> bool:
    """Whether a posted CSRF token belongs to this browser."""
    if not binding or not presented:
        return False
    return same(csrf_token(settings, binding), presented)


def origin_ok(settings: Settings, headers: Mapping[str, str]) -> bool:
    """A form post's Origin (when the browser sends one) must be this service."""
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin.rstrip("/") == settings.base_url


def new_csrf_binding() -> str:
    """A value for the pre-session ``affinity_csrf`` cookie."""
    return new_secret(nbytes=24)
