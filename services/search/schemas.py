"""Wire types of GET /search."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec


class SearchHit(msgspec.Struct):
    """One match. ``snippet_html`` is the matching text, HTML-escaped, with the matched words in
    ``<mark>`` (safe to insert as HTML); ``snippet`` is the same without markup."""

    kind: Literal["message", "resource"]
    rank: float
    snippet: str
    snippet_html: str
    at: dt.datetime
    space: uuid.UUID | None = None
    network: str | None = None
    seq: int | None = None
    resource: uuid.UUID | None = None
    title: str | None = None
    author: uuid.UUID | None = None
    author_name: str | None = None
    url: str | None = None
    """For a resource: its link, or its file's download path."""


class SearchPage(msgspec.Struct):
    """A page of hits, best first."""

    query: str
    items: list[SearchHit]
    page: int
    limit: int
    has_more: bool
