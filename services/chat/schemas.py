"""Wire types of the messages endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from federation.wire import Count, Text
from realtime.protocol import MAX_BODY_CHARS, MAX_KEY_CHARS

Body = Annotated[Text, msgspec.Meta(min_length=1, max_length=MAX_BODY_CHARS)]
Key = Annotated[Text, msgspec.Meta(min_length=1, max_length=MAX_KEY_CHARS)]


class MessageCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/messages. Re-sending the same ``key`` stores nothing new."""

    body: Body
    key: Key


class MessageEdit(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PATCH /spaces/{id}/messages/{seq}: the new text of your own message."""

    body: Body


class MessageOut(msgspec.Struct):
    """A message as history shows it (a deleted message keeps its seq, with an empty body)."""

    space: uuid.UUID
    seq: int
    id: uuid.UUID
    author: uuid.UUID | None
    body: str
    sent_at: dt.datetime
    key: str
    deleted: bool = False
    version: int = 0
    """The room's version at the message's last change (insert, edit or deletion)."""
    edited_at: dt.datetime | None = None
    author_name: str | None = None
    """The author's display name (None when the account no longer exists)."""


class MessagePage(msgspec.Struct):
    """Body of GET /spaces/{id}/messages: ``items`` ascending by seq; ``head`` is the room's last seq."""

    items: list[MessageOut]
    head: int
    muted: bool = False
    """You are muted in this space (or a space above it): you read but cannot post."""


class MuteOut(msgspec.Struct):
    """A mute set in this space (it also holds in every sub-space)."""

    account_id: uuid.UUID
    display_name: str
    muted_by: uuid.UUID | None
    since: dt.datetime


class MuteList(msgspec.Struct):
    """Body of GET /spaces/{id}/mutes."""

    items: list[MuteOut]


class ReadIn(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /spaces/{id}/read: you have read the chat up to ``seq``."""

    seq: Count


class ReadMarker(msgspec.Struct):
    """Your read marker in a space and the messages by others after it (capped at 100)."""

    space: uuid.UUID
    seq: int
    unread: int
