"""The HTTP input guard: wire rules (federation/wire.py) applied to every request before routing.

Request schemas already refuse NUL characters and out-of-range integers field by field (their
string and integer types are :data:`federation.wire.Text` / :data:`federation.wire.Int64`). This
middleware covers what no schema types: path segments, query parameter names and values, form
fields, free-form JSON values (policy settings and constraint documents are ``dict[str, Any]``)
and nesting depth, which must be checked on the raw text because decoding a document nested
thousands deep overflows the stack. A refused request never reaches a handler or the database.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from federation.wire import MAX_DEPTH, InputProblem, check_json, check_text, nesting_depth_exceeds
from services.errors import ErrorBody, ErrorEnvelope

MAX_CHECKED_BODY = 1_048_576
"""Bodies up to the app's request limit are checked; larger ones are refused by Litestar (413)."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_encoder = msgspec.json.Encoder()


_OWN_FORM_CHECKS = ("/oidc/", "/auth/")
"""Sign-in and OAuth endpoints refuse a NUL in their forms themselves, in their protocol's words
(RFC 6749's ``invalid_request``, a sign-in page that says what was wrong) — see
tests/services/test_identity_sessions.py; a JSON 422 would break OAuth clients."""


_RAW_UPLOADS = re.compile(r"^/api/v1/(spaces|networks)/[^/]+/resources/files$")
"""File uploads: the body is the file's raw bytes, streamed by the handler (never decoded as JSON
or a form; services/resources checks the bytes). The guard leaves them unread, so an upload is
authorised (the API's guard: 401/403) before a byte of it is read, and never buffered here."""


class InputGuardMiddleware:
    """Refuse NUL characters, out-of-range integers and over-deep JSON anywhere in a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            if scope["type"] == ScopeType.WEBSOCKET and "\x00" in scope.get("path", ""):
                # No websocket route has a NUL in its path; close before any handshake work.
                await send({"type": "websocket.close", "code": 1008, "reason": "invalid path"})
                return
            await self.app(scope, receive, send)
            return
        problem = _check_target(scope)
        if problem is not None:
            await _refuse(send, *problem)
            return
        path: str = scope.get("path", "")
        if (
            scope.get("method", "GET") not in _BODY_METHODS
            or path.startswith(_OWN_FORM_CHECKS)
            or _RAW_UPLOADS.match(path)
        ):
            await self.app(scope, receive, send)
            return
        body, replay = await _buffer(receive)
        if body is not None:
            problem = _check_body(scope, body)
            if problem is not None:
                await _refuse(send, *problem)
                return
        await self.app(scope, replay, send)


def _check_target(scope: Scope) -> tuple[int, str, str, dict[str, Any]] | None:
    path: str = scope.get("path", "")
    if "\x00" in path:
        return (
            400,
            "invalid_path",
            "A path segment contains the NUL character (%00); no address here has one.",
            {"field": "path"},
        )
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                field = name.replace("\x00", "\\u0000")
                return _problem(InputProblem(field, "must not contain the NUL character (%00)", "nul_character"))
    return None


def _check_body(scope: Scope, body: bytes) -> tuple[int, str, str, dict[str, Any]] | None:
    if not body:
        return None
    content_type = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"").lower()
    if content_type.startswith(b"multipart/"):
        return None  # file uploads: each area checks its parts
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            try:
                check_text(name, value)
                check_text("form field name", name)
            except InputProblem as problem:
                return _problem(problem)
        return None
    # Anything else is decoded as JSON by the handlers; check it the same way.
    if nesting_depth_exceeds(body):
        return (
            400,
            "too_deep",
            f"The request body nests arrays or objects deeper than {MAX_DEPTH} levels; no field needs that.",
            {"limit": MAX_DEPTH},
        )
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None  # the handler reports malformed JSON in its usual words
    try:
        check_json(value)
    except InputProblem as problem:
        return _problem(problem)
    return None


def _problem(problem: InputProblem) -> tuple[int, str, str, dict[str, Any]]:
    status = 400 if problem.code == "too_deep" else 422
    return (
        status,
        "validation_error" if status == 422 else problem.code,
        f"The request has invalid fields: {problem.field}: {problem.message}",
        {"problems": [{"key": problem.field, "message": problem.message, "code": problem.code}]},
    )


async def _refuse(send: Send, status: int, code: str, message: str, details: dict[str, Any]) -> None:
    body = _encoder.encode(ErrorEnvelope(ErrorBody(code=code, message=message, details=details)))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the body (up to the limit) and return it with a ``receive`` that replays it.

    Past the limit the body is not checked (Litestar refuses it as too large) and the rest
    streams through unread.
    """
    chunks: list[bytes] = []
    size = 0
    queue: list[Any] = []
    complete = True
    while True:
        message: Any = await receive()
        if message["type"] != "http.request":
            queue.append(message)
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
        if size > MAX_CHECKED_BODY:
            complete = False
            break
    body = b"".join(chunks)
    queue.insert(0, {"type": "http.request", "body": body, "more_body": not complete})

    async def replay() -> Any:
        if queue:
            return queue.pop(0)
        return await receive()

    return (body if complete else None), replay
