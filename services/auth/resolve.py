"""Turning credentials (bearer tokens, the session cookie) into a :class:`Principal`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.auth.principal import Principal
from services.persistence.session import REQUEST_SESSION_KEY, REQUEST_SESSION_USED_KEY

BearerResolver = Callable[[AsyncSession, str], Awaitable[Principal | None]]
"""Given a bearer token, the principal it stands for, or None if this resolver does not know it."""

CookieResolver = Callable[[AsyncSession, Mapping[str, str]], Awaitable[Principal | None]]
"""Given the request cookies, the principal of a valid session, or None."""

AUTH_ERROR_KEY = "affinity_auth_error"

READ_ONLY = "read_only"
"""Route ``opt`` key: the handler only reads (no INSERT/UPDATE/DELETE, no locks, nothing that must
be atomic), so a GET to it runs its statements without BEGIN and COMMIT. Each statement still
sees a snapshot of committed data, exactly as under READ COMMITTED inside a transaction; the two
round trips saved are a fifth of an API read's cost (docs/performance.md). The only write such a
request can make is the credential's last-used time, a single statement. Opt-in per route."""
_READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Authenticator:
    """Tries each bearer resolver for ``Authorization: Bearer``; otherwise each cookie resolver."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bearer: Sequence[BearerResolver] = ()
    cookie: Sequence[CookieResolver] = ()
    cookie_names: frozenset[str] = field(default_factory=frozenset)
    read_bind: AsyncEngine | None = None
    """The engine in autocommit mode (no BEGIN/COMMIT) for reads of routes marked
    :data:`READ_ONLY`. None: every request gets a transaction."""

    def presents_credentials(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
        """Whether the request carries anything to check (a bearer header or a session cookie)."""
        return "authorization" in headers or any(name in cookies for name in self.cookie_names)

    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], session: AsyncSession | None = None
    ) -> tuple[Principal | None, str | None]:
        """Return (principal, error code). A presented but invalid credential yields an error code.

        With ``session`` the lookups join that session's transaction (an HTTP request's one
        session); without, they run in a short transaction of their own (websockets).
        """
        if session is not None:
            return await self._resolve(session, headers, cookies)
        async with self.sessionmaker() as own, own.begin():
            return await self._resolve(own, headers, cookies)

    def session_for(self, scope: Scope) -> AsyncSession:
        """A new session for an HTTP request: without a transaction for a read of a route marked
        :data:`READ_ONLY`, otherwise the ordinary one (one transaction per request)."""
        if self.read_bind is not None and scope.get("method") in _READ_METHODS:
            handler = scope.get("route_handler")
            if handler is not None and handler.opt.get(READ_ONLY):
                # Same factory (its session hooks and options), another bind.
                return self.sessionmaker(bind=self.read_bind)
        return self.sessionmaker()

    async def principal_of(self, scope: Mapping[str, Any]) -> Principal | None:
        """The principal an ASGI scope's credentials stand for (own short transaction), or None
        (the websocket gateway, which runs before the middleware, uses this)."""
        headers = _headers(scope)
        cookies = _cookies(headers)
        if not self.presents_credentials(headers, cookies):
            return None
        principal, _ = await self.authenticate(headers, cookies)
        return principal

    async def _resolve(
        self, session: AsyncSession, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[Principal | None, str | None]:
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return None, "malformed_authorization"
            for resolve in self.bearer:
                principal = await resolve(session, token)
                if principal is not None:
                    return principal, None
            return None, "invalid_token"
        if self.cookie and any(name in cookies for name in self.cookie_names):
            for resolve_cookie in self.cookie:
                principal = await resolve_cookie(session, cookies)
                if principal is not None:
                    return principal, None
        return None, None


def _headers(scope: Scope | Mapping[str, Any]) -> dict[str, str]:
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
        if scope["type"] not in {ScopeType.HTTP, ScopeType.WEBSOCKET}:
            await self.app(scope, receive, send)
            return
        authenticator: Authenticator | None = getattr(scope["app"].state, self.key, None)
        scope_any: Any = scope
        state = scope_any.setdefault("state", {})
        headers = _headers(scope)
        cookies = _cookies(headers)
        if authenticator is None or not authenticator.presents_credentials(headers, cookies):
            self._bind(scope_any, state, None, None)
            await self.app(scope, receive, send)
            return
        if scope["type"] == ScopeType.WEBSOCKET:
            # A socket lives for hours: authenticate in a short transaction of its own.
            principal, error = await authenticator.authenticate(headers, cookies)
            self._bind(scope_any, state, principal, error)
            await self.app(scope, receive, send)
            return
        # HTTP: authenticate on the session the request will use, so a request costs one
        # connection and one transaction (the db_session dependency picks this session up).
        async with authenticator.session_for(scope) as session:
            principal, error = await authenticator.authenticate(headers, cookies, session)
            self._bind(scope_any, state, principal, error)
            state[REQUEST_SESSION_KEY] = session
            try:
                await self.app(scope, receive, send)
            finally:
                state.pop(REQUEST_SESSION_KEY, None)
                if not state.pop(REQUEST_SESSION_USED_KEY, False) and session.in_transaction():
                    # The handler never used the database: keep the credential's bookkeeping
                    # (token last-used time), which is the only thing written so far.
                    await session.commit()

    @staticmethod
    def _bind(scope: Any, state: dict[str, Any], principal: Principal | None, error: str | None) -> None:
        scope["user"] = principal
        scope["auth"] = principal
        state[AUTH_ERROR_KEY] = error
