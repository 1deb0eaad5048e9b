"""Structured logging (JSON off a terminal) with the request id on every line."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from typing import Any

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


# Addresses whose path segment is the whole authority (a member's calendar feed, an invitation
# link), and query strings (unsubscribe links, OIDC codes and states): no log line keeps them.
# Route templates (``/invitations/{token}``) are left alone. Backslashes and quotes end a match so
# JSON escapes survive.
_SECRET_SEGMENT = re.compile(r"(/calendar/feeds/|/invitations/)(?!\{)[^/\s\"'\\?#<>]+")
_QUERY = re.compile(r"(?<=[\w/.-])\?[^\s\"'\\<>]+")
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """``text`` with secret path segments and query strings replaced by ``<redacted>``."""
    if "/" not in text and "?" not in text:
        return text
    return _QUERY.sub("?" + REDACTED, _SECRET_SEGMENT.sub(r"\1" + REDACTED, text))


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    """Bind a request id to the current context (returns a token for reset)."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    """Undo :func:`set_request_id`."""
    _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extra fields (redacted)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = current_request_id()
        if request_id:
            payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


class ConsoleFormatter(logging.Formatter):
    """Readable lines for a developer's terminal (redacted)."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
        )
        request_id = current_request_id()
        head = f"{dt.datetime.fromtimestamp(record.created).strftime('%H:%M:%S')} {record.levelname:<7} {record.name}"
        line = f"{head}: {record.getMessage()}" + (f" {extras}" if extras else "")
        if request_id:
            line += f" [req {request_id}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure the root logger once for the process."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our own access log replaces uvicorn's (which would log raw paths containing ids).
    for name in ("uvicorn.access",):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = False
        logging.getLogger(name).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
