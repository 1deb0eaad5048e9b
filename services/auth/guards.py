"""Request guards and dependencies for the signed-in caller (deny by default)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.networks import Role
from federation.permissions import Actor
from services.auth.principal import Principal
from services.auth.resolve import AUTH_ERROR_KEY
from services.errors import Forbidden, Unauthorized
from services.persistence.models import NetworkMember
from services.settings import Settings

_MESSAGES = {
    "invalid_token": "The bearer token is unknown, expired or revoked. Create a new one with `affinity tokens create`.",
    "malformed_authorization": "Send the header as 'Authorization: Bearer <token>'.",
}
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def require_principal(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Refuse anonymous callers unless the handler is marked ``opt={"public": True}``.

    Read-only credentials (scope ``read`` without ``write``) are refused on writes.

    A coroutine although it never awaits: Litestar runs a plain-function guard in a worker
    thread (``sync_to_thread``), a thread hop on every API request (docs/performance.md).
    """
    if handler.opt.get("public"):
        return
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        error = connection.scope.get("state", {}).get(AUTH_ERROR_KEY)
        raise Unauthorized(
            _MESSAGES.get(
                error or "", "Sign in, or send 'Authorization: Bearer <token>' (see `affinity tokens create`)."
            ),
            code=error or "unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="affinity"' + (f', error="{error}"' if error else "")},
        )
    method = connection.scope.get("method", "GET")
    if method not in _READ_METHODS and principal.via == "session":
        _check_same_origin(connection)
    if method in _READ_METHODS and "read" not in principal.scopes:
        raise Forbidden(
            "This token may not read the API: it was granted without the 'read' scope. "
            "Ask for scope 'read' (and 'write' to change things) when the tool signs in.",
            code="insufficient_scope",
        )
    if method not in _READ_METHODS and not principal.may_write():
        raise Forbidden(
            "This token is read-only (no 'write' scope); use a token with scope 'write'.",
            code="insufficient_scope",
        )


def allowed_origins(settings: Settings) -> frozenset[str]:
    """Origins trusted to act with the session cookie: the public URL's, plus configured ones."""
    parts = urlsplit(settings.base_url)
    return frozenset({f"{parts.scheme}://{parts.netloc}", *settings.allowed_origins})


def _check_same_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """CSRF defence for cookie-authenticated writes: the browser's Origin must be ours.

    SameSite=Lax already keeps the cookie off cross-site POSTs in current browsers; checking
    Origin (or Referer when a browser omits Origin) closes the gap for older ones.
    """
    settings: Settings = connection.app.state.settings
    origin = connection.headers.get("origin")
    if origin is None:
        referer = connection.headers.get("referer")
        if referer:
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None or origin.rstrip("/") not in allowed_origins(settings):
        raise Forbidden(
            "This request came from another site (or did not say where it came from), so it was not accepted "
            "with your sign-in cookie. Use the web app, or send a bearer token.",
            code="csrf_failed",
        )


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller; the router guard has already refused anonymous requests."""
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise Unauthorized("Sign in, or send 'Authorization: Bearer <token>'.")
    return principal


async def load_actor(session: AsyncSession, principal: Principal) -> Actor:
    """The domain's view of the caller: account, operator flag, network roles (one query)."""
    rows = await session.execute(
        select(NetworkMember.network_id, NetworkMember.role).where(NetworkMember.account_id == principal.account_id)
    )
    return Actor(
        account_id=principal.account_id,
        is_operator=principal.is_operator,
        network_roles={network_id: Role(role) for network_id, role in rows},
    )


async def provide_actor(principal: Principal, db_session: AsyncSession) -> Actor:
    """Dependency: the caller as an :class:`Actor`."""
    return await load_actor(db_session, principal)
