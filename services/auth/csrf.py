"""The one CSRF and Origin guard for HTML form posts (sign-in, sign-out, consent, RP-initiated logout).

A form's ``csrf_token`` is an HMAC, under the service secret, of a cookie only this browser
holds: the web session cookie, or before sign-in the ``affinity_csrf`` cookie. A post is
accepted when its token matches one of them and its Origin, when the browser sends one, is a
trusted origin (the public URL's, plus ``AFFINITY_ALLOWED_ORIGINS``). The API's cookie writes
are checked by :func:`services.auth.guards.require_principal` instead (no form token there).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from services.auth.cookies import CSRF_COOKIE, SESSION_COOKIE
from services.auth.guards import allowed_origins
from services.settings import Settings

REFUSAL_OPT = "csrf_refusal"
"""Handler ``opt`` key: (title, message) of the page shown when the check fails."""
_DEFAULT_REFUSAL = ("Form expired", "This page expired or did not come from this site. Reload it and try again.")


class FormRefused(Exception):
    """A form post failed the CSRF/Origin check; the identity area renders it as a plain 403 page."""

    def __init__(self, title: str, message: str, *, path: str) -> None:
        super().__init__(f"CSRF check failed on {path}")
        self.title = title
        self.message = message
        self.path = path


def _key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"csrf").derive(secret_key.encode())


def csrf_token(settings: Settings, binding: str) -> str:
    """The CSRF token for forms shown to the holder of ``binding`` (a session or pre-session cookie)."""
    tag = hmac.new(_key(settings.secret_key), binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(tag).rstrip(b"=").decode()


def csrf_ok(settings: Settings, binding: str | None, presented: str | None) -> bool:
    """Whether a posted CSRF token belongs to this browser."""
    if not binding or not presented:
        return False
    return hmac.compare_digest(csrf_token(settings, binding).encode(), presented.encode())


def origin_ok(settings: Settings, headers: Mapping[str, str]) -> bool:
    """A form post's Origin, when the browser sends one, must be trusted ("null" never is)."""
    origin = headers.get("origin")
    if origin is None:
        return True  # older browsers omit it on same-origin posts; the token still has to match
    return origin != "null" and origin.rstrip("/") in allowed_origins(settings)


def new_csrf_binding() -> str:
    """A value for the pre-session ``affinity_csrf`` cookie."""
    return secrets.token_urlsafe(24)


def form_post_ok(
    settings: Settings, headers: Mapping[str, str], cookies: Mapping[str, str], presented: str | None
) -> bool:
    """The whole check: trusted Origin, and a token bound to the session or the pre-session cookie."""
    if not origin_ok(settings, headers):
        return False
    return any(csrf_ok(settings, cookies.get(name), presented) for name in (SESSION_COOKIE, CSRF_COOKIE))


async def form_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Litestar guard for form-posting handlers: raise :class:`FormRefused` unless the post is ours."""
    if connection.scope.get("method") != "POST" or not isinstance(connection, Request):
        return
    settings: Settings = connection.app.state.settings
    form = await connection.form()
    presented = form.get("csrf_token")
    if form_post_ok(
        settings, connection.headers, connection.cookies, presented if isinstance(presented, str) else None
    ):
        return
    title, message = handler.opt.get(REFUSAL_OPT, _DEFAULT_REFUSAL)
    raise FormRefused(title, message, path=connection.url.path)
