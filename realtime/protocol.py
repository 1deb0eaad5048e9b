"""Websocket frames of ``/ws`` (docs/realtime.md): msgspec tagged unions keyed by ``type``.

Client and server frames are separate unions so each side decodes only what it may receive.
Frames are JSON text; unknown fields are refused so a typo is reported, not ignored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from federation.wire import INT64_MAX, Text, humanize, nesting_depth_exceeds

MAX_BODY_CHARS = 4000
MAX_KEY_CHARS = 64
MAX_HISTORY_PAGE = 100

Seq = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
Key = Annotated[Text, msgspec.Meta(min_length=1, max_length=MAX_KEY_CHARS)]


class _Client(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    """Base of frames a client sends."""


class Auth(_Client, tag="auth"):
    token: Annotated[Text, msgspec.Meta(min_length=1, max_length=4096)]


class Subscribe(_Client, tag="subscribe"):
    space: uuid.UUID
    after: Seq | None = None
    since_version: Seq | None = None
    """With ``after``: also replay deletions of messages ``seq <= after`` made after this version."""


class Unsubscribe(_Client, tag="unsubscribe"):
    space: uuid.UUID


class Send(_Client, tag="send"):
    space: uuid.UUID
    key: Key
    # Length is checked by the gateway so the error names the limit (and the key as ref).
    body: Text


class Typing(_Client, tag="typing"):
    space: uuid.UUID


class History(_Client, tag="history"):
    """Ask for the page of messages just before ``before`` (scrolling up); needs a subscription."""

    space: uuid.UUID
    before: Positive
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_HISTORY_PAGE)] = 50


class Edit(_Client, tag="edit"):
    """Replace the body of your own message ``seq``."""

    space: uuid.UUID
    seq: Positive
    # Length is checked by the gateway so the error names the limit.
    body: Text


class Delete(_Client, tag="delete"):
    """Delete message ``seq`` (your own, or any as a facilitator)."""

    space: uuid.UUID
    seq: Positive


class Read(_Client, tag="read"):
    """You have read the room up to ``seq`` (moves your read marker forward; unread counts)."""

    space: uuid.UUID
    seq: Seq


class Ping(_Client, tag="ping"):
    pass


ClientFrame = Auth | Subscribe | Unsubscribe | Send | Typing | Ping | History | Edit | Delete | Read


class _Server(msgspec.Struct, tag_field="type", omit_defaults=True):
    """Base of frames the server sends."""


class Subscribed(_Server, tag="subscribed"):
    space: uuid.UUID
    head: int
    version: int
    """The room's change counter (inserts and deletions) in the same snapshot as ``head``."""


class MessageFrame(_Server, tag="message"):
    space: uuid.UUID
    seq: int
    id: uuid.UUID
    author: uuid.UUID | None
    body: str
    sent_at: dt.datetime
    key: str
    deleted: bool = False
    """The message was deleted before this frame was sent (tombstone, empty body)."""
    version: int | None = None
    """The room's version at the message's last change (its insert, an edit, or its deletion)."""
    edited_at: dt.datetime | None = None
    """Set when the body was edited (the body is the edited one)."""
    author_name: str | None = None
    """The author's display name when the message was read from the database."""


class Ack(_Server, tag="ack"):
    key: str
    seq: int
    space: uuid.UUID | None = None


class Deleted(_Server, tag="deleted"):
    space: uuid.UUID
    seq: int
    version: int | None = None
    """The room's version after this deletion."""


class Edited(_Server, tag="edited"):
    """Message ``seq`` now has ``body`` (its author edited it)."""

    space: uuid.UUID
    seq: int
    body: str
    edited_at: dt.datetime
    version: int
    """The room's version after this edit."""


class HistoryPage(_Server, tag="history"):
    """Answer to a ``history`` frame: messages just before ``before``, ascending."""

    space: uuid.UUID
    before: int
    messages: list[MessageFrame]
    more: bool
    """Older messages may exist (the page was full)."""


class Purged(_Server, tag="purged"):
    """The retention purge removed every message of the room sent before ``before``."""

    space: uuid.UUID
    before: dt.datetime


class TypingFrame(_Server, tag="typing"):
    space: uuid.UUID
    account: uuid.UUID


class Presence(_Server, tag="presence"):
    space: uuid.UUID
    online: list[uuid.UUID]


class Error(_Server, tag="error"):
    code: str
    message: str
    ref: str | None = None


class Pong(_Server, tag="pong"):
    pass


ServerFrame = (
    Subscribed | MessageFrame | Ack | Deleted | Edited | HistoryPage | Purged | TypingFrame | Presence | Error | Pong
)

client_decoder: msgspec.json.Decoder[ClientFrame] = msgspec.json.Decoder(ClientFrame)
server_decoder: msgspec.json.Decoder[ServerFrame] = msgspec.json.Decoder(ServerFrame)
_encoder = msgspec.json.Encoder()


def encode(frame: _Server) -> str:
    """A server frame as JSON text (encode once, send the same string to every socket)."""
    return _encoder.encode(frame).decode()


class FrameProblem(Exception):
    """A client frame that cannot be used: ``code`` for the error frame, a sentence for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_KNOWN = ("auth", "subscribe", "unsubscribe", "send", "typing", "ping", "history", "edit", "delete", "read")


def decode_client(data: str | bytes) -> ClientFrame:
    """Decode a client frame or raise :class:`FrameProblem` saying what is wrong with it."""
    if nesting_depth_exceeds(data):
        # Checked before decoding: skipping a value nested thousands deep overflows the stack.
        raise FrameProblem("invalid_frame", "The frame nests arrays or objects too deeply; no frame needs that.")
    try:
        return client_decoder.decode(data)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if "Invalid value" in text and "`$.type`" in text:
            raise FrameProblem("unknown_type", f"Unknown frame type; use one of: {', '.join(_KNOWN)}.") from None
        if "missing required field `type`" in text:
            raise FrameProblem("invalid_frame", "Every frame needs a 'type' field.") from None
        raise FrameProblem("invalid_frame", f"The frame has invalid fields: {humanize(text)}") from None
    except msgspec.DecodeError:
        raise FrameProblem("malformed_frame", "The frame is not valid JSON.") from None
