"""Wire types of the messages endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from federation.wire import Text
from realtime.protocol import MAX_BODY_CHARS, MAX_KEY_CHARS

Body = Annotated[Text, msgspec.Meta(min_length=1, max_length=MAX_BODY_CHARS)]
Key = Annotated[Text, msgspec.Meta(min_length=1, max_length=MAX_KEY_CHARS)]


class MessageCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/messages. Re-sending the same ``key`` stores nothing new."""

    body: Body
    key: Key


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


class MessagePage(msgspec.Struct):
    """Body of GET /spaces/{id}/messages: ``items`` ascending by seq; ``head`` is the room's last seq."""

    items: list[MessageOut]
    head: int
