"""One error hierarchy and the handlers that turn every failure into the API's error envelope.

Expected failures raise an :class:`AppError` (always 4xx); they carry a machine-readable
``code`` and a sentence a person can act on. Anything else is a bug: it is logged with the
request id and the client gets a 500 with no internals.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from federation.wire import humanize
from realtime.connection import CLOSE_TRY_AGAIN_LATER

log = logging.getLogger("affinity.errors")


class AppError(Exception):
    """An expected failure the client can act on."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class Unprocessable(AppError):
    status, code = 422, "validation_error"


class TooManyRequests(AppError):
    status, code = 429, "rate_limited"


class ErrorBody(msgspec.Struct):
    """The ``error`` member of the envelope."""

    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(msgspec.Struct):
    """What every error response carries: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorEnvelope]:
    """Build an error response in the API's envelope."""
    return Response(
        ErrorEnvelope(ErrorBody(code=code, message=message, details=details or {})),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _app_error_handler(_: Request[Any, Any, Any], exc: AppError) -> Response[ErrorEnvelope]:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def _validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorEnvelope]:
    # Litestar reports body/query/path decoding problems here. Malformed JSON is a 400; a
    # well-formed document with wrong fields or types is a 422 that lists each problem.
    problems: list[dict[str, Any]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            problem = {k: v for k, v in item.items() if k in {"message", "key", "source"}}
            if isinstance(problem.get("message"), str):
                problem["message"] = humanize(problem["message"])
            problems.append(problem)
    text = " ".join(str(p.get("message", "")) for p in problems) or str(exc.detail)
    if "malformed" in text.lower() or "json is" in text.lower() or "invalid json" in text.lower():
        return error_response(
            400,
            "malformed_json",
            "The request body is not valid JSON. Check quotes, commas and brackets.",
            {"problems": problems},
        )
    summary = "; ".join(_describe(p) for p in problems) or str(exc.detail)
    return error_response(
        422,
        "validation_error",
        f"The request has invalid fields: {summary}",
        {"problems": problems},
    )


def _describe(problem: dict[str, Any]) -> str:
    message = str(problem.get("message", "invalid value"))
    key = problem.get("key")
    return f"{key}: {message}" if key and str(key) not in message else message


def _http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorEnvelope]:
    if isinstance(exc, NotFoundException):
        return error_response(
            404, "not_found", "Nothing lives at this address. Check the URL and the API docs at /schema."
        )
    if isinstance(exc, MethodNotAllowedException):
        return error_response(
            405,
            "method_not_allowed",
            "This address does not accept that HTTP method; see /schema for what it accepts.",
            headers=dict(exc.headers or {}),
        )
    if isinstance(exc, NotAuthorizedException):
        return error_response(
            401,
            "unauthorized",
            "Sign in or send 'Authorization: Bearer <token>' to use this endpoint.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, PermissionDeniedException):
        return error_response(403, "forbidden", "Your role does not allow this action.")
    status = exc.status_code
    if status == 400 and _looks_like_decode_error(str(exc.detail)):
        return error_response(
            400,
            "malformed_json",
            f"The request body is not valid JSON ({exc.detail}). Check quotes, commas and brackets.",
        )
    if status >= 500:
        log.error("http_exception status=%s detail=%s", status, exc.detail)
        return error_response(status, "server_error", "The server could not complete the request; try again shortly.")
    code = {400: "bad_request", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited"}.get(
        status, "http_error"
    )
    return error_response(status, code, str(exc.detail), headers=dict(exc.headers or {}))


def _looks_like_decode_error(detail: str) -> bool:
    lowered = detail.lower()
    return any(word in lowered for word in ("malformed", "truncated", "json is", "invalid json", "decode"))


# SQLSTATE classes and codes that mean "the database cannot serve now", not "this request is wrong":
# connection exceptions (08), operator intervention (57: query_canceled by statement_timeout,
# admin_shutdown, cannot_connect_now), insufficient resources (53: too many connections).
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57", "53")
_DRIVER_MODULES = ("asyncpg", "sqlalchemy")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database could not be reached in time (or a pooled connection died).

    Covers a refused or missing socket (``ConnectionRefusedError``, and ``FileNotFoundError`` when
    the embedded server's unix socket is gone), connect/pool/statement timeouts and SQLSTATEs of
    the connection and operator-intervention classes, through SQLAlchemy's wrappers and exception
    chains. An ``OSError`` counts only when it was raised inside the driver, so a missing file in
    our own code stays a bug (500).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unavailable_one(current):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return False


def _unavailable_one(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError | SATimeoutError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
        return True
    if type(exc).__module__.startswith("asyncpg") and type(exc).__name__ in {
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "InterfaceError",
        "InternalClientError",
    }:
        return True
    if isinstance(exc, TimeoutError):
        return True
    if isinstance(exc, OSError):
        return _raised_in_driver(exc)
    return False


def _raised_in_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False


RETRY_AFTER_SECONDS = 5


_UNAVAILABLE_ENVELOPE = ErrorEnvelope(
    ErrorBody(
        code="database_unavailable",
        message="The service cannot reach its database right now. Try again in a few seconds.",
    )
)


def database_unavailable_response() -> Response[ErrorEnvelope]:
    """The 503 every route answers while the database is down, stopped or too slow."""
    body = _UNAVAILABLE_ENVELOPE.error
    return error_response(503, body.code, body.message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _unhandled_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorEnvelope]:
    if database_unavailable(exc):
        # Not a bug: the database is down or restarted. The pool drops dead connections on
        # this error, so a retry usually succeeds; 503 tells clients and load balancers so.
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.scope.get("path_template", "?"),
            type(exc).__name__,
        )
        return database_unavailable_response()
    log.exception("unhandled error on %s %s", request.method, request.scope.get("path", "?"), exc_info=exc)
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "server_error",
        "Something went wrong on our side. It has been logged; try again, and contact the operator if it persists.",
    )


exception_handlers: dict[type[Exception] | int, Any] = {
    AppError: _app_error_handler,
    ValidationException: _validation_handler,
    HTTPException: _http_exception_handler,
    Exception: _unhandled_handler,
}
"""Handlers to pass to the Litestar app: every failure leaves as the error envelope."""


class OutageMiddleware:
    """Turns "the database is unreachable" into 503 / close 1013 wherever it surfaces.

    Handlers' errors already reach :func:`_unhandled_handler`; this catches what is raised
    outside them (the authentication middleware checks credentials before routing) and
    websocket handshakes, which must end with a documented close code rather than a 4500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False
        received_any = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        async def tracking_receive() -> Any:
            nonlocal received_any
            received_any = True
            return await receive()

        kind = str(scope["type"])
        out: Any = send
        try:
            await self.app(scope, tracking_receive, tracking_send)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("database unavailable before %s handling: %s", kind, type(exc).__name__)
            if kind == "http":
                if started:
                    raise
                body = msgspec.json.encode(_UNAVAILABLE_ENVELOPE)
                await out(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        ],
                    }
                )
                await out({"type": "http.response.body", "body": body, "more_body": False})
                return
            if not started:
                if not received_any:
                    await receive()  # the websocket.connect event
                # Accept, then close: a refused handshake would only show the client an HTTP 403.
                await out({"type": "websocket.accept"})
            await out(
                {
                    "type": "websocket.close",
                    "code": CLOSE_TRY_AGAIN_LATER,
                    "reason": "database unavailable; reconnect in a few seconds",
                }
            )
