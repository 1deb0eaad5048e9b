"""Wire types of the resource library endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from federation.resources import MAX_NOTE, MAX_TAG, MAX_TAGS, MAX_TITLE, MAX_URL

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL, description="An http:// or https:// address")]
Note = Annotated[str, msgspec.Meta(max_length=MAX_NOTE)]
Tags = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=MAX_TAG)]],
    msgspec.Meta(max_length=MAX_TAGS, description="Up to 10 short tags, e.g. book-study, year-1"),
]
Sort = Literal["newest", "oldest", "title"]


class LinkCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST .../resources: share a link."""

    title: Title
    url: Url
    note: Note = ""
    tags: Tags = msgspec.field(default_factory=list)
    public: bool = False
    """Network libraries only: readable by anyone, signed in or not."""


class ResourcePatch(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PATCH .../resources/{id}: change what is given (``url`` for links only)."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    url: Url | msgspec.UnsetType = msgspec.UNSET
    note: Note | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    public: bool | msgspec.UnsetType = msgspec.UNSET


class FileInfo(msgspec.Struct):
    """A file resource's stored file."""

    name: str
    content_type: str
    size: int
    download_url: str


class ResourceOut(msgspec.Struct):
    """One resource as the library shows it."""

    id: uuid.UUID
    kind: Literal["link", "file"]
    title: str
    note: str
    tags: list[str]
    added_by: uuid.UUID | None
    added_by_name: str | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    pinned: bool
    pinned_at: dt.datetime | None
    space: uuid.UUID | None = None
    network: str | None = None
    url: str | None = None
    file: FileInfo | None = None
    public: bool = False
    can_change: bool = False
    """Whether the caller may edit or delete it (the UI shows the buttons only then)."""


class ResourcePage(msgspec.Struct):
    """A page of a library: pinned first, then by ``sort``."""

    items: list[ResourceOut]
    total: int
    page: int
    limit: int
    can_add: bool
    can_pin: bool
    max_upload_bytes: int
