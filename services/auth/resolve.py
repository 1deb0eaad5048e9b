"""Turning credentials (bearer tokens, the session cookie) into a :class:`Principal`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth.principal import Principal

BearerResolver = Callable[[AsyncSession, str], Awaitable[Principal | None]]
"""Given a bearer token, the principal it stands for, or None if this resolver does not know it."""

CookieResolver = Callable[[AsyncSession, Mapping[str, str]], Awaitable[Principal | None]]
"""Given the request cookies, the principal of a valid session, or None."""

AUTH_ERROR_KEY = "affinity_auth_error"


@dataclass(frozen=True)
class Authenticator:
    """Tries each bearer resolver for ``Authorization: Bearer``; otherwise each cookie resolver."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bearer: Sequence[BearerResolver] = ()
    cookie: Sequence[CookieResolver] = ()
    cookie_names: frozenset[str] = field(default_factory=frozenset)

    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[Principal | None, str | None]:
        """Return (principal, error code). A presented but invalid credential yields an error code."""
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return None, "malformed_authorization"
            async with self.sessionmaker() as session, session.begin():
                for resolve in self.bearer:
                    principal = await resolve(session, token)
                    if principal is not None:
                        return principal, None
            return None, "invalid_token"
        if self.cookie and any(name in cookies for name in self.cookie_names):
            async with self.sessionmaker() as session, session.begin():
                for resolve_cookie in self.cookie:
                    principal = await resolve_cookie(session, cookies)
                    if principal is not None:
                        return principal, None
        return None, None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(headers: Mapping[str, str]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            jar.setdefault(name, value)
    return jar


class AuthenticationMiddleware:
    """Resolves the caller once per HTTP request or websocket and stores it in ``scope["user"]``.

    It never refuses anything itself: the API router's guard (deny by default) and the
    websocket gateway decide what an anonymous or badly authenticated caller gets.
    """

    def __init__(self, app: ASGIApp, authenticator_key: str = "authenticator") -> None:
        self.app = app
        self.key = authenticator_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"}:
            authenticator: Authenticator | None = getattr(scope["app"].state, self.key, None)
            principal: Principal | None = None
            error: str | None = None
            if authenticator is not None:
                headers = _headers(scope)
                principal, error = await authenticator.authenticate(headers, _cookies(headers))
            scope_any: Any = scope
            scope_any["user"] = principal
            scope_any["auth"] = principal
            scope_any.setdefault("state", {})[AUTH_ERROR_KEY] = error
        await self.app(scope, receive, send)
